"""WildBench's length rule: a weak win by an answer more than K characters longer counts as a tie.

WildBench (Lin et al. 2024) asks for a graded verdict and turns "slightly better" into a tie when the
winner's answer is more than K characters longer (K = 500 there), to take the judge's taste for length
out of close calls. Here "slightly better" is the graded labels ``A>B`` / ``B>A`` of the ``generate``
protocol; a verdict without such a label (a probability, a strong win, a tie) is left as it is. The
rule applies to each presentation order's verdict, before the two orders are combined.
"""

from __future__ import annotations

from dataclasses import replace

from judges.base import PairTask, Verdict

WILDBENCH_CHARS = 500
WEAK_WINS = {"A>B": "a", "B>A": "b"}


def length_gap(task: PairTask, winner: str) -> int:
    """How many characters longer the winner's answer is than the loser's (negative: shorter)."""
    a, b = len("\n\n".join(task.output_a_turns)), len("\n\n".join(task.output_b_turns))
    return a - b if winner == "a" else b - a


def apply_length_rule(task: PairTask, verdict: Verdict, chars: int) -> Verdict:
    side = WEAK_WINS.get(verdict.label or "")
    if side is None or verdict.winner != side:
        return verdict
    gap = length_gap(task, side)
    if gap <= chars:
        return verdict
    note = f"{verdict.label} counted as a tie: the winner's answer is {gap} characters longer (rule: {chars})"
    return replace(verdict, winner="tie", label="A=B", prob_a=None if verdict.prob_a is None else 0.5,
                   extra={**verdict.extra, "length_rule": note})


def weak_win_is_tie(value: float, winner_longer_by: int, chars: int = WILDBENCH_CHARS) -> float:
    """The rule on a plain outcome already known to be a weak win (1 or 0 for the first answer)."""
    return 0.5 if value != 0.5 and winner_longer_by > chars else value
