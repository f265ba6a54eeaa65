"""Data without one exact fit: disconnected groups, unbeaten and winless models, the virtual-tie prior.

Every expected number here is worked by hand from the Bradley-Terry likelihood: two models with a w:l
record (ties half) sit 400 log10(w / l) rating points apart.
"""

import math

import numpy as np
import pytest

from arena.ratings import Battles, Cells, RatingError, compute_leaderboard, rate_components

THREE_TO_ONE = 400 * math.log10(3)


def record(a: str, b: str, wins: int, losses: int, ties: int = 0) -> list[tuple]:
    rows = [(a, b, 1.0, wins, None), (a, b, 0.0, losses, None), (a, b, 0.5, ties, None)]
    return [row for row in rows if row[3]]


def rows_by_model(board) -> dict:
    return {row.model: row for row in board.rows}


def test_a_disconnected_graph_gives_one_table_per_component_largest_first():
    cells = Cells.from_rows(record("a", "b", 3, 1) + record("c", "d", 2, 2) + record("d", "e", 1, 1))
    board = rate_components(cells, ci="none")
    assert [c.models for c in board.components] == [("c", "d", "e"), ("a", "b")]
    rows = rows_by_model(board)
    assert [rows[m].component for m in "abcde"] == [1, 1, 0, 0, 0]
    # Each component has its own origin: its mean rating sits at 1000.
    assert rows["a"].rating - rows["b"].rating == pytest.approx(THREE_TO_ONE, abs=1e-6)
    assert (rows["a"].rating + rows["b"].rating) / 2 == pytest.approx(1000.0)
    assert rows["c"].rating == pytest.approx(1000.0) and rows["e"].rating == pytest.approx(1000.0)
    assert [rows[m].rank for m in "ab"] == [1, 2]


def test_the_same_data_in_one_fit_is_refused():
    cells = Cells.from_rows(record("a", "b", 3, 1) + record("c", "d", 2, 2))
    with pytest.raises(RatingError, match="disconnected"):
        compute_leaderboard(cells, ci="none")


def test_an_anchor_pins_its_own_component_only():
    cells = Cells.from_rows(record("a", "b", 3, 1) + record("c", "d", 2, 2) + record("d", "e", 1, 1))
    board = rate_components(cells, ci="none", anchor="b")
    rows = rows_by_model(board)
    assert rows["b"].rating == pytest.approx(1000.0)
    assert rows["a"].rating == pytest.approx(1000.0 + THREE_TO_ONE, abs=1e-6)
    assert board.components[1].anchor == "b" and board.components[1].anchor_pinned
    assert not board.components[0].anchor_pinned


def test_an_unbeaten_model_is_listed_above_the_best_model_it_beat_with_its_record():
    # a and b beat each other; c beat both and never lost; d lost to b and never won.
    cells = Cells.from_rows(record("a", "b", 3, 1) + record("c", "a", 2, 0) + record("c", "b", 1, 0)
                            + record("d", "b", 0, 2))
    board = rate_components(cells, ci="none")
    rows = rows_by_model(board)
    assert [row.model for row in board.rows] == ["c", "a", "b", "d"]
    assert board.components[0].rated == ("a", "b")
    unbeaten = rows["c"]
    assert unbeaten.rating is None
    assert unbeaten.ci_low == pytest.approx(rows["a"].rating) and unbeaten.ci_high == math.inf
    assert (unbeaten.wins, unbeaten.losses, unbeaten.ties) == (3, 0, 0)
    winless = rows["d"]
    # d lost only to b, and a beat b: d is below b, the weakest rated model above it.
    assert winless.rating is None and winless.ci_low == -math.inf
    assert winless.ci_high == pytest.approx(rows["b"].rating)
    assert (winless.wins, winless.losses, winless.ties) == (0, 2, 0)
    assert unbeaten.rank_ub == 1 and winless.rank == 4


def test_two_models_with_a_one_sided_record_rate_the_loser_and_bound_the_winner():
    board = rate_components(Cells.from_rows(record("winner", "loser", 4, 0)), ci="none")
    rows = rows_by_model(board)
    assert rows["loser"].rating == pytest.approx(1000.0)
    assert rows["winner"].rating is None
    assert rows["winner"].ci_low == pytest.approx(1000.0) and rows["winner"].ci_high == math.inf
    assert [row.model for row in board.rows] == ["winner", "loser"]


def test_virtual_ties_give_finite_ratings_worked_by_hand():
    # One virtual tie is half a win each way: 4.5 against 0.5, a 9:1 record.
    cells = Cells.from_rows(record("winner", "loser", 4, 0))
    board = rate_components(cells, ci="none", virtual_ties=1.0, anchor="loser")
    rows = rows_by_model(board)
    assert rows["winner"].rating - rows["loser"].rating == pytest.approx(400 * math.log10(9), abs=1e-6)
    # The virtual battles are not battles.
    assert rows["winner"].battles == 4 and (rows["winner"].wins, rows["winner"].ties) == (4, 0)


def test_virtual_ties_shrink_a_finite_gap_towards_zero():
    cells = Cells.from_rows(record("a", "b", 3, 1))
    plain = rows_by_model(rate_components(cells, ci="none"))
    shrunk = rows_by_model(rate_components(cells, ci="none", virtual_ties=2.0))
    # 3 + 1 against 1 + 1: a 2:1 record.
    assert shrunk["a"].rating - shrunk["b"].rating == pytest.approx(400 * math.log10(2), abs=1e-6)
    assert plain["a"].rating - plain["b"].rating == pytest.approx(THREE_TO_ONE, abs=1e-6)


def test_virtual_ties_are_not_resampled_so_bootstrap_intervals_stay_finite():
    cells = Cells.from_rows(record("winner", "loser", 4, 0) + record("loser", "third", 2, 1))
    board = rate_components(cells, virtual_ties=1.0, rounds=200, rng=np.random.default_rng(3))
    for row in board.rows:
        assert math.isfinite(row.ci_low) and math.isfinite(row.ci_high)
        assert row.ci_low < row.rating < row.ci_high


def test_head_to_head_counts_each_side_once():
    board = rate_components(Cells.from_rows(record("b", "a", 1, 3, 2) + record("a", "c", 1, 1)), ci="none")
    pairs = {(p.a, p.b): p for p in board.pairs}
    ab = pairs[("a", "b")]
    assert (ab.battles, ab.a_wins, ab.b_wins, ab.ties) == (6, 3, 1, 2)
    assert pairs[("a", "c")].battles == 2


def test_elo_rates_every_component_in_order():
    battles = Battles.from_battles(["a", "c", "a"], ["b", "d", "b"], [1.0, 0.0, 1.0])
    board = rate_components(battles, method="elo", ci="none")
    assert [c.models for c in board.components] == [("a", "b"), ("d", "c")]
    assert all(row.rating is not None for row in board.rows)


def test_a_lone_unbeaten_model_next_to_a_rated_group_keeps_the_group_rated_with_intervals():
    cells = Cells.from_rows(record("a", "b", 6, 4) + record("b", "c", 5, 5) + record("top", "a", 3, 0))
    board = rate_components(cells, rounds=200, rng=np.random.default_rng(0))
    rows = rows_by_model(board)
    assert rows["top"].rating is None and rows["top"].ci_high == math.inf
    for name in "abc":
        assert rows[name].ci_low < rows[name].rating < rows[name].ci_high
