"""A developer's `manage.py runserver` (DEBUG off, no collectstatic): pages have their CSS and htmx,
and the API docs page renders its operations. Debian's chromium, driven by Playwright."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.browser.support import ARTIFACTS, needs_chromium

ROOT = Path(__file__).resolve().parents[2]
pytestmark = needs_chromium


@pytest.fixture
def runserver(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "REDIS_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="arena.settings", ARENA_DATA_DIR=str(tmp_path),
               DATABASE_URL=f"sqlite:///{tmp_path / 'dev.sqlite3'}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "runserver did not start"
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=10)


@pytest.fixture
def page(browser):
    return browser.new_page()


def test_runserver_pages_have_their_css_and_htmx_and_the_api_docs_render(runserver, page):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(runserver + "/")
    assert page.evaluate("[...document.styleSheets].some(s => (s.href || '').endsWith('arena.css')"
                         " && s.cssRules.length > 0)")
    assert page.evaluate("typeof window.htmx") == "object"
    page.goto(runserver + "/api/v1/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=15_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert {"/api/v1/prompts", "/api/v1/battles", "/api/v1/leaderboard"} <= {p.strip() for p in paths}
    page.screenshot(path=str(ARTIFACTS / "api-docs-runserver.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / "api-docs-runserver-390.png"))
