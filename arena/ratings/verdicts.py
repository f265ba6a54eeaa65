"""What a verdict or a vote counts in a battle: the one table of scores, and strong verdicts' weight.

No numpy here: settings reads STRONG_VERDICT_WEIGHT, and the settings module must stay cheap to import.
"""

from __future__ import annotations

from collections.abc import Mapping

# Arena-Hard-Auto (lmarena/arena-hard-auto, show_result.py) repeats a strong verdict "A>>B" WEIGHT = 3
# times in the battle table, so a strong win counts as three wins. We keep one battle with weight 3
# instead: the fit is the same, and bootstrap then resamples the verdict once, not as three battles.
STRONG_VERDICT_WEIGHT = 3.0
STRONG_LABELS = frozenset({"A>>B", "B>>A"})

# A battle's outcome from model_a's side, by winner: the one definition of "a win is 1, a tie 1/2".
WINNER_SCORES: Mapping[str, float] = {"a": 1.0, "b": 0.0, "tie": 0.5}
# A human vote's winner adds Chatbot Arena's "tie (bothbad)", which rates like a tie.
VOTE_SCORES: Mapping[str, float] = {**WINNER_SCORES, "tie (bothbad)": WINNER_SCORES["tie"]}

# Graded verdict label -> (score_a, weight), in Arena-Hard's label format.
VERDICT_OUTCOMES: Mapping[str, tuple[float, float]] = {
    label: (WINNER_SCORES[winner], STRONG_VERDICT_WEIGHT if label in STRONG_LABELS else 1.0)
    for label, winner in {"A>>B": "a", "A>B": "a", "A=B": "tie", "B>A": "b", "B>>A": "b"}.items()
}


def verdict_outcome(*, winner: str, prob_a: float | None = None, label: str | None = None,
                    strong_weight: float = STRONG_VERDICT_WEIGHT) -> tuple[float, float]:
    """(score_a, weight) of one judge verdict: its probability when it gave one, else its winner's
    score; a strong graded label ("A>>B") weighs ``strong_weight``."""
    score = prob_a if prob_a is not None else WINNER_SCORES[winner]
    return score, strong_weight if label in STRONG_LABELS else 1.0
