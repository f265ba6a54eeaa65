"""`manage.py demo` as a service manager runs it: SIGTERM stops it and everything it started."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.test_web_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def started(log: str) -> bool:
    return "is running at" in log and re.search(r"celery@\S+ ready\.", log) is not None and \
        log.count("Booting worker with pid") >= 2


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_demo_stops_its_worker_and_web_server_when_told_to_stop(tmp_path, stop):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "arena.settings", "ARENA_DATA_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "REDIS_URL": "", "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        # Its own process group: the worker, gunicorn and their children all join it.
        demo = subprocess.Popen([sys.executable, "manage.py", "demo", "--port", str(free_port())], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # Up and running: the command says so, the Celery worker (its pool started) says it is ready,
        # and gunicorn has booted both its workers; every child that could be orphaned exists by then.
        deadline = time.monotonic() + 120
        while not started(log.read_text(errors="replace")) and demo.poll() is None:
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        assert demo.poll() is None, log.read_text(errors="replace")
        demo.send_signal(stop)  # to the demo process alone, as `kill` or systemd's main-PID mode does
        demo.wait(timeout=30)
        deadline = time.monotonic() + 30
        while group_alive(demo.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not group_alive(demo.pid), "the demo's children outlived it"
    finally:
        if group_alive(demo.pid):
            os.killpg(demo.pid, signal.SIGKILL)
