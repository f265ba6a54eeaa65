"""Fast inserts for uploads: COPY on PostgreSQL, one executemany elsewhere.

Django's ``bulk_create`` spends most of its time preparing each field of each model instance; an
upload of 100,000 outputs needs plain tuples straight to the driver. Values must already be in
database form (JSON columns as JSON text).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection
from django.db.models import Model
from django.utils import timezone


def insert_rows(model: type[Model], columns: Sequence[str], rows: list[tuple], *, stamp: Sequence[str] = ()) -> None:
    """Insert ``rows`` (tuples in ``columns`` order); ``stamp`` columns get the current time."""
    if not rows:
        return
    if stamp:
        now = timezone.now()
        rows = [(*row, *(now,) * len(stamp)) for row in rows]
        columns = [*columns, *stamp]
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY is psycopg's own API, outside Django's error translation: wrap it, so that a
            # duplicate key is Django's IntegrityError like on every other write path.
            with connection.wrap_database_errors, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def as_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
