"""Agreement with arena-rank (LMArena's library) and choix on the same data."""

import numpy as np
import pytest

from arena.ratings import RATING_PER_LOGIT, Battles, Cells, compute_leaderboard

TOLERANCE_POINTS = 0.01


@pytest.fixture
def arena(simulate) -> Battles:
    rng = np.random.default_rng(11)
    battles = simulate(rng, rng.normal(scale=0.8, size=8), 4000, tie_share=0.25)
    # Graded verdicts: a quarter of the battles weigh 3, as strong verdicts do.
    weight = np.where(rng.random(len(battles)) < 0.25, 3.0, 1.0)
    return Battles(battles.models, battles.a, battles.b, battles.score_a, weight)


def _arena_rank(cells: Cells) -> dict[str, np.ndarray]:
    bradley_terry = pytest.importorskip("arena_rank.models.bradley_terry")
    data_utils = pytest.importorskip("arena_rank.utils.data_utils")
    jnp = pytest.importorskip("jax.numpy")
    dataset = data_utils.PairDataset(
        competitors=list(cells.models),
        pairs=jnp.array(np.column_stack([cells.a, cells.b]), dtype=jnp.int32),
        outcomes=jnp.array(cells.score_a),
        counts=jnp.array(cells.count, dtype=jnp.float64),
        weights=jnp.array(cells.weight / cells.count),
        opt_weights=jnp.array(cells.weight),
    )
    model = bradley_terry.BradleyTerry(n_competitors=len(cells.models))
    result = model.compute_ratings_and_cis(dataset, ci_method="sandwich")
    return {key: np.asarray(result[key]) for key in ("ratings", "rating_lower", "rating_upper")}


def test_bradley_terry_matches_arena_rank_with_ties_and_weights(arena):
    cells = arena.to_cells()
    expected = _arena_rank(cells)
    board = compute_leaderboard(cells, ci="sandwich")
    ours = np.array([board.row(name).rating for name in cells.models])
    assert np.max(np.abs(ours - expected["ratings"])) < TOLERANCE_POINTS


def test_sandwich_interval_matches_arena_rank(arena):
    cells = Cells.from_battles(arena.a, arena.b, arena.score_a, models=arena.models)  # unweighted
    expected = _arena_rank(cells)
    board = compute_leaderboard(cells, ci="sandwich")
    low = np.array([board.row(name).ci_low for name in cells.models])
    high = np.array([board.row(name).ci_high for name in cells.models])
    # arena-rank adds 1e-5 x N to the Hessian's diagonal before inverting; that moves bounds ~3e-3 here.
    assert np.max(np.abs(low - expected["rating_lower"])) < TOLERANCE_POINTS
    assert np.max(np.abs(high - expected["rating_upper"])) < TOLERANCE_POINTS


def test_bradley_terry_matches_choix_with_ties_as_half_wins(arena):
    choix = pytest.importorskip("choix")
    cells = Cells.from_battles(arena.a, arena.b, arena.score_a, models=arena.models)
    m = len(cells.models)
    wins = np.zeros((m, m))
    # choix takes a matrix of wins; a tie is half a win for each side, a soft score s splits s / 1 - s.
    np.add.at(wins, (cells.a, cells.b), cells.count * cells.score_a)
    np.add.at(wins, (cells.b, cells.a), cells.count * (1.0 - cells.score_a))
    params = choix.ilsr_pairwise_dense(wins, alpha=0.0, max_iter=10_000, tol=1e-12)
    expected = (params - params.mean()) * RATING_PER_LOGIT + 1000.0
    board = compute_leaderboard(cells, ci="none")
    ours = np.array([board.row(name).rating for name in cells.models])
    assert np.max(np.abs(ours - expected)) < TOLERANCE_POINTS
