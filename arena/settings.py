"""One settings module, driven by environment variables.

Defaults give a zero-setup arena: SQLite and a filesystem Celery broker under ``ARENA_DATA_DIR``.
``DATABASE_URL`` and ``REDIS_URL`` switch the same code to PostgreSQL and Redis.
"""

import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from arena.ratings.verdicts import STRONG_VERDICT_WEIGHT

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: str) -> list[str]:
    """A comma-separated list, blanks dropped: ``"A, B,"`` → ``["A", "B"]``."""
    return [part.strip() for part in env_str(name, default).split(",") if part.strip()]


DATA_DIR = Path(env_str("ARENA_DATA_DIR", str(BASE_DIR / "var")))
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")


def generated_secret_key(path: Path) -> str:
    """The key in ``path``, created on first use readable by its owner only (it signs sessions and
    CSRF tokens). Written to a private temporary file and linked into place, so that processes
    starting together (web workers, a Celery worker) all read the one complete key."""
    if not path.exists():
        import tempfile
        from secrets import token_urlsafe

        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # mode 0600
        try:
            with os.fdopen(handle, "w") as out:
                out.write(token_urlsafe(50))
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            os.unlink(temporary)
    return path.read_text().strip()


if not SECRET_KEY:
    # A zero-setup demo still needs a stable key; keep it next to the SQLite file, never in the repo.
    SECRET_KEY = generated_secret_key(DATA_DIR / "secret_key")

