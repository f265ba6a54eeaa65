"""Test settings: the real settings module, with its data directory (SQLite test database, broker
folders, static files) under the system temp folder instead of the developer's ``var/``; one
folder per checkout, so that two checkouts' test runs never share a database file or a queue."""

import hashlib
import os
import tempfile
from pathlib import Path

_checkout = hashlib.sha256(str(Path(__file__).resolve().parent.parent).encode()).hexdigest()[:8]
os.environ.setdefault("ARENA_DATA_DIR", str(Path(tempfile.gettempdir()) / f"arena-tests-{_checkout}"))

from arena.settings import *  # noqa: E402, F403
