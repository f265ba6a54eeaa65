"""The leaderboard's shape: row fields, order, reference model, win-rate columns."""

import dataclasses

import numpy as np
import pytest

from arena.ratings import Cells, LeaderboardRow, compute_leaderboard, empirical_win_rates

ROWS = [
    ("a", "b", 1.0, 6, None),
    ("a", "b", 0.0, 2, None),
    ("b", "a", 0.5, 2, None),
    ("a", "c", 1.0, 3, None),
    ("c", "a", 1.0, 1, None),
    ("b", "c", 1.0, 2, None),
    ("c", "b", 1.0, 1, None),
]


def test_leaderboard_rows_have_exactly_the_agreed_fields():
    assert [f.name for f in dataclasses.fields(LeaderboardRow)] == [
        "model",
        "rank",
        "rank_ub",
        "rating",
        "ci_low",
        "ci_high",
        "battles",
        "win_rate_vs_anchor",
        "predicted_win_rate_vs_anchor",
    ]


def test_rows_are_sorted_best_first_with_battle_counts():
    board = compute_leaderboard(Cells.from_rows(ROWS), ci="none")
    assert [row.model for row in board.rows] == ["a", "b", "c"]
    assert [row.rank for row in board.rows] == [1, 2, 3]
    assert {row.model: row.battles for row in board.rows} == {"a": 14, "b": 13, "c": 7}
    assert np.mean([row.rating for row in board.rows]) == pytest.approx(1000.0)
    assert not board.anchor_pinned


def test_without_an_anchor_the_most_played_model_is_the_win_rate_reference():
    board = compute_leaderboard(Cells.from_rows(ROWS), ci="none")
    assert board.anchor == "a"
    reference = board.row("a")
    assert reference.win_rate_vs_anchor is None
    assert reference.predicted_win_rate_vs_anchor == 0.5
    # b against a: 2 wins, 6 losses, 2 ties -> 3 points of 10.
    assert board.row("b").win_rate_vs_anchor == pytest.approx(0.3)
    assert board.row("c").win_rate_vs_anchor == pytest.approx(0.25)


def test_a_named_anchor_is_the_win_rate_reference_and_sits_at_its_rating():
    board = compute_leaderboard(Cells.from_rows(ROWS), ci="none", anchor="c", anchor_rating=1100.0)
    assert board.anchor == "c" and board.anchor_pinned
    assert board.row("c").rating == 1100.0
    gap = board.row("a").rating - 1100.0
    assert board.row("a").predicted_win_rate_vs_anchor == pytest.approx(1 / (1 + 10 ** (-gap / 400)))
    assert board.row("a").win_rate_vs_anchor == pytest.approx(0.75)


def test_empirical_win_rate_is_none_for_models_that_never_met_the_reference():
    rows = [
        ("a", "b", 1.0, 2, None),
        ("b", "a", 1.0, 1, None),
        ("b", "c", 1.0, 1, None),
        ("c", "b", 1.0, 1, None),
    ]
    board = compute_leaderboard(Cells.from_rows(rows), ci="none", anchor="a")
    assert board.row("c").win_rate_vs_anchor is None
    assert np.isnan(empirical_win_rates(Cells.from_rows(rows), 0)[2])


def test_unknown_options_are_rejected():
    cells = Cells.from_rows(ROWS)
    with pytest.raises(ValueError, match="method"):
        compute_leaderboard(cells, method="glicko", ci="none")
    with pytest.raises(ValueError, match="ties"):
        compute_leaderboard(cells, ties="third", ci="none")
    with pytest.raises(ValueError, match="ci"):
        compute_leaderboard(cells, ci="jackknife")
