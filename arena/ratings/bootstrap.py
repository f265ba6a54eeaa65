"""Bootstrap of a Bradley-Terry fit: resample the N battles over the cells, refit every round at once.

Each round draws cell counts from Multinomial(N, count / N), exactly: independent Poisson counts, then
the total moved to N by removing uniformly chosen battles or adding draws from count / N (a Poisson
sample given its total is multinomial, and thinning or topping up a multinomial keeps it multinomial).
That is 3x faster than numpy's multinomial, which pays one binomial setup per cell. The Poisson counts
come from ``PoissonSampler``: inversion of each count's exact CDF through a guide table, the same
distribution as ``Generator.poisson`` (up to float64 rounding of the CDF) at a fifth of the cost; the
random stream differs, so a given seed gives other (equally distributed) rounds than before. Rounds are cut into
fixed blocks, each with its own generator spawned from ``rng``, and blocks run on threads (numpy releases
the GIL): the result depends on ``rng`` only, not on the number of workers.

All rounds start from the point fit and iterate together, first with the point fit's information
matrix (one matrix product per round and iteration), then rounds that contract slowly switch to their
own Newton steps (a batched solve), and a round that still fails gets the line-searched single solver.
A round stops when its remaining error, estimated from the ratio of its last two steps, is below
BOOTSTRAP_TOLERANCE (1e-6 logits, far below a 1000-round quantile's Monte Carlo error); the first pass
evaluates the pair terms once, at the point fit, for all rounds.

A degenerate resample (some model with no win credit, or no loss credit, or any split of the models
with no win across it) has no finite maximum likelihood. Such rounds are drawn again, so the interval
is conditional on a finite fit; ``never_won``/``never_lost`` count, per model, how often it was the
cause, and the caller opens that side of the model's interval to infinity when the share of such draws
is above the interval's tail probability: the data then cannot bound the rating on that side.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.stats import poisson

from arena.ratings.bt import BOOTSTRAP_TOLERANCE, Fit, evaluate, gradient, information, newton
from arena.ratings.errors import RatingError
from arena.ratings.pairs import PairData, separated

BLOCK_CELLS = 2_000_000  # rounds x cells per block: bounds each block's memory near 50 MB
BLOCK_ROUNDS = 125  # small enough that 1000 rounds spread over the cores
MAX_ITERATIONS = 100
MAX_DRAWS_PER_ROUND = 20  # give up when degenerate resamples are the rule, not the exception
TABLE_MAX_COUNT = 400  # larger cells use numpy's Poisson sampler: tables would be wide and seldom shared
GUIDE_SLOTS = 4096  # guide-table slots per count: a few % of draws then need a short CDF scan


@dataclass(frozen=True, eq=False)
class BootstrapSamples:
    theta: np.ndarray  # (rounds, m) logits, mean zero per round
    lam: np.ndarray | None  # (rounds,) Davidson log tie parameter
    redrawn: int  # degenerate resamples drawn again
    never_won: np.ndarray  # (m,) draws in which the model had no win credit
    never_lost: np.ndarray  # (m,) draws in which the model had no loss credit
    draws: int  # all draws, kept and redrawn


class PoissonSampler:
    """Independent Poisson(count) draws for every cell by inversion, through per-count lookup tables.

    Counts are integers and few distinct ones recur over many cells, so each distinct count up to
    ``TABLE_MAX_COUNT`` gets its CDF (scipy, float64) and a guide table (Chen and Asau 1974): the smallest
    k with CDF(k) > i / GUIDE_SLOTS for every slot i. A uniform u in slot i has its answer between the
    slot's two guide entries; they are equal for most u, and a short scan of the CDF settles the rest.
    That is inversion, so exact up to float64 rounding of the CDF, as numpy's samplers are, and about 5x
    faster than ``Generator.poisson`` (one uniform and two table look-ups instead of a rejection loop).
    Larger counts, which tables would not pay for, use ``Generator.poisson``.
    """

    def __init__(self, count: np.ndarray) -> None:
        self.count = count
        self.large = np.flatnonzero(count > TABLE_MAX_COUNT)
        values, group = np.unique(np.minimum(count, TABLE_MAX_COUNT), return_inverse=True)
        self.group = group.reshape(-1).astype(np.int32)
        lam = values.astype(np.float64)
        width = int(np.max(lam + 14.0 * np.sqrt(lam))) + 30  # past the last float64-distinct CDF value
        cdf = np.maximum.accumulate(poisson.cdf(np.arange(width)[None, :], lam[:, None]), axis=1)
        cdf[cdf >= 1.0] = 2.0  # u < 1 never passes these: the scan stops there
        cdf[:, -1] = 2.0
        self.cdf = cdf
        grid = np.arange(GUIDE_SLOTS + 1) / GUIDE_SLOTS
        guide = np.stack([np.searchsorted(row, grid, side="right") for row in cdf])
        self.guide = guide.astype(np.int32).reshape(-1)

    def draw(self, rounds: int, rng: np.random.Generator) -> np.ndarray:
        """(rounds, C) int32 counts, column c Poisson(count[c])."""
        cells = self.count.shape[0]
        u = rng.random((rounds, cells))
        slot = (u * GUIDE_SLOTS).astype(np.int32)
        slot += self.group * (GUIDE_SLOTS + 1)
        draws = self.guide[slot]
        flat = draws.reshape(-1)
        scan = np.flatnonzero(draws.reshape(-1) != self.guide[slot.reshape(-1) + 1])
        group, k, target = self.group[scan % cells], flat[scan], u.reshape(-1)[scan]
        while scan.size:
            more = target >= self.cdf[group, k]
            k += more
            flat[scan] = k
            scan, group, k, target = scan[more], group[more], k[more], target[more]
        if self.large.size:
            draws[:, self.large] = rng.poisson(self.count[self.large].astype(np.float64), (rounds, self.large.size))
        return draws


def multinomial_counts(
    count: np.ndarray, rounds: int, rng: np.random.Generator, sampler: PoissonSampler | None = None
) -> np.ndarray:
    """(rounds, C) counts, each row Multinomial(count.sum(), count / count.sum())."""
    total = int(count.sum())
    draws = (sampler or PoissonSampler(count)).draw(rounds, rng)
    cumulative_p = np.cumsum(count) / total
    for row in draws:
        excess = int(row.sum()) - total
        if excess > 0:
            removed = rng.choice(int(row.sum()), size=excess, replace=False)
            cells = np.searchsorted(np.cumsum(row), removed, side="right")
            row -= np.bincount(cells, minlength=row.shape[0]).astype(row.dtype)
        elif excess < 0:
            cells = np.searchsorted(cumulative_p, rng.random(-excess), side="right")
            row += np.bincount(np.minimum(cells, row.shape[0] - 1), minlength=row.shape[0]).astype(row.dtype)
    return draws


def _degenerate(
    data: PairData, base: np.ndarray, stats: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per round: degenerate?, and which models never won / never lost in it."""
    rounds = stats.shape[1]
    win, tie, loss = stats
    fwd0, bwd0 = (base[0] + base[1]) > 0, (base[2] + base[1]) > 0
    lost_edge = np.any((fwd0 & ((win + tie) <= 0)) | (bwd0 & ((loss + tie) <= 0)), axis=1)
    bad = np.zeros(rounds, dtype=bool)
    never_won = np.zeros((rounds, data.m), dtype=bool)
    never_lost = np.zeros((rounds, data.m), dtype=bool)
    for r in np.flatnonzero(lost_edge):
        split = separated(data, stats[:, r, :])
        if split is not None:
            bad[r] = True
            never_won[r], never_lost[r] = split
    if data.davidson:
        ties, decided = tie.sum(axis=1), (win + loss).sum(axis=1)
        bad |= (ties <= 0) | (decided <= 0)
    return bad, never_won, never_lost


