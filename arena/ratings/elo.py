"""Online Elo, as FastChat's ``compute_online_elo``: one pass over the battles in order.

Elo is order-dependent: the same battles in another order give other ratings (recent battles weigh
more), which is why the leaderboard's default is Bradley-Terry. Its intervals come from the bootstrap
FastChat uses: each round replays N battles drawn with replacement, in random order.
"""

from __future__ import annotations

import math

import numpy as np

from arena.ratings.cells import Battles
from arena.ratings.tables import expected_score

K_FACTOR = 4.0  # FastChat's default for a large, shuffled arena; chess uses 16-32 for fewer games
SCALE = 400.0
BASE = 10.0
INITIAL_RATING = 1000.0


def elo_ratings(
    battles: Battles,
    *,
    k: float = K_FACTOR,
    scale: float = SCALE,
    base: float = BASE,
    initial: float = INITIAL_RATING,
) -> np.ndarray:
    """Ratings after one pass in the given order; a battle's weight multiplies its K."""
    per_logit = scale / math.log(base)
    ratings = [initial] * len(battles.models)
    for a, b, score, weight in zip(
        battles.a.tolist(), battles.b.tolist(), battles.score_a.tolist(), battles.weight.tolist(), strict=True
    ):
        expected = expected_score(ratings[a] - ratings[b], per_logit=per_logit)
        delta = k * weight * (score - expected)
        ratings[a] += delta
        ratings[b] -= delta
    return np.array(ratings)


def elo_bootstrap(
    battles: Battles,
    rounds: int,
    rng: np.random.Generator,
    *,
    k: float = K_FACTOR,
    scale: float = SCALE,
    base: float = BASE,
    initial: float = INITIAL_RATING,
) -> np.ndarray:
    """(rounds, m) ratings, each from a resample of the battles with replacement in random order.

    All rounds advance together one battle at a time, so the cost is one short numpy step per battle.
    """
    n, m = len(battles), len(battles.models)
    per_logit = scale / math.log(base)
    picks = rng.integers(0, n, size=(n, rounds))
    ratings = np.full((rounds, m), initial)
    rows = np.arange(rounds)
    for pick in picks:
        a, b = battles.a[pick], battles.b[pick]
        expected = expected_score(ratings[rows, a] - ratings[rows, b], per_logit=per_logit)
        delta = k * battles.weight[pick] * (battles.score_a[pick] - expected)
        ratings[rows, a] += delta
        ratings[rows, b] -= delta
    return ratings
