"""A server's declared slots, shared by every process on this host that talks to it.

The adaptive limit (``judges.backends.concurrency``) lives in one process's memory. A Celery worker
started with ``-c 4`` is four processes, each with its own limit: against a one-slot server they
send four requests at once, and llama-cpp-python's server cuts the running stream short as soon as
another request waits, so most generations are thrown away. Where a server declares its slots,
every request therefore also holds one of that many slots of the host, taken with ``flock`` on a
lock file per slot under ``judges.weights.cache_dir()``.

The kernel releases a lock when its holder's file is closed, so a process that dies (a worker
killed mid-request) frees its slot at once and nothing goes stale. Processes on other hosts (or in
containers that share no cache directory) do not see these locks: run one judge worker host per
single-slot endpoint, or give the server more slots.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from judges.weights import cache_dir

POLL_S = 0.05  # how often a waiting request looks for a free slot: small beside any generation


class HostSlots:
    """``slots`` locks for one endpoint (``key``), shared by the processes of this host."""

    def __init__(self, key: str, slots: int, *, directory: Path | None = None):
        folder = directory or cache_dir() / "endpoint-slots"
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        self.paths = [folder / f"{digest}-{i}.lock" for i in range(max(1, slots))]

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Wait for a free slot and keep it for the ``with`` block."""
        fd = self._take()
        try:
            yield
        finally:
            os.close(fd)  # closing the file releases its lock

    def _take(self) -> int:
        while True:
            for path in self.paths:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return fd
                except BlockingIOError:
                    os.close(fd)
            time.sleep(POLL_S)


_SLOTS: dict[str, HostSlots] = {}
_SLOTS_LOCK = threading.Lock()


def declare(base_url: str, slots: int) -> HostSlots:
    """Note that the server at ``base_url`` declared ``slots``; its ``HostSlots`` from now on."""
    key = base_url.rstrip("/")
    with _SLOTS_LOCK:
        if key not in _SLOTS:
            _SLOTS[key] = HostSlots(key, slots)
        return _SLOTS[key]


def slots_for(base_url: str) -> HostSlots | None:
    """The host's slots of a server that declared them, else None (nothing shared across processes)."""
    with _SLOTS_LOCK:
        return _SLOTS.get(base_url.rstrip("/"))
