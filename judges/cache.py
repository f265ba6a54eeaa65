"""Scores of single outputs, cached so pointwise judging costs O(N) per prompt, not O(N^2).

A pointwise judge scores every output on its own; in a tournament each output meets many others,
so each score is computed once and reused in all its matches. The key hashes everything the score
depends on: the judge spec (with prompt versions), the prompt, the reference, the output and the
rubric. The Django layer provides a database-backed ``ScoreCache``; ``InMemoryScoreCache`` serves
tests and one-off runs.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from judges.base import Rubric
from judges.prompts import rubric_to_dict

ScoreKind = Literal["probability", "graded"]


@dataclass(frozen=True)
class Score:
    """One output's score: P(good) for ``probability``, the 1-10 grade for ``graded``."""

    value: float
    kind: ScoreKind
    raw: str = ""
    truncated: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Score:
        return cls(**data)


class ScoreCache(Protocol):
    def get_many(self, keys: Sequence[str]) -> dict[str, Score]:
        """The cached scores among ``keys``; absent keys are simply left out."""
        ...

    def put_many(self, scores: dict[str, Score]) -> None: ...


class InMemoryScoreCache:
    """A dict behind a lock: Celery's thread pool may share one judge between threads."""

    def __init__(self) -> None:
        self._scores: dict[str, Score] = {}
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[str]) -> dict[str, Score]:
        with self._lock:
            return {key: self._scores[key] for key in keys if key in self._scores}

    def put_many(self, scores: dict[str, Score]) -> None:
        with self._lock:
            self._scores.update(scores)

    def __len__(self) -> int:
        return len(self._scores)


def score_key(
    *,
    fingerprint: str,
    prompt_turns: Sequence[str],
    reference_turns: Sequence[str] | None,
    output_turns: Sequence[str],
    rubric: Rubric,
) -> str:
    """A stable sha256 over canonical JSON, so keys survive process restarts and Python versions."""
    payload = {
        "spec": fingerprint,
        "prompt": list(prompt_turns),
        "reference": list(reference_turns) if reference_turns else None,
        "output": list(output_turns),
        "rubric": rubric_to_dict(rubric),
    }
    encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
