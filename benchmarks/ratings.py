"""Benchmark of the rating core against arena-rank: 100 models, 1,000,000 battles with ties.

Run: .venv/bin/python benchmarks/ratings.py [--arena-rank-rounds 3]
     .venv/bin/python benchmarks/ratings.py --arena-scale [--pairing uniform|popular|both] [--repeat N]
     (300 models x 5,000,000 battles; the leaderboard's ci="auto" against ci="bootstrap", see below)

Times this project's aggregation, point fit and 1000-round bootstrap, then arena-rank's point fit and a
few of its bootstrap rounds (scaled linearly to 1000), in the same process on the same cells.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable

import numpy as np

from arena.ratings import RATING_PER_LOGIT, Cells
from arena.ratings.bootstrap import bootstrap
from arena.ratings.bt import fit
from arena.ratings.pairs import fold

MODELS = 100
BATTLES = 1_000_000
TIE_SHARE = 0.2
ROUNDS = 1000
TARGET_SECONDS = 2.0
REPEAT = 3  # our timings are the best of 3; arena-rank's are single runs (each takes seconds)


def simulate(rng: np.random.Generator, models: int = MODELS, battles: int = BATTLES, pairing: str = "uniform"
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Battles among ``models`` models of normal strengths, a TIE_SHARE of them ties.

    ``pairing="uniform"``: every pair equally often. ``"popular"``: models drawn with Zipf-like weights
    (the k-th most popular ~ k^-0.8, as a public arena samples new and popular models more), so the
    least popular pairs meet only a few times.
    """
    strengths = rng.normal(0.0, 1.0, models)
    if pairing == "uniform":
        a = rng.integers(0, models, battles)
        b = rng.integers(0, models - 1, battles)
        b = b + (b >= a)
    else:
        weights = np.arange(1, models + 1) ** -0.8
        a, b = rng.choice(models, size=(2, battles), p=weights / weights.sum())
        same = a == b
        while same.any():
            b[same] = rng.choice(models, size=int(same.sum()), p=weights / weights.sum())
            same = a == b
    p = 1.0 / (1.0 + np.exp(-(strengths[a] - strengths[b])))
    tie = rng.random(battles) < TIE_SHARE
    q = np.clip((p - TIE_SHARE / 2) / (1 - TIE_SHARE), 0.0, 1.0)
    return a, b, np.where(tie, 0.5, (rng.random(battles) < q).astype(float))


ARENA_MODELS = 300
ARENA_BATTLES = 5_000_000
ARENA_TARGET_SECONDS = 3.0
PAIRINGS = ("uniform", "popular")


def arena_scale(pairings: tuple[str, ...], repeat: int) -> None:
    """Chatbot Arena's scale through the leaderboard entry point: 300 models, 5,000,000 battles.

    Aggregation (battles -> cells), then ``compute_leaderboard`` with its default ``ci="auto"`` (the
    sandwich interval at this size) against the baseline in the same process: ``ci="bootstrap"``, the
    point fit and 1000 bootstrap rounds, which was the leaderboard's only interval before. The point
    fit alone is printed too, so each reads as a multiple of one fit.
    """
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {load}, numpy {np.__version__}")
    print(f"times: best of {repeat} runs (others' load only ever adds time)")
    for pairing in pairings:
        one_pairing(pairing, repeat)


