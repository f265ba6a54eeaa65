"""Online Elo: hand case, order dependence, leaderboard path."""

import numpy as np
import pytest

from arena.ratings import Battles, compute_leaderboard, elo_ratings


def test_elo_moves_both_models_by_k_times_surprise():
    battles = Battles.from_battles(["a", "b"], ["b", "a"], [1.0, 1.0])
    ratings = elo_ratings(battles, k=4.0)
    # First battle: expected 0.5, so a +2 and b -2. Second: b, now 4 points behind, expects
    # 1 / (1 + 10**(4/400)) and gains 4 * (1 - that).
    gain = 4.0 * (1.0 - 1.0 / (1.0 + 10 ** (4.0 / 400.0)))
    assert ratings.tolist() == pytest.approx([1002.0 - gain, 998.0 + gain])


def test_elo_depends_on_battle_order_unlike_bradley_terry():
    forward = Battles.from_battles(["a", "b"], ["b", "a"], [1.0, 1.0])
    backward = Battles.from_battles(["b", "a"], ["a", "b"], [1.0, 1.0])
    assert elo_ratings(forward)[0] < 1000.0 < elo_ratings(backward)[0]
    bt_forward = compute_leaderboard(forward, ci="none").row("a").rating
    assert bt_forward == pytest.approx(compute_leaderboard(backward, ci="none").row("a").rating)


def test_a_battle_weight_multiplies_k():
    heavy = Battles.from_battles(["a"], ["b"], [1.0], [3.0])
    assert elo_ratings(heavy, k=4.0).tolist() == pytest.approx([1006.0, 994.0])


def test_elo_leaderboard_ranks_and_bootstraps_over_resampled_orders(simulate):
    rng = np.random.default_rng(41)
    battles = simulate(rng, np.array([1.0, 0.0, -1.0]), 600)
    board = compute_leaderboard(battles, method="elo", elo_k=16.0, rounds=200, rng=rng, anchor="model-01")
    assert board.method == "elo"
    assert [row.model for row in board.rows] == ["model-00", "model-01", "model-02"]
    assert board.row("model-01").rating == 1000.0
    assert all(row.ci_low <= row.ci_high for row in board.rows)
    assert board.row("model-00").ci_low > board.row("model-02").ci_high


def test_elo_needs_battles_in_order(simulate):
    battles = simulate(np.random.default_rng(42), np.zeros(3), 30)
    with pytest.raises(ValueError, match="Battles"):
        compute_leaderboard(battles.to_cells(), method="elo", ci="none")
    with pytest.raises(ValueError, match="Elo supports"):
        compute_leaderboard(battles, method="elo", ci="sandwich")
