"""Production settings: the README's documented environment passes `check --deploy` with no warning,
and the generated secret key is readable by its owner only."""

import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The production environment the README documents (behind a TLS-terminating proxy).
PRODUCTION = {"SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "arena.example.org",
              "CSRF_TRUSTED_ORIGINS": "https://arena.example.org", "ARENA_HTTPS": "true",
              "ARENA_PROXY_SSL_HEADER": "true"}


def manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {key: value for key, value in os.environ.items() if key not in {"SECRET_KEY", "DEBUG", "ARENA_HTTPS"}}
    full = {**base, "DJANGO_SETTINGS_MODULE": "arena.settings", "ARENA_DATA_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}", **env}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full, capture_output=True, text=True)


def test_check_deploy_is_clean_under_the_documented_production_settings(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_names_what_is_missing_without_them(tmp_path):
    result = manage(tmp_path, "check", "--deploy", SECRET_KEY=PRODUCTION["SECRET_KEY"])
    assert all(code in result.stdout + result.stderr for code in ("W004", "W008", "W012", "W016"))


def test_the_generated_secret_key_is_readable_by_its_owner_only(tmp_path):
    assert manage(tmp_path, "check").returncode == 0
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_text()
    assert manage(tmp_path, "check").returncode == 0
    assert key_file.read_text() == first and len(first) >= 50
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".secret_key")] == []


def test_an_unknown_leaderboard_interval_setting_fails_loudly(tmp_path):
    result = manage(tmp_path, "check", ARENA_LEADERBOARD_INTERVALS="sandwich-ish")
    assert result.returncode != 0
    assert "ARENA_LEADERBOARD_INTERVALS must be auto or bootstrap" in result.stderr


def test_reading_the_settings_imports_no_numerical_library(tmp_path):
    """The web tier's processes all read the settings; numpy and scipy wait until ratings are computed."""
    script = "import sys, arena.settings; print(sorted(m for m in ('numpy', 'scipy') if m in sys.modules))"
    env = {**os.environ, "ARENA_DATA_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
