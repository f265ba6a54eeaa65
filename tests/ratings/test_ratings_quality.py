"""Benchmark quality statistics on hand-computed three-model boards (no database)."""

import math

import numpy as np
import pytest

from arena.ratings import compute_leaderboard
from arena.ratings.quality import Placement, Spread, benchmark_quality, probability_above

INF = float("inf")

# The benchmark: A and B overlap, both lie above C.
BOARD = [Placement("A", 10.0, 20.0), Placement("B", 5.0, 15.0), Placement("C", -10.0, 0.0)]
# The reference separates every pair, in the order A, C, B.
REFERENCE = [Placement("A", 30.0, 40.0), Placement("C", 15.0, 25.0), Placement("B", 0.0, 10.0)]
# Independent ratings: variances 9, 16 and 4.
SPREAD = Spread(("A", "B", "C"), np.array([15.0, 10.0, -5.0]), np.diag([9.0, 16.0, 4.0]))


def phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def test_separability_is_the_share_of_pairs_whose_intervals_do_not_overlap():
    found = benchmark_quality(BOARD, REFERENCE)
    assert (found.models, found.pairs, found.separated_pairs) == (3, 3, 2)
    assert found.separability == pytest.approx(2 / 3)


def test_agreement_with_confidence_scores_same_order_plus_one_opposite_minus_one_unseparated_zero():
    # (A, B): the reference separates, the board cannot: 0. (A, C): both, same order: +1.
    # (B, C): both, opposite orders: -1. Mean over the reference's three separated pairs: 0.
    found = benchmark_quality(BOARD, REFERENCE)
    assert found.reference_pairs_separated == 3
    assert found.agreement_with_confidence == pytest.approx(0.0)


def test_agreement_counts_only_the_pairs_the_reference_separates():
    reference = [Placement("A", 30.0, 40.0), Placement("B", 25.0, 35.0), Placement("C", 0.0, 10.0)]
    # The reference separates (A, C) and (B, C) only; the board separates both in the same order.
    found = benchmark_quality(BOARD, reference)
    assert found.reference_pairs_separated == 2
    assert found.agreement_with_confidence == pytest.approx(1.0)


def test_brier_score_uses_the_normal_approximation_of_each_rating_difference():
    found = benchmark_quality(BOARD, REFERENCE, SPREAD)
    # A - B ~ N(5, 25): P = phi(1), truth 1.  A - C ~ N(20, 13): truth 1.  B - C ~ N(15, 20): truth 0.
    expected = ((phi(1.0) - 1) ** 2 + (phi(20 / math.sqrt(13)) - 1) ** 2 + phi(15 / math.sqrt(20)) ** 2) / 3
    assert found.brier_pairs == 3
    assert found.brier == pytest.approx(expected, abs=1e-9)
    assert found.brier == pytest.approx(0.341458, abs=1e-5)


def test_rank_correlations_compare_the_two_orders():
    # Positions (0, 1, 2) against (0, 2, 1): Spearman 1 - 6 * 2 / (3 * 8) = 0.5; Kendall (2 - 1) / 3.
    found = benchmark_quality(BOARD, REFERENCE)
    assert found.spearman == pytest.approx(0.5)
    assert found.kendall == pytest.approx(1 / 3)


def test_models_missing_from_either_board_are_left_out():
    board = [*BOARD, Placement("D", -50.0, -40.0)]
    reference = [Placement("E", 90.0, 99.0), *REFERENCE]
    found = benchmark_quality(board, reference)
    assert (found.models, found.pairs) == (3, 3)
    assert found.agreement_with_confidence == pytest.approx(0.0)


def test_an_open_interval_separates_a_model_that_never_lost_from_those_below_its_bound():
    board = [Placement("A", 20.0, INF), Placement("B", 0.0, 10.0), Placement("C", -INF, 5.0)]
    found = benchmark_quality(board, board)
    # A above B and C; B and C overlap (C is open below, up to 5).
    assert found.separated_pairs == 2
    assert found.agreement_with_confidence == pytest.approx(1.0)


def test_without_common_pairs_every_statistic_is_none():
    found = benchmark_quality([Placement("A", 0, 1)], [Placement("A", 0, 1), Placement("B", 5, 6)])
    assert (found.pairs, found.separability, found.agreement_with_confidence, found.spearman) == (0, None, None, None)


def test_a_certain_difference_has_probability_one_or_zero():
    assert probability_above(3.0, 0.0) == 1.0
    assert probability_above(-3.0, 0.0) == 0.0
    assert probability_above(0.0, 0.0) == 0.5


def test_a_fitted_board_carries_the_bootstrap_spread_of_its_ratings(simulate):
    rng = np.random.default_rng(4)
    battles = simulate(rng, np.array([1.0, 0.0, -1.0]), 3000, names=("A", "B", "C"))
    board = compute_leaderboard(battles.to_cells(), rounds=300, rng=np.random.default_rng(5))
    mean, variance = board.spread.difference("A", "C")
    # The difference's spread matches the gap of the point ratings and the width of the intervals.
    gap = board.row("A").rating - board.row("C").rating
    assert mean == pytest.approx(gap, rel=0.05)
    assert variance > 0
    placements = [Placement(r.model, r.ci_low, r.ci_high) for r in board.rows]
    found = benchmark_quality(placements, placements, board.spread)
    assert found.agreement_with_confidence == pytest.approx(1.0)
    assert found.brier < 0.01


def test_an_anchor_is_informative_where_the_models_get_different_verdicts_against_it():
    from arena.ratings.quality import anchor_informativeness

    # Prompt 1: x wins, y ties, z loses: all 3 pairs differ. Prompt 2: all three win: none differs.
    scores = {(1, "x"): 1.0, (1, "y"): 0.5, (1, "z"): 0.0, (2, "x"): 1.0, (2, "y"): 0.9, (2, "z"): 1.0}
    assert anchor_informativeness(scores) == (pytest.approx(0.5), 6)
    # The best model as anchor beats everyone everywhere: it tells nobody apart.
    assert anchor_informativeness({(p, m): 0.0 for p in range(3) for m in "xyz"}) == (0.0, 9)
    assert anchor_informativeness({}) == (None, 0)


def test_stop_rules_read_the_intervals_of_a_board():
    from arena.ratings.quality import target_met

    board = [Placement("A", 30, 40), Placement("B", 10, 20), Placement("C", 5, 15), Placement("D", -10, 0)]
    assert target_met(board, "top_k", 1) and not target_met(board, "top_k", 2)  # B and C overlap
    assert target_met(board, "top_k", 3)  # A, B, C all lie above D
    assert not target_met(board, "neighbours")
    assert target_met(board[:2] + board[3:], "neighbours")
    assert target_met(board, "separability", 5 / 6) and not target_met(board, "separability", 0.9)
    with pytest.raises(ValueError, match="unknown stop rule"):
        target_met(board, "tau")
    with pytest.raises(ValueError, match="whole number"):
        target_met(board, "top_k", 1.5)
