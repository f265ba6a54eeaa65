"""Confidence intervals and rank with uncertainty."""

import math

import numpy as np
import pytest

from arena.ratings import (
    RATING_PER_LOGIT,
    Battles,
    Cells,
    choose_interval,
    compute_leaderboard,
    rank_upper_bounds,
    rate_components,
)
from arena.ratings.board import SANDWICH_FROM_BATTLES, SANDWICH_MIN_MODEL_BATTLES


def _bounds(board, models) -> tuple[np.ndarray, np.ndarray]:
    low = np.array([board.row(name).ci_low for name in models])
    high = np.array([board.row(name).ci_high for name in models])
    return low, high


def test_rank_upper_bound_counts_models_surely_better():
    low, high = np.array([10.0, 5.0, 0.0, -50.0]), np.array([20.0, 12.0, 4.0, -40.0])
    assert rank_upper_bounds(low, high).tolist() == [1, 1, 3, 4]


def test_leaderboard_rows_carry_ranks_and_rank_upper_bounds(simulate):
    rng = np.random.default_rng(21)
    strengths = np.array([2.0, 1.9, 0.0, -2.0])
    board = compute_leaderboard(simulate(rng, strengths, 3000), ci="sandwich")
    assert [row.model for row in board.rows] == ["model-00", "model-01", "model-02", "model-03"]
    assert [row.rank for row in board.rows] == [1, 2, 3, 4]
    # The top two cannot be told apart; the others are surely below both.
    assert [row.rank_ub for row in board.rows] == [1, 1, 3, 4]


def test_bootstrap_intervals_cover_the_true_ratings_about_95_percent_of_the_time(simulate):
    rng = np.random.default_rng(22)
    strengths = np.linspace(-1.2, 1.2, 10)
    truth = (strengths - strengths.mean()) * RATING_PER_LOGIT + 1000.0
    covered = []
    for _ in range(60):
        battles = simulate(rng, strengths, 1500)
        board = compute_leaderboard(battles, rounds=500, rng=rng)
        low, high = _bounds(board, battles.models)
        covered.extend((low <= truth) & (truth <= high))
    assert 0.88 <= np.mean(covered) <= 0.99


def test_sandwich_interval_is_close_to_the_bootstrap_on_a_large_sample(simulate):
    rng = np.random.default_rng(23)
    battles = simulate(rng, rng.normal(size=12), 60_000, tie_share=0.2)
    boot = compute_leaderboard(battles, rounds=1000, rng=rng)
    sandwich = compute_leaderboard(battles, ci="sandwich")
    boot_width = np.subtract(*_bounds(boot, battles.models)[::-1])
    sandwich_width = np.subtract(*_bounds(sandwich, battles.models)[::-1])
    assert np.allclose(boot_width, sandwich_width, rtol=0.12)
    # A half-win tie varies less than a coin flip; the sandwich sees it, Fisher's information does not.
    fisher = compute_leaderboard(battles, ci="fisher")
    assert np.all(np.subtract(*_bounds(fisher, battles.models)[::-1]) > sandwich_width)


def test_sandwich_intervals_cover_the_true_ratings_about_95_percent_of_the_time(simulate):
    """Half-win ties make the Bradley-Terry likelihood misspecified: the sandwich still covers 95%,
    Fisher's interval (blind to ties' smaller variance) covers more, so this test can tell them apart."""
    rng = np.random.default_rng(31)
    # Gaps small enough that a quarter of ties still leaves every pair's expected score at the logistic.
    strengths = np.linspace(-0.9, 0.9, 10)
    truth = (strengths - strengths.mean()) * RATING_PER_LOGIT + 1000.0
    covered = {"sandwich": [], "fisher": []}
    for _ in range(200):  # 2,000 intervals: a coverage of 95% shows as 95% +- 1.5% (three standard errors)
        battles = simulate(rng, strengths, 4000, tie_share=0.25)
        cells = battles.to_cells()
        for ci, hits in covered.items():
            low, high = _bounds(compute_leaderboard(cells, ci=ci), battles.models)
            hits.extend((low <= truth) & (truth <= high))
    assert 0.935 <= np.mean(covered["sandwich"]) <= 0.965
    assert np.mean(covered["fisher"]) > 0.97