ALLOWED_HOSTS = [h for h in env_str("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env_str("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# --- Production: HTTPS ----------------------------------------------------------------------------
# ARENA_HTTPS=true (the arena is reached over TLS only) turns on what `check --deploy` asks for;
# each part can still be set on its own. Behind a TLS-terminating proxy, also set
# ARENA_PROXY_SSL_HEADER=true so that Django trusts the proxy's X-Forwarded-Proto (only when the
# proxy always sets it: a client could otherwise claim https).
HTTPS = env_bool("ARENA_HTTPS", False)
SECURE_SSL_REDIRECT = env_bool("ARENA_SSL_REDIRECT", HTTPS)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("ARENA_SECURE_COOKIES", HTTPS)
SECURE_HSTS_SECONDS = env_int("ARENA_HSTS_SECONDS", 365 * 24 * 3600 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("ARENA_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("ARENA_HSTS_PRELOAD", HTTPS)
if env_bool("ARENA_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",  # runserver leaves static files to whitenoise, as gunicorn does
    "django.contrib.staticfiles",
    "ninja",  # serves the API docs page from local static files instead of a CDN
    "django_htmx",
    "template_partials",
    "axes",  # login throttling (below)
    "arena",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

# --- Content-Security-Policy (django-csp) ---------------------------------------------------------
# Scripts and styles only from our own static files: the pages have no inline script, style or
# event handler, so an injected one (a stored-XSS payload that got past the sanitiser) does not run.
# Plots are inline SVG markup, and Swagger UI draws some icons from data: URIs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Login throttling (django-axes) ---------------------------------------------------------------
# After ARENA_LOGIN_FAILURE_LIMIT failed logins from one address (admin or /accounts/login/), that
# address cannot log in for ARENA_LOGIN_LOCKOUT_MINUTES, even with the right password. The address
# is REMOTE_ADDR: X-Forwarded-For is trusted only when ARENA_PROXY_COUNT says how many reverse
# proxies in front of the arena append to it; otherwise a client could claim any address per try.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("ARENA_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("ARENA_LOGIN_LOCKOUT_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no banner on every manage.py command
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "arena.throttling.client_ip"
ARENA_PROXY_COUNT = env_int("ARENA_PROXY_COUNT", 0)

ROOT_URLCONF = "arena.urls"
WSGI_APPLICATION = "arena.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'arena.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write concurrently: WAL plus IMMEDIATE transactions avoid
    # "database is locked" on SQLite's default rollback journal.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test_arena.sqlite3")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request until collectstatic runs
STATICFILES_DIRS = [BASE_DIR / "static"]
# Whitenoise also serves straight from static/ and the apps' static folders, so that pages have their
# CSS and htmx (and the API docs their Swagger UI) before any collectstatic, as under runserver.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/vote/"
LOGOUT_REDIRECT_URL = "/"

REDIS_URL = os.environ.get("REDIS_URL", "")
BROKER_DIR = DATA_DIR / "broker"

CACHES = {
    "default": (
        {"BACKEND": "arena.redis_cache.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "arena_cache"}
    )
}

# --- Celery ---------------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    # Longer than the longest judge batch, so Redis never redelivers a task that is still running.
    {"visibility_timeout": env_int("ARENA_VISIBILITY_TIMEOUT", 3 * 3600), "socket_connect_timeout": 3}
    if REDIS_URL
    else {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
    }
)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"arena.tasks.judge_matches": {"queue": "judge"}}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = False
# A broker that is down must not hang a web request: fail fast, and the sweeper publishes later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BEAT_SCHEDULE = {
    "sweep-matches": {"task": "arena.tasks.sweep_matches", "schedule": float(env_int("ARENA_SWEEP_SECONDS", 10))},
    "recompute-leaderboards": {
        "task": "arena.tasks.recompute_leaderboards",
        "schedule": float(env_int("ARENA_LEADERBOARD_DEBOUNCE_SECONDS", 10)),
    },
}

# --- The arena's own knobs -------------------------------------------------------------------------
ARENA_MAX_UPLOAD_BYTES = env_int("ARENA_MAX_UPLOAD_BYTES", 512 * 1024 * 1024)
ARENA_MAX_FIELD_CHARS = env_int("ARENA_MAX_FIELD_CHARS", 200_000)
ARENA_UPLOAD_BATCH_ROWS = env_int("ARENA_UPLOAD_BATCH_ROWS", 5000)
ARENA_MAX_REPORTED_ERRORS = 100
ARENA_JUDGE_BATCH = env_int("ARENA_JUDGE_BATCH", 8)
# A claimed match is leased for this long; the judging worker renews the lease every third of it, so
# a worker that dies frees its matches within one lease (the sweeper then publishes them again).
ARENA_MATCH_LEASE_SECONDS = env_int("ARENA_MATCH_LEASE_SECONDS", 30)
# A pending match never published this long after it was made (the broker was down) is published
# by the sweeper; so is one published this long ago while the judge queue is empty (a lost message).
ARENA_ENQUEUE_GRACE_SECONDS = env_int("ARENA_ENQUEUE_GRACE_SECONDS", 30)
# How much a strong verdict (A>>B) counts; Arena-Hard's choice is the default (see arena.ratings).
ARENA_STRONG_VERDICT_WEIGHT = float(env_int("ARENA_STRONG_VERDICT_WEIGHT", int(STRONG_VERDICT_WEIGHT)))
# Leaderboards are recomputed at most this often after new results (debounce, by the beat task).
ARENA_LEADERBOARD_DEBOUNCE_SECONDS = env_int("ARENA_LEADERBOARD_DEBOUNCE_SECONDS", 10)
ARENA_BOOTSTRAP_ROUNDS = env_int("ARENA_BOOTSTRAP_ROUNDS", 1000)
# Leaderboard intervals: "auto" (the sandwich from a million battles on, else the bootstrap; see
# arena.ratings.choose_interval) or "bootstrap" at any size (seconds of CPU per recompute at scale).
ARENA_LEADERBOARD_INTERVALS = env_str("ARENA_LEADERBOARD_INTERVALS", "auto")
if ARENA_LEADERBOARD_INTERVALS not in ("auto", "bootstrap"):
    raise ImproperlyConfigured("ARENA_LEADERBOARD_INTERVALS must be auto or bootstrap")
# Cached leaderboard answers expire (the snapshot in the database stays); stale snapshots not read for
# this long are not recomputed in the background until someone reads them again.
ARENA_LEADERBOARD_CACHE_SECONDS = env_int("ARENA_LEADERBOARD_CACHE_SECONDS", 3600)
ARENA_LEADERBOARD_READ_WINDOW_SECONDS = env_int("ARENA_LEADERBOARD_READ_WINDOW_SECONDS", 7 * 24 * 3600)
# How much each source counts when a leaderboard combines them (source=all), e.g. '{"human": 2}';
# a source not named counts 1, a source with weight 0 is left out.
# The model family of each imported judge source, for the judges page's self-preference measure.
ARENA_SOURCE_FAMILIES = json.loads(env_str("ARENA_SOURCE_FAMILIES", '{"gpt-4-review": "gpt", "gpt-3.5-review": "gpt"}'))
if not isinstance(ARENA_SOURCE_FAMILIES, dict) or not all(isinstance(v, str) for v in ARENA_SOURCE_FAMILIES.values()):
    raise ImproperlyConfigured('ARENA_SOURCE_FAMILIES must be a JSON object of family names, '
                               'e.g. {"gpt-4-review": "gpt"}')
ARENA_SOURCE_WEIGHTS = json.loads(env_str("ARENA_SOURCE_WEIGHTS", "{}"))
if not isinstance(ARENA_SOURCE_WEIGHTS, dict) or not all(
        isinstance(v, int | float) and v >= 0 for v in ARENA_SOURCE_WEIGHTS.values()):
    raise ImproperlyConfigured('ARENA_SOURCE_WEIGHTS must be a JSON object of non-negative numbers, e.g. {"human": 2}')
# Adaptive tournaments: rounds of this many matches (0: one per competitor), up to this many rounds.
ARENA_ADAPTIVE_ROUND_MATCHES = env_int("ARENA_ADAPTIVE_ROUND_MATCHES", 0)
ARENA_ADAPTIVE_ROUNDS = env_int("ARENA_ADAPTIVE_ROUNDS", 10)
# Human voting (/vote/): anonymous votes through the Django session unless login is required.
ARENA_VOTE_REQUIRE_LOGIN = env_bool("ARENA_VOTE_REQUIRE_LOGIN", False)
# Seconds between showing a battle and accepting its vote (nobody reads two answers faster).
ARENA_VOTE_MIN_SECONDS = float(os.environ.get("ARENA_VOTE_MIN_SECONDS", "2"))
ARENA_VOTE_TICKET_SECONDS = env_int("ARENA_VOTE_TICKET_SECONDS", 3600)
ARENA_VOTES_PER_MINUTE_SESSION = env_int("ARENA_VOTES_PER_MINUTE_SESSION", 20)
ARENA_VOTES_PER_MINUTE_IP = env_int("ARENA_VOTES_PER_MINUTE_IP", 120)
# Judge configurations may read an API key only from these environment variables, and, when the
# list is not empty, send requests only to these hosts (checked on save and again in the worker).
ARENA_JUDGE_KEY_ENVS = env_list("ARENA_JUDGE_KEY_ENVS", "OPENAI_API_KEY")
ARENA_JUDGE_ALLOWED_HOSTS = env_list("ARENA_JUDGE_ALLOWED_HOSTS", "")
# New sessions and battle tickets one address may make the vote page write for anonymous voters per
# hour: a brisk voter needs one every ten seconds (360 an hour); a few share an address behind a NAT.
ARENA_VOTE_TICKETS_PER_HOUR_IP = env_int("ARENA_VOTE_TICKETS_PER_HOUR_IP", 1000)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
