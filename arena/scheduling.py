"""Who meets whom: pure pairing rules for tournament schedules (no Django).

Competitors are plain ids; randomness comes in as a ``numpy.random.Generator``. Every function
returns unordered pairs as (first, second) tuples; which side is shown first to a judge does not
matter here because judges see both orders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np

from arena.ratings.tables import expected_score

Pair = tuple[int, int]


def anchor_pairs(competitors: Sequence[int], anchor: int) -> list[Pair]:
    """Everyone against the anchor (Arena-Hard's baseline design): N-1 matches per prompt."""
    return [(c, anchor) for c in competitors if c != anchor]


def round_robin_pairs(competitors: Sequence[int]) -> list[Pair]:
    """Every pair once: N(N-1)/2 matches per prompt."""
    return list(combinations(sorted(set(competitors)), 2))


def bracket_first_round(competitors: Sequence[int], rng: np.random.Generator) -> tuple[list[Pair], list[int]]:
    """Seed a single-elimination bracket at random; with an odd field the last seed gets a bye.

    Returns the pairs and the competitors who advance without playing.
    """
    order = [int(c) for c in rng.permutation(sorted(set(competitors)))]
    return _pair_off(order)


def bracket_next_round(survivors: Sequence[int]) -> tuple[list[Pair], list[int]]:
    """Pair the previous round's winners in bracket order (winner of match 1 meets winner of match 2)."""
    return _pair_off(list(survivors))


def _pair_off(order: list[int]) -> tuple[list[Pair], list[int]]:
    pairs = [(order[i], order[i + 1]) for i in range(0, len(order) - 1, 2)]
    byes = [order[-1]] if len(order) % 2 else []
    return pairs, byes


def adaptive_pairs(
    competitors: Sequence[int],
    ratings: Mapping[int, float],
    counts: Mapping[Pair, int],
    *,
    budget: int,
    rng: np.random.Generator,
) -> list[Pair]:
    """The ``budget`` most informative pairs: close in rating and rarely compared so far.

    Information of a Bradley-Terry comparison is p(1-p), largest for evenly matched models; dividing
    by 1 + the number of earlier comparisons spreads matches over the graph instead of hammering
    one pair (the idea behind Chatbot Arena's active sampling). Ties in score are broken at random.
    """
    pairs = round_robin_pairs(competitors)
    if not pairs or budget <= 0:
        return []
    scores = np.array([_pair_information(pair, ratings, counts) for pair in pairs])
    jitter = rng.random(len(pairs)) * 1e-9
    chosen = np.argsort(-(scores + jitter))[:budget]
    return [pairs[i] for i in sorted(chosen)]


def _pair_information(pair: Pair, ratings: Mapping[int, float], counts: Mapping[Pair, int]) -> float:
    a, b = pair
    p = float(expected_score(ratings.get(a, 1000.0) - ratings.get(b, 1000.0)))
    seen = counts.get(pair, 0) + counts.get((b, a), 0)
    return p * (1.0 - p) / (1.0 + seen)


def bracket_seeded_first_round(ranked: Sequence[int]) -> tuple[list[Pair], list[int]]:
    """Seed a bracket by strength (``ranked``: strongest first): the strongest meets the weakest, the
    second the second weakest, and so on, so that strong models meet each other late (ArenaRL's
    seeding). With an odd field the middle seed gets the bye."""
    order = [int(c) for c in ranked]
    paired: list[int] = []
    low, high = 0, len(order) - 1
    while low < high:
        paired += [order[low], order[high]]
        low, high = low + 1, high - 1
    if low == high:
        paired.append(order[low])
    return _pair_off(paired)