def one_pairing(pairing: str, repeat: int) -> None:
    """One simulated arena of the given pairing, timed both ways."""
    from arena.ratings import compute_leaderboard

    rng = np.random.default_rng(20240602)
    a, b, score = simulate(rng, ARENA_MODELS, ARENA_BATTLES, pairing)
    names = tuple(f"model-{k:03d}" for k in range(ARENA_MODELS))
    aggregate_seconds, cells = timed(lambda: Cells.from_battles(a, b, score, models=names), repeat)
    per_model = cells.battles_per_model()
    print(f"\n{pairing} pairing: {ARENA_MODELS} models, {ARENA_BATTLES:,} battles, {TIE_SHARE:.0%} ties -> "
          f"{cells.a.shape[0]:,} cells; battles per model {per_model.min():,.0f} to {per_model.max():,.0f}")
    fit_seconds, _ = timed(lambda: fit(fold(cells, davidson=False)), repeat)
    boot_seconds, boot_board = timed(
        lambda: compute_leaderboard(cells, ci="bootstrap", rounds=ROUNDS, rng=np.random.default_rng(1)), repeat
    )
    auto_seconds, auto_board = timed(
        lambda: compute_leaderboard(cells, rounds=ROUNDS, rng=np.random.default_rng(1)), repeat
    )
    line("aggregate battles -> cells (index arrays)", aggregate_seconds)
    line("point fit alone (fold + Newton)", fit_seconds)
    line(f"baseline: ci=bootstrap, fit + {ROUNDS} rounds + ranks", boot_seconds,
         f"redrawn rounds {boot_board.redrawn_rounds}")
    line(f"ci=auto ({auto_board.ci}): fit + intervals + ranks", auto_seconds)
    for label, seconds in (("baseline", boot_seconds), (f"ci=auto ({auto_board.ci})", auto_seconds)):
        total = aggregate_seconds + seconds
        status = "met" if total < ARENA_TARGET_SECONDS else "MISSED"
        line(f"aggregation + {label}", total, f"target < {ARENA_TARGET_SECONDS:.0f} s: {status}")
    print(f"baseline / ci=auto: {boot_seconds / auto_seconds:.1f}x faster; "
          f"baseline / point fit {boot_seconds / fit_seconds:.1f}x, ci=auto / point fit "
          f"{auto_seconds / fit_seconds:.1f}x")
    print(f"interval widths, {auto_board.ci} / bootstrap: {width_ratio(auto_board, boot_board)}")


def width_ratio(board, baseline) -> str:
    """Median and range over models of one board's interval width over another's."""
    ratio = np.array([
        (row.ci_high - row.ci_low) / (baseline.row(row.model).ci_high - baseline.row(row.model).ci_low)
        for row in board.rows
    ])
    return f"median {np.median(ratio):.3f}, from {ratio.min():.3f} to {ratio.max():.3f}"


