"""The data generation: a cache counter that moves on whenever new results arrive.

Every cached thing derived from the results (snapshot payloads, renderings, the known sources, the
agreement and bias reports) puts the generation in its key, so one increment retires them all. It is
None while the cache is down: then nothing is cached and the database answers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

from ..cache_guard import guarded

GENERATION_KEY = "leaderboard:generation"
T = TypeVar("T")


def generation() -> int | None:
    return guarded(cache.get_or_set, GENERATION_KEY, 0, timeout=None)


def bump_generation() -> None:
    if guarded(cache.incr, GENERATION_KEY) is None:
        guarded(cache.set, GENERATION_KEY, 1, timeout=None)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def remembered(name: str, build: Callable[[], T], *, timeout: int) -> T:
    """``build()``, cached under ``name`` until new results arrive (the generation moves) or ``timeout``
    seconds pass; built every time while the cache is down."""
    current = generation()
    if current is None:
        return build()
    key = f"generation:{current}:{name}"
    value = guarded(cache.get, key)
    if value is None:
        value = build()
        guarded(cache.set, key, value, timeout=timeout)
    return value
