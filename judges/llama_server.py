"""llama-cpp-python's OpenAI-compatible server on the shipped Gemma 3 270M GGUF, for the tests and
benchmarks that judge against a real endpoint, and what its log says it did.

Needs the ``server`` extra (``llama-cpp-python[server]``). The server runs one request at a time;
its log is the only place that says which generations ran, so it is written unbuffered and read
between two marks:

- every generation decoded to its end prints llama.cpp's ``eval time = ... / N runs`` line and a
  ``total time = ... ms`` line (prompt processing plus decoding);
- a stream cut short (the client left, or llama-cpp-python interrupted it because another request
  was waiting) prints "Disconnected from client";
- a queued request whose client left before it reached the model prints "... before llm invoked"
  and cost nothing.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from judges.weights import default_gguf_path

STARTUP_DEADLINE_S = 180
LOG_DEADLINE_S = 10
GENERATION_END = re.compile(r"\beval time =\s+[\d.]+ ms /\s+(\d+) runs")
TOTAL_TIME = re.compile(r"total time =\s+([\d.]+) ms")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LlamaServer:
    url: str
    log: Path
    offset: int = 0

    def mark(self) -> None:
        self.offset = self.log.stat().st_size

    def log_since_mark(self, until: Callable[[str], bool] | None = None, *, settle_s: float = 1.0) -> str:
        """The server's log since ``mark()``. The server logs a generation's end after its last byte
        went out, so a caller that knows what it waits for passes ``until(log)`` and gets the log
        once that holds (or as it is after ``LOG_DEADLINE_S``, to judge); otherwise the log after
        ``settle_s`` seconds."""
        if until is None:
            time.sleep(settle_s)
            return self._read()
        deadline = time.monotonic() + LOG_DEADLINE_S
        while not until(text := self._read()) and time.monotonic() < deadline:
            time.sleep(0.05)
        return text

    def _read(self) -> str:
        with self.log.open("rb") as f:
            f.seek(self.offset)
            return f.read().decode("utf-8", "replace")

    def work_since_mark(self, *, settle_s: float = 1.0) -> dict:
        """Generations run to their end (``finished``), cut short (``cut``), dropped before the model
        (``dropped``), tokens decoded, and seconds the model was busy on finished generations."""
        return work_in(self.log_since_mark(settle_s=settle_s))


def work_in(text: str) -> dict:
    runs = [int(n) for n in GENERATION_END.findall(text)]
    lines = text.splitlines()
    dropped = sum("before llm invoked" in line for line in lines)
    cut = sum("Disconnected from client" in line for line in lines) - dropped
    busy = sum(float(ms) for ms in TOTAL_TIME.findall(text)) / 1000
    return {"finished": len(runs), "decoded": sum(runs), "cut": cut, "dropped": dropped, "busy_s": busy}


@contextmanager
def llama_server(log_path: Path, *, n_ctx: int = 2048, chat_format: str | None = None) -> Iterator[LlamaServer]:
    """The server on a free port of 127.0.0.1, ready to answer; stopped on leaving."""
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(default_gguf_path()),
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
    ]  # fmt: skip
    if chat_format:
        command += ["--chat_format", chat_format]
    # Unbuffered: callers read the server's own log lines about finished and disconnected requests.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        url = f"http://127.0.0.1:{port}/v1"
        try:
            wait_until_ready(process, url)
            yield LlamaServer(url, log_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


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
        time.sleep(0.5)
    raise RuntimeError(f"llama.cpp server not ready after {STARTUP_DEADLINE_S} s")
