"""The one entry point the Django layer calls: battles in, a ranked leaderboard out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from scipy.stats import norm

from arena.ratings import bootstrap as bt_bootstrap
from arena.ratings import bt, elo, tables
from arena.ratings import style as style_control
from arena.ratings.cells import Battles, Cells
from arena.ratings.errors import RatingError
from arena.ratings.pairs import fold
from arena.ratings.quality import Spread

METHODS = ("bt", "elo")
TIES = ("half", "davidson")
INTERVALS = ("bootstrap", "sandwich", "fisher", "none", "auto")
# ci="auto": the sandwich interval from this many battles on, when every model has at least
# SANDWICH_MIN_MODEL_BATTLES of them. Below, the bootstrap: it costs seconds only at this scale, and on
# small samples it is the better interval (it sees skewed sampling distributions and opens the side of
# an interval that the data cannot bound, see bootstrap.py). Above, the two agree (coverage checked in
# tests/ratings/test_ratings_intervals.py) and the sandwich costs one pass over the cells, as
# arena-rank's default does.
SANDWICH_FROM_BATTLES = 1_000_000
SANDWICH_MIN_MODEL_BATTLES = 1_000


@dataclass(frozen=True)
class LeaderboardRow:
    model: str
    rank: int  # ordinal rank by rating, 1 = best
    rank_ub: int  # 1 + models whose lower bound is above this model's upper bound
    rating: float
    ci_low: float  # -inf when the data cannot bound the rating from below (see bootstrap.py)
    ci_high: float  # +inf when it cannot bound it from above
    battles: int
    win_rate_vs_anchor: float | None  # None for the anchor and for models that never met it
    predicted_win_rate_vs_anchor: float


@dataclass(frozen=True)
class Leaderboard:
    method: str
    anchor: str  # the reference model of the win-rate columns
    anchor_pinned: bool  # True: the anchor sits at anchor_rating; False: the mean rating does
    rows: tuple[LeaderboardRow, ...]  # best first
    ci: str
    confidence: float
    tie_parameter: float | None = None  # Davidson's nu
    style_coefficients: Mapping[str, float] | None = None  # logits per RMS unit of each feature
    raw_ratings: Mapping[str, float] | None = None  # uncontrolled ratings, beside style-controlled ones
    redrawn_rounds: int = 0  # degenerate bootstrap resamples drawn again
    spread: Spread | None = None  # mean and covariance of the ratings, for the Brier score of quality.py

    def row(self, model: str) -> LeaderboardRow:
        for row in self.rows:
            if row.model == model:
                return row
        raise RatingError(f"unknown model: {model}")


@dataclass(frozen=True, eq=False)
class _Estimate:
    """Ratings in rating points (any gauge) with what the interval needs."""

    points: np.ndarray  # (m,)
    samples: np.ndarray | None = None  # (rounds, m)
    cov: np.ndarray | None = None  # (m, m), mean-zero gauge
    low_open: np.ndarray | None = None  # (m,) bool: lower bound is -inf
    high_open: np.ndarray | None = None
    tie_parameter: float | None = None
    redrawn: int = 0
    coefficients: Mapping[str, float] | None = None
    raw: np.ndarray | None = None


def choose_interval(data: Cells | Battles, *, method: str = "bt", requested: str = "auto") -> str:
    """The interval ``compute_leaderboard(ci=requested)`` uses: ``requested`` unless it is "auto",
    which picks the sandwich for large samples of Bradley-Terry data and the bootstrap otherwise."""
    if requested != "auto":
        return requested
    if method == "elo":
        return "bootstrap"
    cells = data if isinstance(data, Cells) else data.to_cells()
    per_model = cells.battles_per_model()
    large = cells.n_battles >= SANDWICH_FROM_BATTLES and per_model.min() >= SANDWICH_MIN_MODEL_BATTLES
    return "sandwich" if large else "bootstrap"


def compute_leaderboard(
    data: Cells | Battles,
    *,
    method: str = "bt",
    anchor: str | None = None,
    anchor_rating: float = 1000.0,
    ties: str = "half",
    ci: str = "auto",
    rounds: int = 1000,
    rng: np.random.Generator | None = None,
    style: np.ndarray | None = None,
    style_names: tuple[str, ...] = style_control.STYLE_FEATURES,
    confidence: float = 0.95,
    elo_k: float = elo.K_FACTOR,
    workers: int | None = None,
    virtual_ties: float = 0.0,
) -> Leaderboard:
    """Rate every model in ``data`` and rank them.

    ``anchor`` names a model pinned at ``anchor_rating``; without one the mean rating is pinned there,
    and the win-rate columns use the model with the most battles (reported as ``Leaderboard.anchor``).
    ``method="elo"`` and ``style`` (a (battles, k) feature matrix, see ``style_features``) need
    ``Battles``, since order and per-battle features do not survive aggregation. ``virtual_ties`` is
    the optional prior of ``pairs.fold`` (Bradley-Terry without style control only). ``ci="auto"``
    picks the interval by the size of the data (see ``choose_interval``); ``Leaderboard.ci`` says which.
    """
    ci = choose_interval(data, method=method, requested=ci) if ci == "auto" else ci
    _check_arguments(data, method, ties, ci, rounds, rng, style, confidence)
    cells = data if isinstance(data, Cells) else data.to_cells()
    if anchor is not None and anchor not in cells.models:
        raise RatingError(f"unknown anchor model: {anchor}")
    anchor_index = None if anchor is None else cells.models.index(anchor)
    if method == "elo":
        estimate = _elo(data, ci, rounds, rng, elo_k)
    elif style is not None:
        estimate = _style(data, np.asarray(style), style_names, ci, rounds, rng)
    else:
        estimate = _bradley_terry(cells, ties, ci, rounds, rng, workers, confidence, virtual_ties)
    reference = anchor_index if anchor_index is not None else tables.most_played(cells)
    rows = _rows(cells, estimate, anchor_index, anchor_rating, reference, confidence)
    raw = None
    if estimate.raw is not None:
        raw_points = _pin(estimate.raw, anchor_index, anchor_rating)
        raw = {name: float(value) for name, value in zip(cells.models, raw_points, strict=True)}
    return Leaderboard(
        method=method,
        anchor=cells.models[reference],
        anchor_pinned=anchor_index is not None,
        rows=rows,
        ci=ci,
        confidence=confidence,
        tie_parameter=estimate.tie_parameter,
        style_coefficients=estimate.coefficients,
        raw_ratings=raw,
        redrawn_rounds=estimate.redrawn,
        spread=_spread(cells.models, estimate),
    )


def _check_arguments(
    data: Cells | Battles,
    method: str,
    ties: str,
    ci: str,
    rounds: int,
    rng: np.random.Generator | None,
    style_matrix: np.ndarray | None,
    confidence: float,
) -> None:
    for value, allowed, what in ((method, METHODS, "method"), (ties, TIES, "ties"), (ci, INTERVALS, "ci")):
        if value not in allowed:
            raise ValueError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must lie strictly between 0 and 1")
    if ci == "bootstrap" and (rounds < 1 or not isinstance(rng, np.random.Generator)):
        raise ValueError("ci='bootstrap' needs rounds >= 1 and rng=numpy.random.Generator")
    if (method == "elo" or style_matrix is not None) and not isinstance(data, Battles):
        raise ValueError("Elo and style control need Battles in order, not aggregated Cells")
    if method == "elo" and (ties != "half" or ci in ("sandwich", "fisher") or style_matrix is not None):
        raise ValueError("Elo supports ties='half' and ci='bootstrap' or 'none' only, without style")
    if style_matrix is not None and ties != "half":
        raise ValueError("style control supports ties='half' only")


def _bradley_terry(
    cells: Cells,
    ties: str,
    ci: str,
    rounds: int,
    rng: np.random.Generator | None,
    workers: int | None,
    confidence: float,
    virtual_ties: float = 0.0,
) -> _Estimate:
    result = bt.fit(fold(cells, davidson=ties == "davidson", virtual_ties=virtual_ties))
    points = result.theta * bt.RATING_PER_LOGIT
    if ci in ("sandwich", "fisher"):
        cov = bt.covariance(result, ci) * bt.RATING_PER_LOGIT**2
        return _Estimate(points, cov=cov, tie_parameter=result.tie_parameter)
    if ci == "none":
        return _Estimate(points, tie_parameter=result.tie_parameter)
    samples = bt_bootstrap.bootstrap(result, rounds, rng, workers)
    tail = (1.0 - confidence) / 2.0
    return _Estimate(
        points,
        samples=samples.theta * bt.RATING_PER_LOGIT,
        low_open=samples.never_won / samples.draws > tail,
        high_open=samples.never_lost / samples.draws > tail,
        tie_parameter=result.tie_parameter,
        redrawn=samples.redrawn,
    )


def _elo(battles: Battles, ci: str, rounds: int, rng: np.random.Generator | None, k: float) -> _Estimate:
    points = elo.elo_ratings(battles, k=k)
    samples = elo.elo_bootstrap(battles, rounds, rng, k=k) if ci == "bootstrap" else None
    return _Estimate(points, samples=samples)


def _style(
    battles: Battles,
    features: np.ndarray,
    names: tuple[str, ...],
    ci: str,
    rounds: int,
    rng: np.random.Generator | None,
) -> _Estimate:
    if features.ndim != 2 or features.shape[0] != len(battles):
        raise ValueError(f"style must be a (battles, features) matrix with {len(battles)} rows")
    if len(names) != features.shape[1]:
        names = tuple(f"feature_{k}" for k in range(features.shape[1]))
    result = style_control.fit_style(battles, features)
    raw = bt.fit(fold(battles.to_cells(), davidson=False)).theta * bt.RATING_PER_LOGIT
    estimate = _Estimate(
        result.theta * bt.RATING_PER_LOGIT,
        coefficients={name: float(c) for name, c in zip(names, result.coefficients, strict=True)},
        raw=raw,
    )
    if ci in ("sandwich", "fisher"):
        cov = style_control.style_covariance(result, ci) * bt.RATING_PER_LOGIT**2
        return replace(estimate, cov=cov)
    if ci == "bootstrap":
        samples = style_control.style_bootstrap(battles, features, result, rounds, rng) * bt.RATING_PER_LOGIT
        return replace(estimate, samples=samples)
    return estimate


def _spread(models: tuple[str, ...], estimate: _Estimate) -> Spread | None:
    if estimate.samples is not None:
        return Spread.from_samples(models, estimate.samples)
    if estimate.cov is not None:
        return Spread(tuple(models), estimate.points, estimate.cov)
    return None


def _pin(values: np.ndarray, anchor: int | None, anchor_rating: float) -> np.ndarray:
    """Move ratings (last axis = models) so the anchor, or else the mean, sits at anchor_rating."""
    origin = values[..., [anchor]] if anchor is not None else values.mean(axis=-1, keepdims=True)
    return values - origin + anchor_rating


def _bounds(
    estimate: _Estimate, ratings: np.ndarray, anchor: int | None, anchor_rating: float, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    tail = (1.0 - confidence) / 2.0
    if estimate.samples is not None:
        pinned = _pin(estimate.samples, anchor, anchor_rating)
        low, high = np.quantile(pinned, [tail, 1.0 - tail], axis=0)
        if estimate.low_open is not None:
            low = np.where(estimate.low_open, -np.inf, low)
            high = np.where(estimate.high_open, np.inf, high)
        return low, high
    if estimate.cov is not None:
        cov = estimate.cov
        variance = np.diag(cov).copy()
        if anchor is not None:
            # Ratings relative to the anchor: var(r_i - r_k) = C_ii - 2 C_ik + C_kk.
            variance = variance - 2.0 * cov[:, anchor] + cov[anchor, anchor]
        half = norm.ppf(1.0 - tail) * np.sqrt(np.maximum(variance, 0.0))
        return ratings - half, ratings + half
    return ratings.copy(), ratings.copy()


def _rows(
    cells: Cells,
    estimate: _Estimate,
    anchor: int | None,
    anchor_rating: float,
    reference: int,
    confidence: float,
) -> tuple[LeaderboardRow, ...]:
    ratings = _pin(estimate.points, anchor, anchor_rating)
    low, high = _bounds(estimate, ratings, anchor, anchor_rating, confidence)
    rank_ub = tables.rank_upper_bounds(low, high)
    empirical = tables.empirical_win_rates(cells, reference)
    predicted = tables.expected_score(ratings - ratings[reference], estimate.tie_parameter)
    battles = cells.battles_per_model()
    order = sorted(range(len(cells.models)), key=lambda k: (-ratings[k], cells.models[k]))
    return tuple(
        LeaderboardRow(
            model=cells.models[k],
            rank=position + 1,
            rank_ub=int(rank_ub[k]),
            rating=float(ratings[k]),
            ci_low=float(low[k]),
            ci_high=float(high[k]),
            battles=int(battles[k]),
            win_rate_vs_anchor=None if np.isnan(empirical[k]) else float(empirical[k]),
            predicted_win_rate_vs_anchor=float(predicted[k]),
        )
        for position, k in enumerate(order)
    )
