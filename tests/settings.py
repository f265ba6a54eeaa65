"""Test settings: the real settings module, with its data directory (SQLite test database, broker
folders, static files) under the system temp folder instead of the developer's ``var/``."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("ARENA_DATA_DIR", str(Path(tempfile.gettempdir()) / "arena-tests"))

from arena.settings import *  # noqa: E402, F403
