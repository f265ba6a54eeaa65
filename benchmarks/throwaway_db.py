"""Django set up on a throwaway test database, for benchmarks that must not touch real data."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def throwaway_database() -> Iterator[None]:
    """Configure Django (``DATABASE_URL`` decides the backend) and run inside a fresh test database."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "arena.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def add_service_arguments(parser) -> None:
    """``--postgres`` and ``--redis``: where a benchmark that needs both makes its throwaway database."""
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/arena_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")


def run_on_services(args, run) -> None:
    """``run(args)`` with Django on a throwaway database of ``args.postgres`` and the cache on ``args.redis``."""
    os.environ["DATABASE_URL"] = args.postgres
    os.environ["REDIS_URL"] = args.redis
    with throwaway_database():
        run(args)
