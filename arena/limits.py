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
import unicodedata
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
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


# --- numbers and ids: range checks for tournament and judge inputs (sec-state) ---------------------

# A JSON number of any size parses to a Python int; float() of one past ~1.8e308 raises OverflowError.
# Messages quote at most this many characters of a bad value, so a 400-digit number is not echoed.
_QUOTED_CHARS = 40


def quoted(value: Any) -> str:
    """``repr(value)``, cut short for messages."""
    text = repr(value)
    return text if len(text) <= _QUOTED_CHARS else f"{text[:_QUOTED_CHARS]}… ({len(text)} characters)"


def as_id(value: Any) -> int | None:
    """``value`` as a row id, when it is one: an int or a string of ASCII digits, from 1 to BIGINT_MAX.
    Anything else is None (the caller looks it up as a name): ``str.isdigit()`` is true for "²",
    which ``int()`` refuses, and a number past bigint names no row."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()) or len(value) > len(str(BIGINT_MAX)):
            return None
        value = int(value)
    if isinstance(value, int) and 0 < value <= BIGINT_MAX:
        return value
    return None


def number_problem(value: Any, *, at_least: float | None = None, above: float | None = None,
                   at_most: float | None = None, below: float | None = None, whole: bool = False) -> str | None:
    """Why ``value`` is not a number in the range, or None when it is. Comparisons of an int with a
    float are exact in Python, so a huge int is compared, never converted (no OverflowError)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number, got {quoted(value)}"
    if whole and not isinstance(value, int):
        return f"must be a whole number, got {quoted(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, got {value}"
    bounds = [(at_least, ">=", lambda v, b: v >= b), (above, ">", lambda v, b: v > b),
              (at_most, "<=", lambda v, b: v <= b), (below, "<", lambda v, b: v < b)]
    if any(bound is not None and not holds(value, bound) for bound, _, holds in bounds):
        wanted = " and ".join(f"{sign} {bound:g}" for bound, sign, _ in bounds if bound is not None)
        return f"must be {wanted}, got {quoted(value)}"
    return None


def check_number(value: Any, *, name: str, **bounds) -> int | float:
    """A number from a request: returned unchanged, or ValueError naming ``name`` (``bounds`` as in
    ``number_problem``)."""
    problem = number_problem(value, **bounds)
    if problem:
        raise ValueError(f"{name} {problem}")
    return value


# --- names: what a stored name may contain ----------------------------------------------------------
# Model, dataset, category, source and tournament names are shown on every page, in links, in CSV
# cells and SVG labels, and people tell models apart by them. A name is one line of visible text:
# no control characters (Cc: NUL..US, DEL, C1, so no tab or line break), no line or paragraph
# separators (Zl, Zp), and no invisible format characters (Cf: bidirectional overrides such as
# U+202E that make a name read backwards, zero-width spaces, soft hyphens, byte order marks), except
# the joiners that scripts and emoji need: ZWNJ and ZWJ (Persian, Indic scripts, family emoji) and
# the tag characters of subdivision flag emoji. Surrounding whitespace is refused rather than
# stripped: a name is a key, and an upload must not silently merge " m1" into "m1".
_NAME_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}
_NAME_FORMAT_ALLOWED = {"\u200c", "\u200d"}
_EMOJI_TAGS = range(0xE0020, 0xE0080)


def name_problem(value: str) -> str | None:
    """Why ``value`` cannot be a stored name, or None when it can."""
    problem = text_problem(value)
    if problem:
        return problem
    # str.isprintable() is false for every character the loop below might refuse (and for a few it
    # allows): the common, printable name costs one C call.
    if not value.isprintable():
        for position, char in enumerate(value):
            if (unicodedata.category(char) in _NAME_CATEGORIES and char not in _NAME_FORMAT_ALLOWED
                    and ord(char) not in _EMOJI_TAGS):
                label = unicodedata.name(char, unicodedata.category(char))
                return (f"contains the control character U+{ord(char):04X} ({label}) at position {position}; "
                        "a name is one line of visible text")
    if value != value.strip():
        return "starts or ends with whitespace"
    return None


def _class_of(codes: list[int]) -> str:
    """A regular-expression character class body for ``codes`` (sorted), as ``\\uXXXX`` ranges."""
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges)


def _refused_in_names() -> list[int]:
    # The Basic Multilingual Plane only: JSON Schema patterns (ECMA 262 without the u flag) spell no
    # code point above it; the few refused ones there (format characters such as U+E0001) stay a 422.
    # Lone surrogates are left out too: regex engines over Unicode scalar values (Rust's, which
    # validators use) refuse a pattern that names them, and generated JSON text never holds one.
    return [code for code in range(0x10000) if unicodedata.category(chr(code)) in _NAME_CATEGORIES - {"Cs"}
            and chr(code) not in _NAME_FORMAT_ALLOWED]


_REFUSED = _class_of(_refused_in_names())
_REFUSED_AT_ENDS = _class_of(sorted(set(_refused_in_names()) | {c for c in range(0x10000) if chr(c).isspace()}))
# ``name_problem`` for the OpenAPI schema, so that clients and fuzzers see what a name may be (docs only:
# name_problem stays the check, with messages that say what is wrong).
NAME_PATTERN = f"^[^{_REFUSED_AT_ENDS}](?:[^{_REFUSED}]*[^{_REFUSED_AT_ENDS}])?$"
OPTIONAL_NAME_PATTERN = f"^(?:{NAME_PATTERN[1:-1]})?$"
# ``text_problem`` for the OpenAPI schema: any text without NUL (lone surrogates: see above).
TEXT_PATTERN = "^[^\\u0000]*$"


def check_name(value: str, *, field: str) -> str:
    """A name about to be stored: returned unchanged, or ValueError naming ``field``."""
    problem = name_problem(value)
    if problem:
        raise ValueError(f"{field} {problem}")
    return value


def validate_name(value: str) -> None:
    """``name_problem`` as a model field validator, so the admin's forms refuse what uploads refuse."""
    problem = name_problem(value)
    if problem:
        raise ValidationError(f"This name {problem}.", code="invalid_name")
