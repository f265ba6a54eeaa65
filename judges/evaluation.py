"""Meta-evaluation of a judge against human labels: how often it agrees, and how biased it is.

Rows are plain dicts: ``{"prompt", "output_1", "output_2", "label", "reference"?}`` where
``label`` is 1 (output_1 better), 2 (output_2 better) or 0 (tie). ``prompt``, outputs and
reference are strings, or lists of turns for multi-turn conversations. Every pair is judged in
both orders (``judge_both_orders``) and scored on the combined verdict.

Metrics (``None`` when nothing qualifies for the denominator):

- ``accuracy``: combined winner equals the label, over the rows judged (a predicted tie is right
  only against a tie label);
- ``accuracy_no_ties``: the same over rows whose label is not a tie;
- ``position_consistency``: share of rows where both orders named the same winner;
- ``slot_a_rate``: share of decisive single-order verdicts picking the first-shown slot (0.5 is
  unbiased);
- ``tie_rate``: share of combined verdicts that are ties;
- ``longer_output_win_rate``: share of decisive combined verdicts, among pairs of unequal length
  (characters), won by the longer output (verbosity bias);
- ``cohen_kappa``: agreement with the labels beyond chance, over the three classes;
- ``n`` rows, ``errors`` rows without a combined verdict, ``seconds`` of wall time.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from judges.base import Judge, PairTask, Rubric, Winner
from judges.both_orders import PairResult, judge_both_orders
from judges.prompts import DEFAULT_RUBRIC

LABEL_WINNERS: dict[int, Winner] = {1: "a", 2: "b", 0: "tie"}


def _turns(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def task_from_row(row: Mapping[str, Any], rubric: Rubric, key: str = "") -> PairTask:
    reference = row.get("reference")
    return PairTask(
        prompt_turns=_turns(row["prompt"]),
        output_a_turns=_turns(row["output_1"]),
        output_b_turns=_turns(row["output_2"]),
        rubric=rubric,
        reference_turns=_turns(reference) if reference else None,
        key=key,
    )


def _ratio(hits: int, total: int) -> float | None:
    return hits / total if total else None


def cohen_kappa(predicted: Sequence[str], actual: Sequence[str]) -> float | None:
    """Cohen's kappa of two label sequences; ``None`` when empty, 1.0 when chance agreement is total
    and observed agreement matches it (both raters constant and equal)."""
    n = len(predicted)
    if n == 0:
        return None
    observed = sum(p == a for p, a in zip(predicted, actual, strict=True)) / n
    counts_p, counts_a = Counter(predicted), Counter(actual)
    expected = sum(counts_p[c] * counts_a[c] for c in set(counts_p) | set(counts_a)) / (n * n)
    if expected == 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - expected) / (1.0 - expected)


def _longer(row: Mapping[str, Any]) -> Winner:
    len_1 = sum(len(t) for t in _turns(row["output_1"]))
    len_2 = sum(len(t) for t in _turns(row["output_2"]))
    return "a" if len_1 > len_2 else "b" if len_2 > len_1 else "tie"


def metrics(rows: Sequence[Mapping[str, Any]], results: Sequence[PairResult]) -> dict[str, Any]:
    """The metrics of already-judged rows (``results`` aligned with ``rows``)."""
    judged = [(row, r) for row, r in zip(rows, results, strict=True) if r.combined is not None]
    predicted = [r.combined.winner for _, r in judged]  # type: ignore[union-attr]
    actual = [LABEL_WINNERS[int(row["label"])] for row, _ in judged]
    decided = [(p, a) for p, a in zip(predicted, actual, strict=True) if a != "tie"]
    singles = [
        v.winner for r in results for v in (r.forward, r.backward) if not isinstance(v, Exception) and v.winner != "tie"
    ]
    by_length = [(p, _longer(row)) for (row, _), p in zip(judged, predicted, strict=True)]
    by_length = [(p, longer) for p, longer in by_length if p != "tie" and longer != "tie"]
    return {
        "n": len(rows),
        "errors": len(rows) - len(judged),
        "accuracy": _ratio(sum(p == a for p, a in zip(predicted, actual, strict=True)), len(judged)),
        "accuracy_no_ties": _ratio(sum(p == a for p, a in decided), len(decided)),
        "position_consistency": _ratio(sum(bool(r.consistent) for _, r in judged), len(judged)),
        "slot_a_rate": _ratio(singles.count("a"), len(singles)),
        "tie_rate": _ratio(predicted.count("tie"), len(predicted)),
        "longer_output_win_rate": _ratio(sum(p == longer for p, longer in by_length), len(by_length)),
        "cohen_kappa": cohen_kappa(predicted, actual),
    }


def evaluate_judge(
    judge: Judge,
    rows: Sequence[Mapping[str, Any]],
    *,
    rubric: Rubric | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Judge every row in both orders (one batch) and return the metrics as a plain dict.

    ``rubric`` defaults to the judge's own (``judge.rubric``) or ``DEFAULT_RUBRIC``.
    """
    for row in rows:
        if int(row["label"]) not in LABEL_WINNERS:
            raise ValueError(f"label must be 1, 2 or 0 (tie), got {row['label']!r}")
    rubric = rubric or getattr(judge, "rubric", None) or DEFAULT_RUBRIC
    started = clock()
    tasks = [task_from_row(row, rubric, key=str(i)) for i, row in enumerate(rows)]
    results = judge_both_orders(judge, tasks)
    report = metrics(rows, results)
    report["seconds"] = clock() - started
    return report
