"""What the database can store, checked before a value gets near it.

Every input path (upload rows, API query parameters, leaderboard parameters) checks its values here,
so that a value these checks pass is one PostgreSQL accepts and a bad one is a 4xx naming the field,
never a database error turned 500. The facts behind each limit:

- PostgreSQL text and JSONB cannot hold NUL (``\\u0000``); psycopg cannot encode a lone surrogate.
- ``integer`` columns (Django's IntegerField, PositiveIntegerField) hold up to 2**31 - 1; LIMIT and
  OFFSET take a ``bigint``.
- JSON has no NaN or Infinity (Python's ``json`` reads them, and ``1e400`` becomes infinity).
- Column lengths are the models' ``max_length``: ``column_chars`` reads them, so they are stated once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from django.db.models import Model

INT_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1
# No row the arena stores nests anywhere near this deep (metadata is usually flat); a bound keeps
# every walk over uploaded JSON short and its recursion far from Python's limit.
MAX_JSON_DEPTH = 32

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def column_chars(model: type[Model], field_name: str) -> int:
    """The declared length of a character column: the longest text it stores."""
    return model._meta.get_field(field_name).max_length


def text_problem(value: str) -> str | None:
    """Why the database cannot store ``value``, or None when it can."""
    found = _BAD_TEXT.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return f"contains a NUL character (\\u0000) at position {found.start()}, which cannot be stored"
    return (f"contains a lone surrogate (\\u{ord(found.group()):04x}) at position {found.start()}; "
            "text must be valid Unicode")


def json_problems(value: Any, path: str, depth: int = 0) -> Iterator[tuple[str, str]]:
    """(path, message) for every value in parsed JSON the database cannot store: bad text (keys
    included), non-finite numbers, and nesting deeper than ``MAX_JSON_DEPTH``."""
    if depth > MAX_JSON_DEPTH:
        yield path, f"is nested more than {MAX_JSON_DEPTH} levels deep"
    elif isinstance(value, str):
        problem = text_problem(value)
        if problem:
            yield path, problem
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield path, f"is {value}, which is not a JSON number (NaN and infinities cannot be stored)"
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = text_problem(key)
            if problem:
                yield f"{path}.{key!r}", f"key {problem}"
            else:
                yield from json_problems(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_problems(item, f"{path}.{index}", depth + 1)


def check_text(value: str, *, name: str, max_chars: int | None = None) -> str:
    """A query parameter or form value: returned unchanged, or ValueError naming ``name``."""
    problem = text_problem(value)
    if problem:
        raise ValueError(f"{name} {problem}")
    if max_chars is not None and len(value) > max_chars:
        raise ValueError(f"{name} is {len(value)} characters; the longest stored value is {max_chars}")
    return value
