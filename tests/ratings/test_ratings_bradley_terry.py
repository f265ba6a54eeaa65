"""Bradley-Terry point fits: hand cases, invariances, ties, soft outcomes, weights, errors."""

import math

import numpy as np
import pytest

from arena.ratings import (
    Battles,
    Cells,
    RatingError,
    compute_leaderboard,
    expected_score,
    predicted_win_matrix,
)


def _ratings(cells: Cells | Battles, **options) -> dict[str, float]:
    board = compute_leaderboard(cells, ci="none", **options)
    return {row.model: row.rating for row in board.rows}


def test_three_wins_to_one_put_models_400_log10_3_apart_around_1000():
    ratings = _ratings(Cells.from_battles(["a", "a", "a", "b"], ["b", "b", "b", "a"], [1, 1, 1, 1]))
    assert ratings["a"] - ratings["b"] == pytest.approx(400 * math.log10(3), abs=1e-7)
    assert (ratings["a"] + ratings["b"]) / 2 == pytest.approx(1000.0, abs=1e-9)


def test_an_anchor_is_pinned_at_its_rating_and_gaps_do_not_move():
    cells = Cells.from_battles(
        ["a", "a", "a", "b", "b", "c"], ["b", "b", "c", "c", "a", "a"], [1, 1, 1, 1, 1, 0.5]
    )
    free = _ratings(cells)
    pinned = _ratings(cells, anchor="b", anchor_rating=1200.0)
    assert pinned["b"] == 1200.0
    assert pinned["a"] - pinned["c"] == pytest.approx(free["a"] - free["c"], abs=1e-9)


def test_an_unknown_anchor_is_an_error_naming_it():
    cells = Cells.from_battles(["a", "b"], ["b", "a"], [1, 1])
    with pytest.raises(RatingError, match="gpt-9"):
        compute_leaderboard(cells, anchor="gpt-9", ci="none")


def test_bradley_terry_ignores_battle_order(simulate):
    rng = np.random.default_rng(3)
    battles = simulate(rng, rng.normal(size=6), 600, tie_share=0.2)
    order = rng.permutation(len(battles))
    shuffled = Battles(
        battles.models, battles.a[order], battles.b[order], battles.score_a[order], battles.weight[order]
    )
    original, reordered = _ratings(battles), _ratings(shuffled)
    assert all(original[name] == pytest.approx(reordered[name], abs=1e-9) for name in battles.models)


def test_swapping_sides_together_with_the_outcome_changes_nothing(simulate):
    rng = np.random.default_rng(4)
    battles = simulate(rng, rng.normal(size=5), 500, tie_share=0.3)
    swap = rng.random(len(battles)) < 0.5
    swapped = Battles(
        battles.models,
        np.where(swap, battles.b, battles.a),
        np.where(swap, battles.a, battles.b),
        np.where(swap, 1.0 - battles.score_a, battles.score_a),
        battles.weight,
    )
    original, mirrored = _ratings(battles), _ratings(swapped)
    assert all(original[name] == pytest.approx(mirrored[name], abs=1e-9) for name in battles.models)


def test_a_tie_counts_as_half_a_win_by_default():
    # a: 2 wins + 2 ties of 5 -> 3 points to 2, a gap of 400 log10(3/2).
    cells = Cells.from_battles(["a", "a", "b", "a", "b"], ["b", "b", "a", "b", "a"], [1, 1, 1, 0.5, 0.5])
    ratings = _ratings(cells)
    assert ratings["a"] - ratings["b"] == pytest.approx(400 * math.log10(1.5), abs=1e-7)


def test_davidson_ties_fit_the_closed_form_for_two_models():
    # Two models: pi_a / pi_b = wins_a / wins_b and nu = ties / sqrt(wins_a wins_b).
    a, b = ["a", "a", "b", "a", "b", "a"], ["b", "b", "a", "b", "a", "b"]
    cells = Cells.from_battles(a, b, [1, 1, 1, 0.5, 0.5, 0.5])
    board = compute_leaderboard(cells, ties="davidson", ci="none", anchor="b")
    assert board.row("a").rating - board.row("b").rating == pytest.approx(400 * math.log10(2), abs=1e-7)
    assert board.tie_parameter == pytest.approx(3 / math.sqrt(2), rel=1e-9)
    # Expected score counts ties as half: (2 + 3/2) / 6 of the points, exactly what was observed.
    assert board.row("a").predicted_win_rate_vs_anchor == pytest.approx(3.5 / 6, abs=1e-9)


