"""Cells and battles: aggregation, SQL rows, sources, verdict weights."""

from decimal import Decimal

import numpy as np
import pytest

from arena.ratings import (
    STRONG_VERDICT_WEIGHT,
    VERDICT_OUTCOMES,
    Battles,
    Cells,
    RatingError,
    combine_sources,
    compute_leaderboard,
)


def _as_dict(cells: Cells) -> dict[tuple[str, str, float], tuple[int, float]]:
    return {
        (cells.models[a], cells.models[b], float(s)): (int(n), float(w))
        for a, b, s, n, w in zip(cells.a, cells.b, cells.score_a, cells.count, cells.weight, strict=True)
    }


def test_cells_from_battles_group_by_pair_and_score():
    cells = Cells.from_battles(
        ["x", "x", "y", "x", "x"], ["y", "y", "x", "y", "y"], [1, 1, 1, 0.5, 1], [1, 2, 1, 1, 1]
    )
    assert cells.models == ("x", "y")
    assert _as_dict(cells) == {
        ("x", "y", 1.0): (3, 4.0),
        ("x", "y", 0.5): (1, 1.0),
        ("y", "x", 1.0): (1, 1.0),
    }


def test_cells_from_battles_take_soft_scores_and_integer_columns():
    cells = Cells.from_battles(np.array([0, 0, 1]), np.array([1, 1, 0]), [0.7, 0.7, 0.2], models=("p", "q"))
    assert _as_dict(cells) == {("p", "q", 0.7): (2, 2.0), ("q", "p", 0.2): (1, 1.0)}


def test_cells_from_rows_read_group_by_results_with_null_weights():
    rows = [("b", "a", Decimal("1.0"), 3, None), ("a", "b", 0.5, 2, 5.0)]
    cells = Cells.from_rows(rows)
    assert cells.models == ("a", "b")
    assert _as_dict(cells) == {("b", "a", 1.0): (3, 3.0), ("a", "b", 0.5): (2, 5.0)}
    assert cells.battles_per_model().tolist() == [5, 5]


def test_battles_aggregate_to_the_same_cells_as_cells_from_battles():
    battles = Battles.from_battles(["a", "b", "a"], ["b", "a", "b"], [1.0, 0.0, 1.0])
    assert _as_dict(battles.to_cells()) == _as_dict(
        Cells.from_battles(["a", "b", "a"], ["b", "a", "b"], [1, 0, 1])
    )


@pytest.mark.parametrize(
    ("score", "message"),
    [([1.5], "score_a"), ([float("nan")], "finite")],
)
def test_cells_reject_scores_outside_zero_one(score, message):
    with pytest.raises(ValueError, match=message):
        Cells.from_battles(["a"], ["b"], score)


def test_a_model_battling_itself_is_an_error_naming_it():
    with pytest.raises(RatingError, match="selfie"):
        Cells.from_battles(["selfie"], ["selfie"], [1.0])


def test_combine_sources_scales_each_sources_weights():
    judge = Cells.from_battles(["a", "b"], ["b", "c"], [1, 1])
    human = Cells.from_battles(["c"], ["a"], [1])
    combined = combine_sources({"judge": judge, "human": human}, {"human": 2.5})
    assert combined.models == ("a", "b", "c")
    assert _as_dict(combined) == {
        ("a", "b", 1.0): (1, 1.0),
        ("b", "c", 1.0): (1, 1.0),
        ("c", "a", 1.0): (1, 2.5),
    }


def test_a_source_with_weight_zero_is_left_out_entirely():
    judge = Cells.from_battles(["a"], ["b"], [1])
    imported = Cells.from_battles(["a"], ["z"], [1])
    combined = combine_sources({"judge": judge, "imported": imported}, {"imported": 0.0})
    assert combined.models == ("a", "b")


def test_combined_sources_fit_like_one_weighted_battle_table():
    judge_a, judge_b, judge_s = ["a", "a", "b", "c", "a"], ["b", "c", "c", "a", "b"], [1, 1, 0.5, 1, 0]
    human_a, human_b, human_s = ["b", "c", "a"], ["a", "b", "c"], [1, 1, 0]
    sources = {
        "judge": Cells.from_battles(judge_a, judge_b, judge_s),
        "human": Cells.from_battles(human_a, human_b, human_s),
    }
    combined = compute_leaderboard(combine_sources(sources, {"human": 3.0}), ci="none")
    table = Cells.from_battles(judge_a + human_a, judge_b + human_b, judge_s + human_s, [1] * 5 + [3] * 3)
    direct = compute_leaderboard(table, ci="none")
    assert [row.rating for row in combined.rows] == pytest.approx(
        [row.rating for row in direct.rows], abs=1e-9
    )


def test_strong_verdicts_weigh_three_wins_as_in_arena_hard():
    assert STRONG_VERDICT_WEIGHT == 3.0
    assert VERDICT_OUTCOMES["A>>B"] == (1.0, 3.0)
    assert VERDICT_OUTCOMES["B>>A"] == (0.0, 3.0)
    assert VERDICT_OUTCOMES["A=B"] == (0.5, 1.0)
    verdicts = ["A>>B", "B>A", "A>B", "B>>A", "A=B", "A>B"]
    outcomes = [VERDICT_OUTCOMES[v] for v in verdicts]
    graded = Cells.from_battles(["a"] * 6, ["b"] * 6, [s for s, _ in outcomes], [w for _, w in outcomes])
    repeated = [s for s, w in outcomes for _ in range(int(w))]
    expanded = Cells.from_battles(["a"] * len(repeated), ["b"] * len(repeated), repeated)
    rating = compute_leaderboard(graded, ci="none").row("a").rating
    assert rating == pytest.approx(compute_leaderboard(expanded, ci="none").row("a").rating, abs=1e-9)
