"""Judge every pair in both presentation orders and combine the two judgments into one.

LLM judges favour a slot (usually the first); asking twice with the outputs swapped and combining
cancels that bias and measures it. Combination, in the stored pair's order (a = stored first):

- with probabilities on both sides: ``prob_a`` is the mean of the forward probability and the
  un-swapped backward one (``1 - backward.prob_a``); the winner follows from it (``tie_margin``);
- with hard labels only: agreement keeps the winner (and the milder graded label of the two);
  disagreement becomes a tie, and is recorded as inconsistent.

``consistent`` says whether both orders named the same winner. When either order failed there is
no combined verdict (a single order is exactly what this module exists to avoid); the errors are
kept so the caller can retry the retryable ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from judges.base import CriterionResult, Judge, JudgeError, PairTask, Verdict, Winner
from judges.parsing import LABEL_SCORES, flip_label, label_for_winner, winner_from_prob

_FLIP_WINNER: dict[Winner, Winner] = {"a": "b", "b": "a", "tie": "tie"}


@dataclass(frozen=True)
class PairResult:
    """Both raw judgments (each in its own presentation order) and their combination."""

    task: PairTask
    forward: Verdict | JudgeError
    backward: Verdict | JudgeError
    combined: Verdict | None
    consistent: bool | None

    @property
    def errors(self) -> list[JudgeError]:
        return [v for v in (self.forward, self.backward) if isinstance(v, JudgeError)]

    @property
    def retryable(self) -> bool:
        """True when every failure in this pair is worth retrying (False when none failed)."""
        errors = self.errors
        return bool(errors) and all(e.retryable for e in errors)


def judge_both_orders(judge: Judge, tasks: Sequence[PairTask], *, tie_margin: float | None = None) -> list[PairResult]:
    """All 2N tasks in one ``judge_many`` call, so a backend can batch them and share prefixes.

    ``tasks`` are in stored order. ``tie_margin`` defaults to the judge's own option.
    """
    if tie_margin is None:
        options = getattr(judge, "options", None)
        tie_margin = getattr(options, "tie_margin", 0.0)
    forward = [task if task.order == "ab" else task.swapped() for task in tasks]
    verdicts = judge.judge_many(forward + [task.swapped() for task in forward])
    n = len(forward)
    return [combine(task, verdicts[i], verdicts[n + i], tie_margin) for i, task in enumerate(forward)]


def unswap(verdict: Verdict) -> Verdict:
    """A backward-order verdict expressed in the stored order."""
    return replace(
        verdict,
        winner=_FLIP_WINNER[verdict.winner],
        prob_a=None if verdict.prob_a is None else 1.0 - verdict.prob_a,
        label=flip_label(verdict.label),
        criteria=tuple(_unswap_criterion(c) for c in verdict.criteria),
    )


def _unswap_criterion(result: CriterionResult) -> CriterionResult:
    return replace(
        result,
        winner=_FLIP_WINNER[result.winner],
        prob_a=None if result.prob_a is None else 1.0 - result.prob_a,
        label=flip_label(result.label),
    )


def combine(
    task: PairTask, forward: Verdict | JudgeError, backward: Verdict | JudgeError, tie_margin: float
) -> PairResult:
    if isinstance(forward, JudgeError) or isinstance(backward, JudgeError):
        return PairResult(task, forward, backward, combined=None, consistent=None)
    back = unswap(backward)
    winner, prob_a, label = _decide(
        forward.winner, back.winner, forward.prob_a, back.prob_a, forward.label, back.label, tie_margin
    )
    criteria = tuple(
        _combine_criterion(f, b, tie_margin) for f, b in zip(forward.criteria, back.criteria, strict=False)
    )
    combined = Verdict(
        winner=winner,
        prob_a=prob_a,
        label=label,
        criteria=criteria,
        rationale=forward.rationale,
        prompt_tokens=forward.prompt_tokens + back.prompt_tokens,
        completion_tokens=forward.completion_tokens + back.completion_tokens,
        latency_s=forward.latency_s + back.latency_s,
        truncated=forward.truncated or back.truncated,
        cost_usd=forward.cost_usd + back.cost_usd,
        extra={"orders": 2},
    )
    return PairResult(task, forward, backward, combined, consistent=forward.winner == back.winner)


def _decide(
    winner_f: Winner,
    winner_b: Winner,
    prob_f: float | None,
    prob_b: float | None,
    label_f: str | None,
    label_b: str | None,
    tie_margin: float,
) -> tuple[Winner, float | None, str | None]:
    if prob_f is not None and prob_b is not None:
        prob_a = (prob_f + prob_b) / 2
        winner = winner_from_prob(prob_a, tie_margin)
        return winner, prob_a, label_for_winner(winner)
    if winner_f != winner_b:
        return "tie", None, "A=B"
    return winner_f, None, _milder(label_f, label_b) or label_for_winner(winner_f)


def _milder(first: str | None, second: str | None) -> str | None:
    """Of two graded labels naming the same winner, the less emphatic one."""
    if first in LABEL_SCORES and second in LABEL_SCORES:
        return min(first, second, key=lambda label: abs(LABEL_SCORES[label]))  # type: ignore[index]
    return first or second


def _combine_criterion(forward: CriterionResult, back: CriterionResult, tie_margin: float) -> CriterionResult:
    winner, prob_a, label = _decide(
        forward.winner, back.winner, forward.prob_a, back.prob_a, forward.label, back.label, tie_margin
    )
    return CriterionResult(forward.name, winner, prob_a, forward.weight, label)