def test_davidson_without_any_tie_is_plain_bradley_terry():
    cells = Cells.from_battles(
        ["a", "a", "b", "c", "c", "a"], ["b", "c", "c", "a", "b", "b"], [1, 0, 1, 0, 1, 0]
    )
    assert _ratings(cells, ties="davidson") == pytest.approx(_ratings(cells))


def test_davidson_with_only_ties_is_an_error():
    with pytest.raises(RatingError, match="every battle is a tie"):
        compute_leaderboard(
            Cells.from_battles(["a", "b"], ["b", "a"], [0.5, 0.5]), ties="davidson", ci="none"
        )


def test_soft_outcomes_fit_their_mean_probability():
    # Each battle says "a is better with probability 0.8": the fit gives P(a beats b) = 0.8.
    ratings = _ratings(Cells.from_battles(["a"] * 5, ["b"] * 5, [0.8] * 5))
    assert ratings["a"] - ratings["b"] == pytest.approx(400 * math.log10(4), abs=1e-7)


def test_weights_count_a_battle_as_several():
    weighted = _ratings(Cells.from_battles(["a", "b"], ["b", "a"], [1, 1], [3.0, 1.0]))
    assert weighted["a"] - weighted["b"] == pytest.approx(400 * math.log10(3), abs=1e-7)


def test_scaling_every_weight_leaves_the_ratings_alone(simulate):
    rng = np.random.default_rng(5)
    battles = simulate(rng, rng.normal(size=4), 300, tie_share=0.1)
    heavier = Battles(battles.models, battles.a, battles.b, battles.score_a, battles.weight * 7.5)
    assert _ratings(heavier) == pytest.approx(_ratings(battles), abs=1e-9)


def test_predicted_win_rates_follow_the_logistic_curve():
    matrix = predicted_win_matrix(np.array([1400.0, 1000.0, 1000.0]))
    assert matrix[0, 1] == pytest.approx(1 / (1 + 10 ** (-1)))
    assert np.allclose(matrix + matrix.T, 1.0)
    assert np.allclose(np.diag(matrix), 0.5)
    assert expected_score(0.0, tie_parameter=2.0) == pytest.approx(0.5)


def test_a_disconnected_comparison_graph_is_an_error_naming_the_components():
    cells = Cells.from_battles(["a", "b", "c", "d"], ["b", "a", "d", "c"], [1, 1, 1, 1])
    with pytest.raises(RatingError, match=r"disconnected into 2 components.*\{a, b\}; \{c, d\}"):
        compute_leaderboard(cells, ci="none")


def test_a_model_that_never_won_is_an_error_naming_it():
    a, b = ["a", "b", "c", "a", "loser", "loser"], ["b", "a", "a", "c", "a", "c"]
    cells = Cells.from_battles(a, b, [1, 1, 1, 1, 0, 0])
    with pytest.raises(RatingError, match="never won a battle .*: loser$"):
        compute_leaderboard(cells, ci="none")


def test_a_model_that_never_lost_is_an_error_naming_it():
    cells = Cells.from_battles(["a", "b", "champ", "champ"], ["b", "a", "a", "b"], [1, 1, 1, 1])
    with pytest.raises(RatingError, match="never lost a battle .*: champ"):
        compute_leaderboard(cells, ci="none")


def test_a_group_that_never_lost_to_the_rest_is_an_error_naming_the_groups():
    # a and b beat each other and always beat c and d, who beat each other: no finite gap.
    a = ["a", "b", "c", "d", "a", "b"]
    b = ["b", "a", "d", "c", "c", "d"]
    with pytest.raises(RatingError, match=r"groups .*\{a, b\}; \{c, d\}"):
        compute_leaderboard(Cells.from_battles(a, b, [1] * 6), ci="none")


def test_a_single_model_cannot_be_rated():
    with pytest.raises(RatingError, match="at least two models"):
        compute_leaderboard(Cells.from_rows([], models=("solo",)), ci="none")
