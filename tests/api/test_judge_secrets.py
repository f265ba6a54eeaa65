"""Issue 13, item 1: no token, staff or not, can make a judge worker send a secret of the server to a
URL of its choosing, and no public response shows where judges send requests, which variable their
key comes from, or what a judge endpoint answered. CI runs these on PostgreSQL too.

The "endpoint" is a real HTTP server on 127.0.0.1 that records every request it gets, so the tests
see what a worker would have sent (and that it sent nothing)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import CommandError, call_command

from arena import judging, lifecycle
from arena.judge_configs import MAX_SPEC_JSON_BYTES
from arena.models import JudgeConfig, Match
from tests import factories

pytestmark = pytest.mark.django_db

ATTACKER_SECRET = "the-server-secret-key-value"


class Recorder:
    """What the endpoint received, and what it answers (status and body)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        self.body: dict = {"choices": [{"message": {"role": "assistant", "content": "Verdict: [[A>B]]"}}],
                           "usage": {"prompt_tokens": 10, "completion_tokens": 3}}


@pytest.fixture
def endpoint() -> Iterator[tuple[Recorder, str]]:
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            recorder.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "body": self.rfile.read(length)})
            raw = json.dumps(recorder.body).encode()
            self.send_response(recorder.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield recorder, f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def secrets_in_env(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", ATTACKER_SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-allowed-key")


def attacker_judge(url: str, **params) -> dict:
    return {"name": "innocent", "backend": "openai", "model": "gpt-x", "rubric": "test",
            "params": {"base_url": url, "api_key_env": "SECRET_KEY", **params}}


def post(api, body: dict, token: str):
    return api.post_raw("judges", json.dumps(body), token=token)


def stored_judge(url: str, **params) -> JudgeConfig:
    """A configuration written straight into the table, as rows stored before the checks existed."""
    return JudgeConfig.objects.create(name="stored", backend="openai", model="gpt-x", protocol="generate",
                                      prompt_style="chat", params={"base_url": url, **params},
                                      rubric=factories.rubric())


def play(config: JudgeConfig) -> list[Match]:
    factories.prompts_with_outputs({"small": 3, "large": 9}, prompts=1)
    tournament, _ = lifecycle.open_tournament(name=f"t-{config.pk}", schedule="round_robin",
                                              models=["small", "large"], judge=config.pk)
    pending = list(tournament.matches.values_list("pk", flat=True))
    factories.judge(match_ids=pending, final_attempt=True)
    return list(Match.objects.filter(pk__in=pending))


# --- saving a configuration -------------------------------------------------------------------------

def test_a_token_without_the_admin_scope_cannot_add_the_attacker_judge(api, make_token, endpoint):
    recorder, url = endpoint
    factories.rubric()
    for scopes in ("read", "read,upload", "read,upload,run"):
        response = post(api, attacker_judge(url), make_token(scopes))
        assert response.status_code == 403, response.content
        assert "lacks the 'admin' scope" in response.json()["detail"]
    assert not JudgeConfig.objects.filter(name="innocent").exists()


@pytest.mark.parametrize("variable", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "HOME"])
def test_an_admin_token_naming_a_variable_outside_the_allowed_list_gets_422_naming_the_setting(
        api, make_token, endpoint, variable):
    _, url = endpoint
    factories.rubric()
    response = post(api, {**attacker_judge(url), "params": {"base_url": url, "api_key_env": variable}},
                    make_token("read,admin"))
    assert response.status_code == 422, response.content
    assert "ARENA_JUDGE_KEY_ENVS" in response.json()["detail"] and variable in response.json()["detail"]
    assert not JudgeConfig.objects.filter(name="innocent").exists()


def test_the_operator_can_allow_another_key_variable(api, make_token, endpoint, settings):
    _, url = endpoint
    factories.rubric()
    settings.ARENA_JUDGE_KEY_ENVS = ["OPENAI_API_KEY", "VLLM_KEY"]
    body = {**attacker_judge(url), "params": {"base_url": url, "api_key_env": "VLLM_KEY"}}
    assert post(api, body, make_token("admin")).status_code == 201


