"""Who meets whom: pure pairing rules for tournament schedules (no Django).

Competitors are plain ids; randomness comes in as a ``numpy.random.Generator``. Every function
returns unordered pairs as (first, second) tuples; which side is shown first to a judge does not
matter here because judges see both orders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
from scipy.stats import norm

from arena.ratings import Cells, RatingError, compute_leaderboard
from arena.ratings.bt import RATING_PER_LOGIT
from arena.ratings.tables import expected_score

Pair = tuple[int, int]


def anchor_pairs(competitors: Sequence[int], anchor: int) -> list[Pair]:
    """Everyone against the anchor (Arena-Hard's baseline design): N-1 matches per prompt."""
    return [(c, anchor) for c in competitors if c != anchor]


def round_robin_pairs(competitors: Sequence[int]) -> list[Pair]:
    """Every pair once: N(N-1)/2 matches per prompt."""
    return list(combinations(sorted(set(competitors)), 2))


def groupwise_groups(competitors: Sequence[int], prompt_index: int, group_size: int) -> list[list[int]]:
    """One prompt's competitors in groups of at most ``group_size`` for a listwise judge, each group
    judged in one call (every pair inside it gets evidence).

    The field is split into ``ceil(n / group_size)`` groups of near-equal size (at least two each),
    and each prompt rotates the field ``step`` places further than the one before, with
    ``1 <= step < smallest group``: every group of the next prompt then holds the end of one group
    of this prompt and the start of the following one, so the groups overlap across prompts and the
    comparison graph is connected from the second prompt on.
    """
    field = sorted(set(competitors))
    n = len(field)
    if n < 2:
        return []
    if group_size < 2:
        raise ValueError("a group needs at least two competitors")
    count = -(-n // group_size)
    base, extra = divmod(n, count)
    step = max(1, base // 2)
    shift = (prompt_index * step) % n
    order = field[shift:] + field[:shift]
    groups, start = [], 0
    for index in range(count):
        size = base + (1 if index < extra else 0)
        groups.append(order[start:start + size])
        start += size
    if len(groups[-1]) == 1:
        # Pairs (group_size 2) of an odd field: the one left over meets the first again.
        groups[-1].append(order[0])
    return groups


def bracket_first_round(competitors: Sequence[int], rng: np.random.Generator) -> tuple[list[Pair], list[int]]:
    """Seed a single-elimination bracket at random; with an odd field the last seed gets a bye.

    Returns the pairs and the competitors who advance without playing.
    """
    order = [int(c) for c in rng.permutation(sorted(set(competitors)))]
    return _pair_off(order)


def bracket_next_round(survivors: Sequence[int]) -> tuple[list[Pair], list[int]]:
    """Pair the previous round's winners in bracket order (winner of match 1 meets winner of match 2)."""
    return _pair_off(list(survivors))


def bracket_matches(competitors: int) -> int:
    """Matches in one single-elimination bracket: each knocks one competitor out, until one is left."""
    return max(0, competitors - 1)


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
    uncertainty: Mapping[int, float] | None = None,
) -> list[Pair]:
    """``budget`` pairs chosen for what they can still teach about the *ranking*.

    ``ratings`` and ``uncertainty`` (standard errors, both in rating points) come from the current
    fit. Without a rating for every competitor (no identifiable fit yet) the round is a cold start:
    a random cycle through everyone, so one round connects the comparison graph. After that a pair
    scores its expected shrinkage of the variance of the two ratings' difference, v^2 I / (1 + v I)
    with v the difference's variance and I = p(1-p) the information of one comparison, times the
    chance that the current order of the two is wrong: close pairs with wide, overlapping intervals
    come first, settled pairs last. A few pairs of each round are drawn uniformly instead (every pair
    keeps a chance), and no competitor plays more than its share of a round until all have had theirs,
    so every rating keeps improving. Without ``uncertainty`` the standard errors follow from the
    number of games each competitor has played.
    """
    field = sorted({int(c) for c in competitors})
    if len(field) < 2 or budget <= 0:
        return []
    if any(c not in ratings for c in field):
        return _cold_start(field, counts, budget, rng)
    if uncertainty is None or any(c not in uncertainty for c in field):
        uncertainty = _uncertainty_from_counts(field, counts)
    pairs = round_robin_pairs(field)
    scores = np.array([_ranking_information(pair, ratings, uncertainty) for pair in pairs])
    order = [int(i) for i in np.argsort(-(scores + rng.random(len(pairs)) * 1e-12))]
    explore = -(-budget // EXPLORE_EVERY) if budget >= 4 else 0
    if explore:
        # A few pairs drawn uniformly, so no pair is ever ruled out by a fit that may be wrong.
        picked = [int(i) for i in rng.choice(len(pairs), size=min(explore, len(pairs)), replace=False)]
        order = picked + [i for i in order if i not in set(picked)]
    return _capped_pick(pairs, order, len(field), budget)


EXPLORE_EVERY = 16  # one pair in (up to) this many is drawn at random instead of by score


def _uncertainty_from_counts(field: list[int], counts: Mapping[Pair, int]) -> dict[int, float]:
    """Standard errors when the caller has none: Fisher's 2 / sqrt(games) logits of an even model."""
    games = dict.fromkeys(field, 0)
    for (a, b), n in counts.items():
        for c in (a, b):
            if c in games:
                games[c] += n
    return {c: 2.0 * RATING_PER_LOGIT / np.sqrt(1.0 + n) for c, n in games.items()}


def _cold_start(field: list[int], counts: Mapping[Pair, int], budget: int, rng: np.random.Generator) -> list[Pair]:
    """A random cycle through every competitor (a path for two), then random pairs played least so far."""
    order = [int(c) for c in rng.permutation(field)]
    cycle = [(order[i], order[(i + 1) % len(order)]) for i in range(len(order) if len(order) > 2 else 1)]
    chosen = {(min(a, b), max(a, b)) for a, b in cycle[:budget]}
    rest = [pair for pair in round_robin_pairs(field) if pair not in chosen]
    rng.shuffle(rest)
    rest.sort(key=lambda pair: counts.get(pair, 0) + counts.get((pair[1], pair[0]), 0))
    return sorted(chosen | set(rest[: budget - len(chosen)]))


def _ranking_information(pair: Pair, ratings: Mapping[int, float], uncertainty: Mapping[int, float]) -> float:
    a, b = pair
    gap = (ratings[a] - ratings[b]) / RATING_PER_LOGIT
    variance = (uncertainty[a] ** 2 + uncertainty[b] ** 2) / RATING_PER_LOGIT**2
    if not np.isfinite(variance):
        return 1.0
    p = float(expected_score(ratings[a] - ratings[b]))
    information = p * (1.0 - p)
    shrinkage = variance**2 * information / (1.0 + variance * information)
    misordered = float(norm.sf(abs(gap) / np.sqrt(variance))) if variance > 0 else 0.0
    return shrinkage * misordered


def _capped_pick(pairs: list[Pair], order: list[int], competitors: int, budget: int) -> list[Pair]:
    """Pairs in ``order``, each competitor in at most its share of the round (2 * budget / competitors,
    rounded up) until nothing else is left."""
    cap = -(-2 * budget // competitors)
    plays: dict[int, int] = {}
    chosen: list[int] = []
    for i in order:
        a, b = pairs[i]
        if plays.get(a, 0) < cap and plays.get(b, 0) < cap:
            chosen.append(i)
            plays[a], plays[b] = plays.get(a, 0) + 1, plays.get(b, 0) + 1
            if len(chosen) == budget:
                break
    picked = set(chosen)
    chosen += [i for i in order if i not in picked][: budget - len(chosen)]
    return [pairs[i] for i in sorted(chosen)]


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


ADAPTIVE_PRIOR_TIES = 1.0  # virtual ties per pair that met: ratings are finite as soon as the graph is connected


def adaptive_estimates(cells: Cells) -> tuple[dict[str, float], dict[str, float]]:
    """Ratings and their standard errors (rating points, by model name) for ``adaptive_pairs``.

    A Bradley-Terry fit with a light prior (one virtual tie per pair that met) and Fisher intervals;
    both empty while the fit is not identifiable yet (a disconnected graph), which is the cold start.
    """
    try:
        board = compute_leaderboard(cells, ci="fisher", virtual_ties=ADAPTIVE_PRIOR_TIES)
    except RatingError:
        return {}, {}
    z = 2.0 * float(norm.ppf(0.5 + board.confidence / 2.0))
    ratings = {row.model: float(row.rating) for row in board.rows}
    errors = {row.model: float(row.ci_high - row.ci_low) / z for row in board.rows}
    return ratings, errors


def adaptive_round_matches(competitors: int, configured: int = 0) -> int:
    """Matches per adaptive round: ``configured`` when set, else one per competitor."""
    return configured or competitors
