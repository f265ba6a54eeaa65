"""Pair-specific criteria (Open Rubric System): parsing the criteria a judge wrote, and aggregating
the per-criterion verdicts in code, never by the model.

The judge writes 3-8 criteria for one pair, one line each, ``[type] criterion``, the type one of
``fatal`` / ``core`` / ``important`` / ``highlight``. What it wrote is untrusted text: it is only
ever shown back to a model as a criterion to judge, and to people (escaped); nothing in it is run.
Parsing is bounded (lines read, criteria kept, characters per criterion): a line with an unknown
type or an over-long text is a rejected criterion, kept with its reason, not a crash.

Aggregation, in the stored pair's order (a = stored first). Each criterion is judged in both
presentation orders; it has a winner only when both orders name the same one (else it is a tie):

- a **fatal** criterion with a winner decides the match alone (fatal criteria won by both sides: a tie);
- else the weighted mean of the other criteria's scores (a = +1, tie = 0, b = -1), weights
  core 5, important 2, highlight 1, gives ``prob_a = (mean + 1) / 2`` and the winner by its sign
  (within the tie margin of 0.5: a tie). Fatal criteria without a winner carry no weight: they are
  guardrails, not preferences.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from judges.base import JudgeError, Winner
from judges.parsing import winner_from_prob

WEIGHTS: dict[str, float] = {"core": 5.0, "important": 2.0, "highlight": 1.0}
TYPES = ("fatal", *WEIGHTS)
MIN_CRITERIA, MAX_CRITERIA = 3, 8
MAX_CRITERION_CHARS = 300
MAX_LINES_READ = 40  # a judge that rambles: only the start of its answer is read
_SCORES: dict[str, int] = {"a": 1, "tie": 0, "b": -1}
# "[core] text", optionally after a list marker ("1.", "-", "*"); the type may be any short word,
# so an unknown type is seen (and rejected by name) rather than silently skipped.
_LINE_RE = re.compile(r"^\s*(?:[-*]|\d{1,2}[.)])?\s*\[\s*([^\]\n]{1,40}?)\s*\]\s*[:\-]?\s*(.*?)\s*$")


@dataclass(frozen=True)
class PairCriterion:
    kind: str
    text: str

    @property
    def weight(self) -> float:
        """0 for fatal criteria: they veto, they do not weigh."""
        return WEIGHTS.get(self.kind, 0.0)


@dataclass(frozen=True)
class ParsedCriteria:
    accepted: tuple[PairCriterion, ...]
    rejected: tuple[tuple[str, str], ...]  # (the line, shortened; why it was rejected)


def parse_pair_criteria(text: str, *, copied: Sequence[str] = ()) -> ParsedCriteria:
    """The criteria in a judge's answer; ``JudgeError`` (retryable: an unparsable output) when fewer
    than ``MIN_CRITERIA`` usable ones are found. Lines without a ``[type]`` are the judge's prose.
    ``copied``: criteria texts the judge was shown as an example; a small model repeats them word for
    word, and they are about another question, so they are rejected."""
    accepted: list[PairCriterion] = []
    rejected: list[tuple[str, str]] = []
    for line in text.splitlines()[:MAX_LINES_READ]:
        found = _LINE_RE.match(line)
        if not found:
            continue
        kind, body = found.group(1).strip().lower(), found.group(2)
        problem = "copied from the worked example" if body in copied else _problem(kind, body, accepted)
        if problem:
            rejected.append((line.strip()[:120], problem))
        else:
            accepted.append(PairCriterion(kind, body))
    if len(accepted) < MIN_CRITERIA:
        raise JudgeError(
            f"the judge wrote {len(accepted)} usable criteria, at least {MIN_CRITERIA} needed"
            + (f" (rejected: {'; '.join(reason for _, reason in rejected[:3])})" if rejected else ""),
            retryable=True, public=f"unparsable criteria: {len(accepted)} usable of the {MIN_CRITERIA} needed",
        )
    return ParsedCriteria(tuple(accepted), tuple(rejected))


def _problem(kind: str, body: str, accepted: Sequence[PairCriterion]) -> str:
    if kind not in TYPES:
        return f"unknown type {kind[:20]!r} (known: {', '.join(TYPES)})"
    if not body:
        return "no text"
    if len(body) > MAX_CRITERION_CHARS:
        return f"longer than {MAX_CRITERION_CHARS} characters"
    if any(c.text.casefold() == body.casefold() for c in accepted):
        return "a repeat"
    if len(accepted) >= MAX_CRITERIA:
        return f"over the limit of {MAX_CRITERIA} criteria"
    return ""


def both_orders_winner(forward: Winner, backward: Winner) -> Winner:
    """A criterion's winner (stored order) from its two judgments, the backward one already
    expressed in the stored order: only an agreement is a win."""
    return forward if forward == backward else "tie"


@dataclass(frozen=True)
class Aggregate:
    winner: Winner
    prob_a: float
    decided_by: str  # "fatal", "fatal on both sides", "weighted mean", "no criterion decided"


def aggregate(outcomes: Sequence[tuple[PairCriterion, Winner]], *, tie_margin: float = 0.0) -> Aggregate:
    """The pair's verdict from each criterion's both-orders winner (see the module docstring)."""
    fatal = {winner for criterion, winner in outcomes if criterion.kind == "fatal" and winner != "tie"}
    if len(fatal) == 1:
        winner = fatal.pop()
        return Aggregate(winner, 1.0 if winner == "a" else 0.0, "fatal")
    if fatal:
        return Aggregate("tie", 0.5, "fatal on both sides")
    weighed = [(criterion.weight, _SCORES[winner]) for criterion, winner in outcomes if criterion.weight > 0]
    total = sum(weight for weight, _ in weighed)
    if not total:
        return Aggregate("tie", 0.5, "no criterion decided")
    mean = sum(weight * score for weight, score in weighed) / total
    prob_a = (mean + 1.0) / 2.0
    return Aggregate(winner_from_prob(prob_a, tie_margin), prob_a, "weighted mean")