def test_allowed_hosts_restrict_base_url_when_set(api, make_token, endpoint, settings):
    _, url = endpoint
    factories.rubric()
    settings.ARENA_JUDGE_ALLOWED_HOSTS = ["gpu-host.internal"]
    body = {**attacker_judge(url), "params": {"base_url": url}}
    refused = post(api, body, make_token("admin"))
    assert refused.status_code == 422 and "ARENA_JUDGE_ALLOWED_HOSTS" in refused.json()["detail"]
    settings.ARENA_JUDGE_ALLOWED_HOSTS = ["127.0.0.1"]
    assert post(api, body, make_token("admin")).status_code == 201


@pytest.mark.parametrize(("params", "message"), [
    ({"bogus_param": 1}, "unknown openai backend params: ['bogus_param']"),
    ({"timeout": "soon"}, "timeout must be a number"),
    ({"max_concurrency": 1.5}, "max_concurrency must be an integer"),
    ({"extra_body": "x"}, "extra_body must be an object"),
    ({"base_url": "ftp://host/v1"}, "base_url must be an http:// or https:// URL"),
    ({"extra_body": {"pad": "x" * MAX_SPEC_JSON_BYTES}}, f"at most {MAX_SPEC_JSON_BYTES}"),
])
def test_backend_params_are_checked_when_a_judge_is_saved(api, make_token, params, message):
    factories.rubric()
    body = {"name": "typo", "backend": "openai", "model": "m", "rubric": "test", "params": params}
    response = post(api, body, make_token("admin"))
    assert response.status_code == 422, response.content
    assert message in response.json()["detail"]
    assert not JudgeConfig.objects.filter(name="typo").exists()


def test_a_megabyte_of_params_is_refused(api, make_token):
    factories.rubric()
    body = {"name": "big", "backend": "fake", "model": "m", "rubric": "test",
            "params": {f"k{i}": "v" * 100 for i in range(15_000)}}
    response = post(api, body, make_token("admin"))
    assert response.status_code == 422 and "bytes of JSON" in response.json()["detail"]


def test_the_command_refuses_a_variable_outside_the_allowed_list():
    factories.rubric()
    with pytest.raises(CommandError, match="ARENA_JUDGE_KEY_ENVS"):
        call_command("create_judge", "x", "--backend", "openai", "--model", "m", "--rubric", "test",
                     "--param", "api_key_env=SECRET_KEY")
    assert not JudgeConfig.objects.filter(name="x").exists()


def test_the_admin_refuses_a_variable_outside_the_allowed_list_even_for_a_superuser(admin_client):
    rubric = factories.rubric()
    form = {"name": "adm", "version": 1, "backend": "openai", "model": "m", "protocol": "generate",
            "prompt_style": "chat", "params": json.dumps({"api_key_env": "SECRET_KEY"}), "options": "{}",
            "rubric": rubric.pk, "both_orders": "on", "notes": "", "queue": "judge"}
    response = admin_client.post("/admin/arena/judgeconfig/add/", form)
    assert response.status_code == 200  # the form again, with the error
    assert "ARENA_JUDGE_KEY_ENVS" in response.content.decode()
    assert not JudgeConfig.objects.filter(name="adm").exists()
    form["params"] = json.dumps({"api_key_env": "OPENAI_API_KEY"})
    assert admin_client.post("/admin/arena/judgeconfig/add/", form).status_code == 302
    assert JudgeConfig.objects.filter(name="adm").exists()


# --- the worker ----------------------------------------------------------------------------------------

def test_the_worker_refuses_a_stored_judge_reading_a_disallowed_variable_without_sending_anything(
        endpoint, secrets_in_env):
    recorder, url = endpoint
    matches = play(stored_judge(url, api_key_env="SECRET_KEY"))
    assert recorder.requests == []
    assert {m.status for m in matches} == {"failed"}
    assert all(ATTACKER_SECRET not in m.last_error and "SECRET_KEY" not in m.last_error for m in matches)
    assert all("ARENA_JUDGE_KEY_ENVS" in m.error_detail for m in matches)  # for staff, in the admin


def test_the_worker_refuses_a_stored_judge_whose_host_is_no_longer_allowed(endpoint, secrets_in_env, settings):
    recorder, url = endpoint
    settings.ARENA_JUDGE_ALLOWED_HOSTS = ["gpu-host.internal"]
    matches = play(stored_judge(url))
    assert recorder.requests == [] and {m.status for m in matches} == {"failed"}


