"""The web tier as deployed: a real gunicorn process on the test database.

Chunked request bodies (streamed JSON Lines) and a Redis that is down are properties of the server
and the network, so they are tested through a real server and a real socket.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from arena.models import ApiToken, ImportedBattle, Output, Prompt
from tests.conftest import database_state
from tests.integration.test_worker import database_url

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    """A port nothing listens on (the kernel picked it and we let it go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    def __init__(self, **env: str):
        self.port = free_port()
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "arena.settings", "DATABASE_URL": database_url(),
                    "ARENA_DATA_DIR": str(settings.DATA_DIR), **env}
        self.log = open(Path(settings.DATA_DIR) / "gunicorn.log", "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "arena.wsgi", "-b", f"127.0.0.1:{self.port}", "-w", "1"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not start; see gunicorn.log in the test data directory")

    def request(self, method: str, path: str, body=None, headers: dict | None = None, **kwargs):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers or {}, **kwargs)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()


@pytest.fixture
def bearer(django_user_model) -> dict:
    user = django_user_model.objects.create(username="server-uploader")
    return {"Authorization": f"Bearer {ApiToken.issue(user=user)[1]}"}


@pytest.fixture
def server():
    started = []

    def start(**env: str) -> Gunicorn:
        started.append(Gunicorn(**env))
        return started[-1]

    yield start
    for process in started:
        process.stop()


def test_a_chunked_json_lines_upload_is_read_whole(server, bearer):
    web = server()
    lines = [json.dumps({"id": f"chunk-{i}", "prompt": "x" * 100}).encode() + b"\n" for i in range(300)]
    # A generator body makes http.client send Transfer-Encoding: chunked, with no Content-Length.
    status, body = web.request("POST", "/api/v1/prompts", body=iter(lines), encode_chunked=True,
                               headers={**bearer, "Content-Type": "application/x-ndjson",
                                        "Transfer-Encoding": "chunked"})
    assert status == 201, body
    assert json.loads(body)["created"] == 300
    assert Prompt.objects.filter(external_id__startswith="chunk-").count() == 300


def test_a_chunked_upload_over_the_size_limit_is_413(server, bearer):
    web = server(ARENA_MAX_UPLOAD_BYTES="5000")
    lines = (json.dumps({"id": f"big-{i}", "prompt": "y" * 100}).encode() + b"\n" for i in range(200))
    status, body = web.request("POST", "/api/v1/prompts", body=lines, encode_chunked=True,
                               headers={**bearer, "Content-Type": "application/x-ndjson",
                                        "Transfer-Encoding": "chunked"})
    assert status == 413, body
    assert not Prompt.objects.exists()


def test_uploads_with_redis_down_succeed_or_answer_503_and_write_nothing(server, bearer):
    web = server(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    headers = {**bearer, "Content-Type": "application/json"}
    uploads = [
        ("prompts", [{"id": "r1", "prompt": "q"}], lambda: Prompt.objects.filter(external_id="r1").exists()),
        ("outputs", [{"prompt_id": "r1", "model": "m1", "output": "a"},
                     {"prompt_id": "r1", "model": "m2", "output": "b"}], lambda: Output.objects.count() == 2),
        ("battles", [{"model_a": "m1", "model_b": "m2", "winner": "tie", "id": "rb"}],
         lambda: ImportedBattle.objects.filter(external_id="rb").exists()),
    ]
    for path, rows, written in uploads:
        before = database_state()
        status, body = web.request("POST", f"/api/v1/{path}", body=json.dumps(rows), headers=headers)
        assert status in {201, 503}, (path, status, body[:500])
        assert written() if status == 201 else database_state() == before, (path, status)