def _solve(result: Fit, chord: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """(R, n) maximum likelihood parameters of every round, warm-started at the point fit.

    ``chord`` is the inverse of the point fit's information (symmetric): it maps a gradient to a step.
    A round stops when its remaining error, estimated from its last two steps, is below
    BOOTSTRAP_TOLERANCE.
    """
    data = result.data
    rounds = stats.shape[1]
    params = np.tile(result.params, (rounds, 1))
    active, active_stats = np.arange(rounds), stats
    own_newton = np.zeros(rounds, dtype=bool)
    last_step = np.full(rounds, np.inf)
    error = np.full(rounds, np.inf)
    for iteration in range(MAX_ITERATIONS):
        # Every round starts at the point fit, so the first pass needs its pair terms only once.
        at = result.params[None, :] if iteration == 0 else params[active]
        grad = gradient(data, evaluate(data, at, active_stats, with_ll=False, curvature=False))
        step = grad @ chord
        slow = np.flatnonzero(own_newton[active])
        if slow.size:
            rows = active[slow]
            terms = evaluate(data, params[rows], stats[:, rows, :], with_ll=False)
            try:
                step[slow] = np.linalg.solve(information(data, terms), grad[slow][:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:
                # A round has run off to where some curvature vanishes: its step becomes NaN below, and
                # the line-searched solver restarts it from the point fit.
                step[slow] = np.nan
        params[active] += step
        size = np.max(np.abs(step), axis=1)
        size[~np.isfinite(size)] = np.inf
        # A chord step contracts the error by about |I - H0^-1 H_r|; rounds where that is poor (small
        # samples, extreme resamples) take their own Newton steps from then on.
        previous = last_step[active]
        with np.errstate(invalid="ignore"):
            rate = size / previous
        own_newton[active] |= size > 0.25 * previous
        last_step[active] = size
        # Steps shrinking by ``rate`` leave an error of about size * rate / (1 - rate) (a geometric tail):
        # for the typical rate of 0.03 at large N that stops one pass earlier than size < tolerance did.
        with np.errstate(divide="ignore", invalid="ignore"):
            error[active] = np.where(np.isfinite(previous) & (rate < 0.5), size * rate / (1.0 - rate), np.inf)
        going = ~(error[active] < BOOTSTRAP_TOLERANCE) & np.isfinite(size)
        if not going.any():
            break
        if not going.all():
            active = active[going]
            active_stats = stats[:, active, :]
    for r in np.flatnonzero(~(error < BOOTSTRAP_TOLERANCE)):
        solved = newton(data, stats[:, r, :], result.params)
        if solved is None:
            raise RatingError(f"bootstrap refit did not converge for models: {', '.join(data.models)}")
        params[r] = solved
    params[:, : data.m] -= params[:, : data.m].mean(axis=1, keepdims=True)
    return params


@dataclass(frozen=True, eq=False)
class _Block:
    params: np.ndarray
    never_won: np.ndarray
    never_lost: np.ndarray
    draws: int


def _block(
    result: Fit, chord: np.ndarray, sampler: PoissonSampler, rounds: int, rng: np.random.Generator
) -> _Block:
    """``rounds`` non-degenerate resamples, refitted."""
    data = result.data
    kept: list[np.ndarray] = []
    never_won = np.zeros(data.m, dtype=np.int64)
    never_lost = np.zeros(data.m, dtype=np.int64)
    draws = have = 0
    while have < rounds:
        if draws > MAX_DRAWS_PER_ROUND * rounds:
            raise RatingError(_too_sparse(data, never_won, never_lost, draws))
        stats = data.stats(multinomial_counts(data.count, rounds - have, rng, sampler))
        bad, won_none, lost_none = _degenerate(data, result.stats, stats)
        draws += rounds - have
        never_won += won_none.sum(axis=0)
        never_lost += lost_none.sum(axis=0)
        if not bad.all():
            kept.append(_solve(result, chord, stats[:, ~bad, :]))
            have += kept[-1].shape[0]
    return _Block(np.concatenate(kept), never_won, never_lost, draws)


def bootstrap(
    result: Fit, rounds: int, rng: np.random.Generator, workers: int | None = None
) -> BootstrapSamples:
    """Refit ``rounds`` multinomial resamples of the battles behind ``result``."""
    data = result.data
    size = max(1, min(BLOCK_ROUNDS, BLOCK_CELLS // max(1, data.count.shape[0])))
    sizes = [min(size, rounds - start) for start in range(0, rounds, size)]
    generators = rng.spawn(len(sizes))
    chord = np.linalg.inv(result.info)
    sampler = PoissonSampler(data.count)
    workers = min(len(sizes), workers or os.cpu_count() or 1)
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            blocks = list(pool.map(lambda n, g: _block(result, chord, sampler, n, g), sizes, generators))
    else:
        blocks = [_block(result, chord, sampler, n, g) for n, g in zip(sizes, generators, strict=True)]
    params = np.concatenate([block.params for block in blocks])
    draws = sum(block.draws for block in blocks)
    return BootstrapSamples(
        theta=params[:, : data.m],
        lam=params[:, data.m] if result.lam is not None else None,
        redrawn=draws - rounds,
        never_won=sum(block.never_won for block in blocks),
        never_lost=sum(block.never_lost for block in blocks),
        draws=draws,
    )


def _too_sparse(data: PairData, never_won: np.ndarray, never_lost: np.ndarray, draws: int) -> str:
    worst = np.argsort(-(never_won + never_lost))[:5]
    names = ", ".join(f"{data.models[k]} ({(never_won[k] + never_lost[k]) / draws:.0%})" for k in worst)
    return f"too few battles to bootstrap: most resamples have a model that never won or never lost: {names}"