def _large_rows(per_cell: int) -> list[tuple]:
    """Four models, every pair met ``6 * per_cell`` times: a decisive but finite record."""
    names = ("w", "x", "y", "z")
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            rows += [(a, b, 1.0, 3 * per_cell, None), (a, b, 0.0, 2 * per_cell, None), (a, b, 0.5, per_cell, None)]
    return rows


def _large_cells(per_cell: int) -> Cells:
    return Cells.from_rows(_large_rows(per_cell))


def test_auto_intervals_are_the_sandwich_from_a_million_battles_and_the_bootstrap_below():
    large = _large_cells(-(-SANDWICH_FROM_BATTLES // 36))
    small = _large_cells(1000)
    assert large.n_battles >= SANDWICH_FROM_BATTLES > small.n_battles
    assert choose_interval(large) == "sandwich"
    assert choose_interval(small) == "bootstrap"
    assert choose_interval(large, requested="bootstrap") == "bootstrap"
    assert choose_interval(large, method="elo") == "bootstrap"
    board = compute_leaderboard(large, rng=np.random.default_rng(0))
    assert board.ci == "sandwich"
    assert board.rows == compute_leaderboard(large, ci="sandwich").rows
    assert compute_leaderboard(small, rng=np.random.default_rng(0)).ci == "bootstrap"
    assert rate_components(large, ci="auto").ci == "sandwich"


def test_auto_intervals_bootstrap_when_some_model_has_few_battles():
    rows = _large_rows(-(-SANDWICH_FROM_BATTLES // 36))
    few = SANDWICH_MIN_MODEL_BATTLES // 4
    rows += [("rare", "w", 1.0, few, None), ("rare", "w", 0.0, few, None)]
    cells = Cells.from_rows(rows)
    assert cells.n_battles >= SANDWICH_FROM_BATTLES
    assert choose_interval(cells) == "bootstrap"


def test_fisher_and_sandwich_agree_when_the_model_is_right(simulate):
    rng = np.random.default_rng(27)
    battles = simulate(rng, rng.normal(size=8), 40_000)
    fisher = np.subtract(*_bounds(compute_leaderboard(battles, ci="fisher"), battles.models)[::-1])
    sandwich = np.subtract(*_bounds(compute_leaderboard(battles, ci="sandwich"), battles.models)[::-1])
    assert np.allclose(fisher, sandwich, rtol=0.03)


def test_sandwich_interval_of_two_models_is_the_binomial_one():
    # 30 wins of 40: var(logit) = 1 / (n p (1 - p)); each rating moves half the gap in the mean gauge.
    cells = Cells.from_rows([("a", "b", 1.0, 30, None), ("a", "b", 0.0, 10, None)])
    board = compute_leaderboard(cells, ci="sandwich")
    half_gap = 1.959963984540054 * RATING_PER_LOGIT / math.sqrt(40 * 0.75 * 0.25) / 2.0
    row = board.row("a")
    assert row.ci_high - row.rating == pytest.approx(half_gap, rel=1e-9)


def test_an_anchor_has_no_interval_and_the_others_widen_by_its_uncertainty(simulate):
    rng = np.random.default_rng(24)
    battles = simulate(rng, rng.normal(size=5), 2000)
    pinned = compute_leaderboard(battles, ci="sandwich", anchor="model-02")
    assert pinned.row("model-02").ci_low == pinned.row("model-02").ci_high == 1000.0
    free = compute_leaderboard(battles, ci="sandwich")
    other = "model-00"
    assert (
        pinned.row(other).ci_high - pinned.row(other).ci_low
        > free.row(other).ci_high - free.row(other).ci_low
    )


def test_bootstrap_is_reproducible_from_the_generator_and_independent_of_threads(simulate):
    battles = simulate(np.random.default_rng(25), np.linspace(-1, 1, 6), 2000, tie_share=0.2)
    one = compute_leaderboard(battles, rounds=300, rng=np.random.default_rng(7), workers=1)
    two = compute_leaderboard(battles, rounds=300, rng=np.random.default_rng(7), workers=2)
    assert one.rows == two.rows


def test_a_model_with_a_single_win_gets_an_open_lower_bound():
    # "weak" wins 1 of 40: about e^-1 of resamples give it no win, far above the 2.5% tail, so the data
    # cannot bound its rating from below. Those resamples are drawn again and counted.
    rows = [("strong", "weak", 1.0, 39, None), ("weak", "strong", 1.0, 1, None)]
    rows += [("strong", "mid", 1.0, 20, None), ("mid", "strong", 1.0, 20, None)]
    rows += [("mid", "weak", 1.0, 20, None)]
    board = compute_leaderboard(Cells.from_rows(rows), rounds=400, rng=np.random.default_rng(1))
    weak = board.row("weak")
    assert weak.ci_low == -math.inf
    assert math.isfinite(weak.ci_high) and weak.ci_high > weak.rating
    assert board.redrawn_rounds > 50
    assert all(math.isfinite(board.row(name).ci_low) for name in ("strong", "mid"))


def test_davidson_bootstrap_and_sandwich_agree(simulate):
    rng = np.random.default_rng(26)
    battles = simulate(rng, rng.normal(size=6), 20_000, tie_share=0.3)
    boot = compute_leaderboard(battles, ties="davidson", rounds=600, rng=rng)
    sandwich = compute_leaderboard(battles, ties="davidson", ci="sandwich")
    assert boot.tie_parameter == sandwich.tie_parameter
    boot_width = np.subtract(*_bounds(boot, battles.models)[::-1])
    sandwich_width = np.subtract(*_bounds(sandwich, battles.models)[::-1])
    assert np.allclose(boot_width, sandwich_width, rtol=0.15)


def test_bootstrap_needs_a_generator():
    cells = Cells.from_battles(["a", "b"], ["b", "a"], [1, 1])
    with pytest.raises(ValueError, match="rng"):
        compute_leaderboard(cells)


def test_weighted_bootstrap_keeps_each_battle_whole():
    # One strong verdict (weight 3) is resampled as one battle: it moves in and out as a block, so the
    # bootstrap is wider than for three unit battles that resample independently.
    strong = Battles.from_battles(
        ["a"] * 12 + ["b"] * 12, ["b"] * 12 + ["a"] * 12, [1.0] * 24, [3.0] * 12 + [1.0] * 12
    )
    spread = compute_leaderboard(strong, rounds=400, rng=np.random.default_rng(2)).row("a")
    unit = Battles.from_battles(["a"] * 36 + ["b"] * 12, ["b"] * 36 + ["a"] * 12, [1.0] * 48)
    tight = compute_leaderboard(unit, rounds=400, rng=np.random.default_rng(2)).row("a")
    assert spread.rating == pytest.approx(tight.rating)
    assert spread.ci_high - spread.ci_low > tight.ci_high - tight.ci_low


def test_bootstrap_poisson_counts_follow_the_poisson_law_in_and_beyond_the_tables():
    from scipy.stats import poisson

    from arena.ratings.bootstrap import TABLE_MAX_COUNT, PoissonSampler

    count = np.array([1, 7, 60, TABLE_MAX_COUNT + 100])
    draws = PoissonSampler(count).draw(40_000, np.random.default_rng(5))
    for column, lam in zip(draws.T, count, strict=True):
        # Chi-square over the values with expected frequency >= 20, plus the two tails pooled.
        values = np.arange(int(lam + 10 * math.sqrt(lam)) + 10)
        expected = poisson.pmf(values, lam) * column.size
        kept = expected >= 20
        observed = np.bincount(column, minlength=values.size)[: values.size]
        rest_expected, rest_observed = column.size - expected[kept].sum(), column.size - observed[kept].sum()
        chi2 = np.sum((observed[kept] - expected[kept]) ** 2 / expected[kept])
        chi2 += (rest_observed - rest_expected) ** 2 / max(rest_expected, 1.0)
        dof = int(kept.sum())
        assert chi2 < dof + 6 * math.sqrt(2 * dof) + 10, (lam, chi2, dof)
