"""Judge endpoint speed, from the worker processes that measure it to the pages that show it.

Each worker process keeps one concurrency controller per judge endpoint
(``judges.backends.concurrency``), in its own memory. While it judges it publishes a snapshot of
them into the shared cache (Redis in production, the database cache otherwise) under a key of its
own that expires after ``STALE_AFTER_S``, and adds that key to a small index; the judges page reads
the index and every snapshot still there. A worker that stops publishing drops off the page by
itself. The index is changed under a short lock taken with ``cache.add`` (atomic in Redis and in
the database cache), since worker processes that finish their tasks together publish together.
"""

from __future__ import annotations

import os
import socket
import time
from urllib.parse import urlsplit, urlunsplit

from django.core.cache import cache

from judges.backends.concurrency import endpoint_snapshots

from .cache_guard import guarded

INDEX_KEY = "judge-endpoints:index"
INDEX_LOCK_KEY = "judge-endpoints:index-lock"
# Held for two cache calls; expires by itself if its holder died in between.
LOCK_TIMEOUT_S = 5
LOCK_TRIES, LOCK_WAIT_S = 20, 0.05
STALE_AFTER_S = 300
MIN_INTERVAL_S = 5.0

_last_published = 0.0


def worker_key() -> str:
    return f"judge-endpoints:{socket.gethostname()}:{os.getpid()}"


def publish(*, force: bool = False) -> None:
    """This process's endpoint snapshots into the cache; at most every ``MIN_INTERVAL_S`` unless
    ``force``. Never raises: the judging it reports on matters more than the report."""
    global _last_published
    now = time.monotonic()
    snapshots = endpoint_snapshots()
    if not snapshots or (not force and now - _last_published < MIN_INTERVAL_S):
        return
    _last_published = now
    key = worker_key()
    endpoints = [{**snap, "base_url": shown_url(snap["base_url"])} for snap in snapshots]
    entry = {"worker": key.split(":", 1)[1], "published_at": time.time(), "endpoints": endpoints}
    guarded(cache.set, key, entry, timeout=STALE_AFTER_S)
    if key not in (guarded(cache.get, INDEX_KEY) or []):
        add_to_index(key)


def add_to_index(key: str) -> None:
    """Add ``key`` to the index under a short lock (``cache.add`` succeeds for one caller only):
    without it, the four pool processes of one worker, which publish together when their tasks end,
    each wrote back the index they had read, and all but the last were off the page for good once
    they went idle. A lock not taken within a second is left: the next publication tries again."""
    for _ in range(LOCK_TRIES):
        if guarded(cache.add, INDEX_LOCK_KEY, key, timeout=LOCK_TIMEOUT_S):
            try:
                index = guarded(cache.get, INDEX_KEY) or []
                if key not in index:
                    guarded(cache.set, INDEX_KEY, [*index, key][-200:], timeout=None)
            finally:
                guarded(cache.delete, INDEX_LOCK_KEY)
            return
        time.sleep(LOCK_WAIT_S)


def shown_url(url: str) -> str:
    """The endpoint without credentials or query a base_url might carry: pages are public."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return urlunsplit((parts.scheme, f"{host}:{parts.port}" if parts.port else host, parts.path, "", ""))


def endpoint_rows(*, private: bool) -> list[dict]:
    """One row per (worker process, endpoint) published in the last ``STALE_AFTER_S`` seconds.
    Without ``private`` the endpoint's address and the worker's host are left out (``""``): where
    judges send requests is for staff and ``admin`` tokens only, as in ``GET /api/v1/judges``."""
    index = guarded(cache.get, INDEX_KEY) or []
    entries = (guarded(cache.get_many, index) or {}) if index else {}
    rows = []
    for entry in entries.values():
        age = max(0.0, time.time() - entry["published_at"])
        rows += [{**endpoint, "worker": entry["worker"], "age_s": age} for endpoint in entry["endpoints"]]
    rows.sort(key=lambda r: (r["base_url"], r["model"], r["worker"]))
    return rows if private else [{**row, "base_url": "", "worker": ""} for row in rows]
