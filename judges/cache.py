"""What a judge already said, kept so that nothing is judged twice.

Two caches share one storage protocol (``CacheStore``: JSON-able dicts by string key):

- ``ScoreCache``: scores of single outputs, so pointwise judging costs O(N) per prompt, not O(N^2).
  A pointwise judge scores every output on its own; in a tournament each output meets many others,
  so each score is computed once and reused in all its matches.
- ``CachedJudge``: whole verdicts by (judge fingerprint, task as the judge sees it), so re-running a
  tournament, or judging the same outputs in another tournament, costs nothing.

Keys hash everything the result depends on. The Django layer provides a database-backed store;
``InMemoryStore`` serves tests and one-off runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from judges.base import CriterionResult, JudgeError, PairTask, Rubric, Verdict
from judges.both_orders import PairResult, judge_both_orders
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


class CacheStore(Protocol):
    """Where cached results live: JSON-able dicts by string key. Keys are namespaced by the caller."""

    def get_many(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored values among ``keys``; absent keys are simply left out."""
        ...

    def put_many(self, values: dict[str, dict[str, Any]]) -> None:
        """Store values; a key stored already keeps its first value (results never change)."""
        ...


class InMemoryStore:
    """A dict behind a lock: Celery's thread pool may share one judge between threads."""

    def __init__(self) -> None:
        self._values: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {key: self._values[key] for key in keys if key in self._values}

    def put_many(self, values: dict[str, dict[str, Any]]) -> None:
        with self._lock:
            for key, value in values.items():
                self._values.setdefault(key, value)

    def __len__(self) -> int:
        return len(self._values)


class ScoreCache:
    """Pointwise scores per output, shared by every match the output plays in."""

    def __init__(self, store: CacheStore | None = None):
        self.store = store if store is not None else InMemoryStore()

    def get_many(self, keys: Sequence[str]) -> dict[str, Score]:
        return {key: Score.from_dict(value) for key, value in self.store.get_many(keys).items()}

    def put_many(self, scores: dict[str, Score]) -> None:
        self.store.put_many({key: score.as_dict() for key, score in scores.items()})

    def __len__(self) -> int:
        return len(self.store)  # type: ignore[arg-type]


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


# --- whole verdicts ---------------------------------------------------------------------------------

def verdict_to_dict(verdict: Verdict | JudgeError | None) -> dict | None:
    if verdict is None:
        return None
    if isinstance(verdict, JudgeError):
        # Stored verdicts are public (the matches API, the match page): our summary, never the raw message.
        return {"error": verdict.summary(), "retryable": verdict.retryable}
    return dataclasses.asdict(verdict)


def verdict_from_dict(data: dict) -> Verdict:
    fields = dict(data)
    fields["criteria"] = tuple(CriterionResult(**c) for c in fields.get("criteria", ()))
    return Verdict(**fields)


def task_key(task: PairTask) -> str:
    """Everything the judge sees, in the order it sees it."""
    content = [task.prompt_turns, task.output_a_turns, task.output_b_turns, task.reference_turns,
               dataclasses.asdict(task.rubric)]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


class CachedJudge:
    """A judge with every verdict it ever gave kept in ``store``, a store of this judge spec's alone
    (namespaced by its fingerprint): an identical (spec, prompt, output pair, order) is never judged
    twice. Only verdicts are kept; errors are asked again."""

    def __init__(self, judge, *, store: CacheStore):
        self.judge = judge
        self.store = store
        # judge_both_orders reads the tie margin from here.
        self.options = getattr(judge, "options", None)

    def judge_many(self, tasks: list[PairTask]) -> list[Verdict | JudgeError]:
        keys = [task_key(t) for t in tasks]
        stored = self.store.get_many(list(set(keys)))
        misses = [i for i, key in enumerate(keys) if key not in stored]
        fresh = self.judge.judge_many([tasks[i] for i in misses]) if misses else []
        self.store.put_many({keys[i]: verdict_to_dict(v) for i, v in zip(misses, fresh, strict=True)
                             if isinstance(v, Verdict)})
        results: list[Verdict | JudgeError | None] = [None] * len(tasks)
        for i, verdict in zip(misses, fresh, strict=True):
            results[i] = verdict
        for i, key in enumerate(keys):
            if results[i] is None:
                cached = verdict_from_dict(stored[key])
                results[i] = dataclasses.replace(cached, extra={**cached.extra, "cached": True})
        return results  # type: ignore[return-value]

    def judge_pairs(self, tasks: list[PairTask], *, both_orders: bool) -> list[PairResult]:
        if both_orders:
            return judge_both_orders(self, tasks)
        verdicts = self.judge_many(tasks)
        return [PairResult(task=t, forward=v, backward=None, combined=v if isinstance(v, Verdict) else None,
                           consistent=None) for t, v in zip(tasks, verdicts, strict=True)]
