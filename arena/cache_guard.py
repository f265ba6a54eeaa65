"""The one guard around cache operations: the cache (Redis in production) only saves work, so a
failing cache is logged and answered with None, never raised; the caller falls back to the database."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


def guarded(operation: Callable, *args, **kwargs):
    """``operation(*args, **kwargs)``, or None when the cache fails (or ``incr`` finds no key)."""
    try:
        return operation(*args, **kwargs)
    except ValueError:
        return None  # incr of a missing key
    except Exception:  # any backend's connection error: Redis, database cache...
        log.warning("cache unavailable; answering without it", exc_info=True)
        return None
