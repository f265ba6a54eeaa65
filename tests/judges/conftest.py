"""The real llama.cpp OpenAI-compatible server (llama-cpp-python serving the tiny Gemma 3 270M GGUF on
127.0.0.1), started once per test session for every module that needs it: loading the model is the
expensive part, and the tests only send it independent requests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

STARTUP_DEADLINE_S = 120
LOG_DEADLINE_S = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(process: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama.cpp server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/models", timeout=2).is_success:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.2)
    raise RuntimeError(f"llama.cpp server not ready after {STARTUP_DEADLINE_S} s")


@dataclass
class Server:
    url: str
    log: Path
    offset: int = 0

    def mark(self) -> None:
        self.offset = self.log.stat().st_size

    def log_since_mark(self, until: Callable[[str], bool]) -> str:
        """The server's log since ``mark()``, once ``until(log)`` holds (the server logs a generation's
        end after its last byte went out), or as it is after LOG_DEADLINE_S for the test to judge."""
        deadline = time.monotonic() + LOG_DEADLINE_S
        while True:
            with self.log.open("rb") as f:
                f.seek(self.offset)
                text = f.read().decode("utf-8", "replace")
            if until(text) or time.monotonic() > deadline:
                return text
            time.sleep(0.05)


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory) -> Iterator[Server]:
    from judges.weights import default_gguf_path

    port = free_port()
    path = tmp_path_factory.mktemp("llama") / "server.log"
    log = path.open("wb")
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(default_gguf_path()),
        "--chat_format", "gemma", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
    ]  # fmt: skip
    # Unbuffered: the tests read the server's own log lines about disconnected clients.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_ready(process, url)
        yield Server(url, path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def server_url(llama_server: Server) -> str:
    return llama_server.url