def timed(action: Callable[[], object], repeat: int = 1) -> tuple[float, object]:
    """Best wall time of ``repeat`` runs (as timeit does: others' load only ever adds time)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - start)
    return best, result


def ours(cells: Cells, rng: np.random.Generator) -> dict[str, object]:
    fit_seconds, result = timed(lambda: fit(fold(cells, davidson=False)), REPEAT)
    boot_seconds, samples = timed(lambda: bootstrap(result, ROUNDS, rng), REPEAT)
    single_seconds, _ = timed(lambda: bootstrap(result, ROUNDS, rng, workers=1), REPEAT)
    return {
        "fit": fit_seconds,
        "boot": boot_seconds,
        "single": single_seconds,
        "theta": result.theta,
        "redrawn": samples.redrawn,
    }


def arena_rank(cells: Cells, rounds: int) -> dict[str, object] | None:
    try:
        import jax
        import jax.numpy as jnp
        from arena_rank.models.bradley_terry import BradleyTerry, fit_single_bootstrap_sample
        from arena_rank.utils.data_utils import PairDataset
    except ImportError:
        return None
    dataset = PairDataset(
        competitors=list(cells.models),
        pairs=jnp.array(np.column_stack([cells.a, cells.b]), dtype=jnp.int32),
        outcomes=jnp.array(cells.score_a),
        counts=jnp.array(cells.count, dtype=jnp.float64),
        weights=jnp.ones(cells.a.shape[0], dtype=jnp.float64),
        opt_weights=jnp.array(cells.count, dtype=jnp.float64),
    )
    model = BradleyTerry(n_competitors=len(cells.models))
    cold, _ = timed(
        lambda: (
            BradleyTerry(n_competitors=len(cells.models)).fit(dataset).params["ratings"].block_until_ready()
        )
    )
    warm, fitted = timed(lambda: model.fit(dataset).params["ratings"].block_until_ready())

    def rounds_of_bootstrap() -> None:
        # What compute_ratings_and_cis(ci_method="bootstrap") does per round, minus its process pool.
        counts = jax.random.multinomial(
            jax.random.PRNGKey(42),
            n=int(cells.count.sum()),
            p=dataset.counts / dataset.counts.sum(),
            shape=(rounds, cells.a.shape[0]),
            dtype=jnp.float64,
        )
        for r in range(rounds):
            fit_single_bootstrap_sample(counts[r], model, dataset)["ratings"].block_until_ready()

    boot, _ = timed(rounds_of_bootstrap)
    return {"cold": cold, "fit": warm, "boot": boot * ROUNDS / rounds, "theta": np.asarray(fitted)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arena-rank-rounds", type=int, default=3)
    parser.add_argument("--arena-scale", action="store_true", help="300 models x 5,000,000 battles instead")
    parser.add_argument("--pairing", choices=(*PAIRINGS, "both"), default="both",
                        help="--arena-scale: which pairings to simulate (default both)")
    parser.add_argument("--repeat", type=int, default=1, help="--arena-scale: runs per timing, best kept")
    args = parser.parse_args()
    if args.arena_scale:
        arena_scale(PAIRINGS if args.pairing == "both" else (args.pairing,), args.repeat)
        return
    rng = np.random.default_rng(20240601)
    a, b, score = simulate(rng)
    names = tuple(f"model-{k:03d}" for k in range(MODELS))
    aggregate_seconds, cells = timed(lambda: Cells.from_battles(a, b, score, models=names), REPEAT)
    name_a, name_b = [names[k] for k in a], [names[k] for k in b]
    by_name_seconds, _ = timed(lambda: Cells.from_battles(name_a, name_b, score), REPEAT)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {load}, numpy {np.__version__}"
    )
    print(f"data: {MODELS} models, {BATTLES:,} battles, {TIE_SHARE:.0%} ties -> {cells.a.shape[0]:,} cells")
    print(f"this project's times: best of {REPEAT} runs; arena-rank's: one run")
    line("aggregate battles -> cells (index arrays)", aggregate_seconds)
    line("aggregate battles -> cells (model-name lists)", by_name_seconds)

    mine = ours(cells, rng)
    total = mine["fit"] + mine["boot"]
    line("this project, point fit (fold + Newton)", mine["fit"])
    line(f"this project, bootstrap {ROUNDS} rounds", mine["boot"], f"{os.cpu_count()} threads")
    line(f"this project, bootstrap {ROUNDS} rounds", mine["single"], "1 thread")
    status = "met" if total < TARGET_SECONDS else "MISSED"
    line(f"this project, point fit + {ROUNDS} rounds", total, f"target < {TARGET_SECONDS:.0f} s: {status}")

    theirs = arena_rank(cells, args.arena_rank_rounds)
    if theirs is None:
        print("arena-rank is not installed: no comparison")
        return
    line("arena-rank, point fit (first call)", theirs["cold"], "includes JIT compilation")
    line("arena-rank, point fit (second call)", theirs["fit"])
    scale = ROUNDS / args.arena_rank_rounds
    note = f"{args.arena_rank_rounds} rounds timed in one process, scaled x{scale:.0f} to {ROUNDS}"
    line(f"arena-rank, bootstrap {ROUNDS} rounds", theirs["boot"], note)
    their_total = theirs["fit"] + theirs["boot"]
    print(f"speed-up, point fit (second calls):          {theirs['fit'] / mine['fit']:8.0f}x")
    print(f"speed-up, bootstrap, one process each:       {theirs['boot'] / mine['single']:8.0f}x")
    print(f"speed-up, bootstrap, ours on all cores:      {theirs['boot'] / mine['boot']:8.0f}x")
    print(f"speed-up, point fit + bootstrap:             {their_total / total:8.0f}x")
    their_theta = theirs["theta"] - theirs["theta"].mean()
    difference = np.max(np.abs(mine["theta"] - their_theta)) * RATING_PER_LOGIT
    print(f"max |rating difference| between the two point fits: {difference:.2e} points")


def line(label: str, seconds: float, note: str = "") -> None:
    print(f"{label:<48}{seconds * 1000:12.1f} ms" + (f"  ({note})" if note else ""))


if __name__ == "__main__":
    main()
