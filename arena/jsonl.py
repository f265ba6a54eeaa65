"""JSON Lines files: the one reader for the bundled data, the benchmarks and ``judge_eval``. No Django
here, so that the benchmark scripts can use it without setting Django up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path


def numbered_rows(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, row) of each non-blank line; a malformed line is a ValueError naming file and line."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: malformed JSON: {exc.msg}") from None


def read_jsonl(path: Path) -> list[dict]:
    """The rows of a JSON Lines file, blank lines skipped."""
    return [row for _, row in numbered_rows(path)]
