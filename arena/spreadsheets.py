"""CSV a spreadsheet opens as data, never as formulas (OWASP's "CSV injection").

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (and, to be safe,
a line feed) is a formula to Excel, LibreOffice and Google Sheets: ``=HYPERLINK(...)``, or
``=cmd|' /C calc'!A0`` through DDE. Such a cell gets a leading ``'``, which spreadsheets show as
text and do not display. Only text is touched: numbers (Python numbers, and text that is exactly a
number such as ``-3.2`` or ``-1,012``) stay numbers, since no number is a formula.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?%?")


def safe_cell(value: Any) -> Any:
    """``value`` as a CSV cell that cannot start a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_rows(stream: IO[str], rows: Iterable[Iterable[Any]]) -> None:
    """Rows of cells as CSV, every cell through ``safe_cell``."""
    writer = csv.writer(stream)
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)


def write_dicts(stream: IO[str], fieldnames: list[str], rows: Iterable[dict]) -> None:
    """Dict rows as CSV with a header, only ``fieldnames`` written, every cell through ``safe_cell``."""
    writer = csv.DictWriter(stream, fieldnames=fieldnames, extrasaction="ignore")
    writer.writeheader()
    writer.writerows({key: safe_cell(value) for key, value in row.items()} for row in rows)