def test_an_allowed_stored_judge_reaches_the_endpoint_with_only_the_allowed_key(endpoint, secrets_in_env):
    # The control for the two tests above: the same set-up, allowed, does send requests.
    recorder, url = endpoint
    matches = play(stored_judge(url))
    assert recorder.requests, "the worker never called the endpoint"
    sent = {r["headers"].get("Authorization") for r in recorder.requests}
    assert sent == {"Bearer sk-allowed-key"}
    assert all(ATTACKER_SECRET.encode() not in r["body"] for r in recorder.requests)
    assert {m.status for m in matches} == {"done"}


# --- what anyone can read --------------------------------------------------------------------------

def test_anonymous_and_read_scoped_listings_hide_endpoints_and_key_variables(api, client, make_token, endpoint):
    _, url = endpoint
    stored_judge(url, api_key_env="OPENAI_API_KEY", timeout=30)
    for headers in ({}, {"HTTP_AUTHORIZATION": f"Bearer {make_token('read,upload,run')}"}):
        listing = client.get("/api/v1/judges", **headers)
        assert listing.status_code == 200
        text = listing.content.decode()
        assert url not in text and "base_url" not in text and "api_key_env" not in text
        (shown,) = [j for j in listing.json() if j["name"] == "stored"]
        assert shown["params"] == {"timeout": 30}
    admin = client.get("/api/v1/judges", HTTP_AUTHORIZATION=f"Bearer {make_token('admin')}").json()
    (shown,) = [j for j in admin if j["name"] == "stored"]
    assert shown["params"]["base_url"] == url and shown["params"]["api_key_env"] == "OPENAI_API_KEY"


def test_staff_signed_in_see_the_endpoints(admin_client, endpoint):
    _, url = endpoint
    stored_judge(url)
    assert url in admin_client.get("/api/v1/judges").content.decode()


def test_an_endpoint_error_body_is_never_shown_publicly(api, client, make_token, endpoint, secrets_in_env):
    recorder, url = endpoint
    recorder.status = 401
    recorder.body = {"error": {"message": "Incorrect API key provided: sk-all*****-key. You can find..."}}
    matches = play(stored_judge(url))
    assert recorder.requests and {m.status for m in matches} == {"failed"}
    read_token = make_token("read")
    pages = [client.get("/api/v1/matches", HTTP_AUTHORIZATION=f"Bearer {read_token}"),
             client.get("/api/v1/matches"),
             client.get(f"/matches/{matches[0].pk}/"),
             client.get(f"/tournaments/{matches[0].tournament_id}/")]
    for page in pages:
        assert page.status_code == 200
        text = page.content.decode()
        assert "Incorrect API key" not in text and "sk-all" not in text
    errors = {row["error"] for row in client.get("/api/v1/matches").json()["items"]}
    assert errors == {"JudgeError: the judge endpoint answered HTTP 401"}
    assert "Incorrect API key" in Match.objects.get(pk=matches[0].pk).error_detail  # kept for staff


def test_the_worker_never_reads_the_default_key_when_the_operator_allows_none(endpoint, secrets_in_env, settings):
    recorder, url = endpoint
    settings.ARENA_JUDGE_KEY_ENVS = []
    play(stored_judge(url))
    assert recorder.requests and all("Authorization" not in r["headers"] for r in recorder.requests)


def test_a_match_error_stored_before_the_summaries_is_moved_out_of_public_view():
    # The migration's data step, on a row as an old worker wrote it.
    from importlib import import_module

    from django.apps import apps

    factories.prompts_with_outputs({"small": 3, "large": 9}, prompts=1)
    config = factories.fake_judge()
    tournament, _ = lifecycle.open_tournament(name="old", schedule="round_robin", models=["small", "large"],
                                              judge=config.pk)
    tournament.matches.update(status="failed", last_error="/chat/completions: HTTP 401: Incorrect API key sk-1")
    import_module("arena.migrations.0008_sec_auth_scopes").scopes_and_scrubbed_errors(apps, None)
    match = tournament.matches.get()
    assert "sk-1" not in match.last_error and "sk-1" in match.error_detail


def test_the_judging_module_checks_the_policy_before_building(endpoint, secrets_in_env):
    # The worker's own path, without the tournament machinery: a ConfigurationError, not a request.
    recorder, url = endpoint
    from judges.base import ConfigurationError

    with pytest.raises(ConfigurationError, match="ARENA_JUDGE_KEY_ENVS"):
        judging.cached_judge(stored_judge(url, api_key_env="DATABASE_URL"))
    assert recorder.requests == []
