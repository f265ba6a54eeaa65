"""A leaderboard for any data, also data that has no single finite fit.

``compute_leaderboard`` needs battles whose maximum likelihood is finite and unique. Real data often
is not: two groups of models that never met cannot be compared (the comparison graph is disconnected),
and a model that never lost has an infinite rating. ``rate_components`` still gives a useful answer:

- one table per connected component of the comparison graph, largest first, each rated on its own
  (with its own origin: ratings in different components are not comparable);
- inside a component, the largest strongly connected group of the beat graph (Ford's condition holds
  there) is rated by ``compute_leaderboard``; every other model gets its record and an open interval
  against those ratings: a model that beat some rated models and lost to none of them is above them
  ("> 1,240": above the best rated model it beat, directly or through others), one that only lost is
  below them, and one with no such link to them is open on both sides;
- with ``virtual_ties`` > 0 (a prior, off by default), that many tie battles join every pair that met,
  which makes every component's ratings finite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components

from arena.ratings import tables
from arena.ratings.board import choose_interval, compute_leaderboard
from arena.ratings.cells import Battles, Cells
from arena.ratings.errors import RatingError
from arena.ratings.quality import Spread


@dataclass(frozen=True)
class BoardRow:
    model: str
    component: int  # 0 = the largest group of models connected by battles
    rank: int  # ordinal rank inside the component, 1 = best
    rank_ub: int  # 1 + models of the component whose lower bound is above this model's upper bound
    rating: float | None  # None: the data place this model infinitely far from the rated ones
    ci_low: float  # -inf: open below
    ci_high: float  # +inf: open above
    battles: int
    wins: int  # battles it won (score above one half, soft scores included), lost, tied
    losses: int
    ties: int
    win_rate_vs_anchor: float | None  # against the component's reference model; None if they never met
    predicted_win_rate_vs_anchor: float | None  # None for models without a finite rating


@dataclass(frozen=True)
class Component:
    index: int
    models: tuple[str, ...]  # best first
    rated: tuple[str, ...]  # the models with a finite rating
    anchor: str  # the reference of the win-rate columns (pinned when anchor_pinned)
    anchor_pinned: bool  # False: the mean rating of the rated models sits at the anchor rating
    battles: int


@dataclass(frozen=True)
class PairRecord:
    """Head to head: ``a`` sorts before ``b``; wins are counted from each side."""

    a: str
    b: str
    battles: int
    a_wins: int
    b_wins: int
    ties: int


@dataclass(frozen=True)
class Board:
    method: str
    rows: tuple[BoardRow, ...]  # component by component, best first inside each
    components: tuple[Component, ...]
    pairs: tuple[PairRecord, ...]
    confidence: float
    style_coefficients: Mapping[str, float] | None = None  # of the largest component
    raw_ratings: Mapping[str, float] | None = None  # uncontrolled ratings of the largest component
    spread: Spread | None = None  # of the rated models of the largest component (see quality.py)
    ci: str = "bootstrap"  # the interval used (ci="auto" resolved)


def rate_components(
    data: Cells | Battles,
    *,
    method: str = "bt",
    anchor: str | None = None,
    anchor_rating: float = 1000.0,
    ci: str = "auto",
    rounds: int = 1000,
    rng: np.random.Generator | None = None,
    style: np.ndarray | None = None,
    confidence: float = 0.95,
    virtual_ties: float = 0.0,
    workers: int | None = None,
) -> Board:
    """Rate every model in ``data``, component by component (see the module docstring)."""
    cells = data if isinstance(data, Cells) else data.to_cells()
    if len(cells.models) < 2 or cells.n_battles == 0:
        raise RatingError(f"need at least two models to rate, got {len(cells.models)}")
    if anchor is not None and anchor not in cells.models:
        raise RatingError(f"unknown anchor model: {anchor}")
    # Decided on all the data, so that every component gets the same kind of interval.
    ci = choose_interval(cells, method=method, requested=ci)
    options = {"method": method, "anchor_rating": anchor_rating, "ci": ci, "rounds": rounds, "rng": rng,
               "confidence": confidence, "workers": workers,
               "virtual_ties": virtual_ties if method == "bt" and style is None else 0.0}
    rows: list[BoardRow] = []
    components: list[Component] = []
    coefficients = raw = spread = None
    for index, members in enumerate(_groups(cells, _played_labels(cells))):
        part, part_style = _subset(data, style, members)
        found = _rate_one(part, part_style, index, anchor if anchor in members else None, **options)
        rows += found.rows
        components.append(found.component)
        if index == 0:
            coefficients, raw, spread = found.coefficients, found.raw, found.spread
    return Board(method=method, rows=tuple(rows), components=tuple(components), pairs=head_to_head(cells),
                 confidence=confidence, style_coefficients=coefficients, raw_ratings=raw, spread=spread, ci=ci)


@dataclass(frozen=True)
class _Rated:
    rows: tuple[BoardRow, ...]
    component: Component
    coefficients: Mapping[str, float] | None
    raw: Mapping[str, float] | None
    spread: Spread | None = None


def _rate_one(data: Cells | Battles, style: np.ndarray | None, index: int, anchor: str | None, *,
              method: str, anchor_rating: float, virtual_ties: float, **options) -> _Rated:
    cells = data if isinstance(data, Cells) else data.to_cells()
    m = len(cells.models)
    beats = _beat_graph(cells)
    always_finite = method == "elo" or virtual_ties > 0
    core = list(range(m)) if always_finite else _core(cells, beats)
    rating = np.full(m, np.nan)
    low, high = np.full(m, -np.inf), np.full(m, np.inf)
    predicted = np.full(m, np.nan)
    coefficients = raw = spread = None
    core_anchor = anchor if anchor is not None and cells.models.index(anchor) in core else None
    if len(core) >= 2:
        part, part_style = _subset(data, style, [cells.models[k] for k in core])
        board = compute_leaderboard(part, method=method, anchor=core_anchor, anchor_rating=anchor_rating,
                                    style=part_style, virtual_ties=virtual_ties, **options)
        for row in board.rows:
            k = cells.models.index(row.model)
            rating[k], low[k], high[k] = row.rating, row.ci_low, row.ci_high
            predicted[k] = row.predicted_win_rate_vs_anchor
        reference, pinned = board.anchor, board.anchor_pinned
        coefficients = board.style_coefficients
        raw = board.raw_ratings
        spread = board.spread
    else:
        # One model alone is the only one with a finite rating: it sits at the anchor rating.
        reference, pinned = cells.models[core[0]], True
        rating[core[0]] = low[core[0]] = high[core[0]] = anchor_rating
        predicted[core[0]] = 0.5
    _open_bounds(beats, core, rating, low, high)
    order = sorted(range(m), key=lambda k: _position(rating[k], low[k], high[k], cells.models[k]))
    rank_ub = tables.rank_upper_bounds(low, high)
    empirical = tables.empirical_win_rates(cells, cells.models.index(reference))
    wins, losses, ties = _records(cells)
    battles = cells.battles_per_model()
    rows = tuple(
        BoardRow(
            model=cells.models[k], component=index, rank=position + 1, rank_ub=int(rank_ub[k]),
            rating=None if np.isnan(rating[k]) else float(rating[k]),
            ci_low=float(low[k]), ci_high=float(high[k]), battles=int(battles[k]),
            wins=int(wins[k]), losses=int(losses[k]), ties=int(ties[k]),
            win_rate_vs_anchor=None if np.isnan(empirical[k]) else float(empirical[k]),
            predicted_win_rate_vs_anchor=None if np.isnan(predicted[k]) else float(predicted[k]),
        )
        for position, k in enumerate(order)
    )
    component = Component(index=index, models=tuple(row.model for row in rows),
                          rated=tuple(cells.models[k] for k in sorted(core)), anchor=reference,
                          anchor_pinned=pinned, battles=cells.n_battles)
    return _Rated(rows, component, coefficients, raw, spread)


def _position(rating: float, low: float, high: float, name: str) -> tuple:
    """Sort key, best first: models open above, the rated ones, those open below, then the unplaced."""
    if not np.isnan(rating):
        return (1, -rating, name)
    if np.isfinite(low):
        return (0, -low, name)
    if np.isfinite(high):
        return (2, -high, name)
    return (3, 0.0, name)


def _open_bounds(beats: sp.csr_matrix, core: list[int], rating: np.ndarray, low: np.ndarray,
                 high: np.ndarray) -> None:
    """Bounds of the models outside the rated core: above every rated model they reach in the beat
    graph (they beat it, or beat a model that beat it...), below every rated model that reaches them."""
    in_core = np.zeros(rating.shape[0], dtype=bool)
    in_core[core] = True
    backwards = beats.T.tocsr()
    for k in np.flatnonzero(~in_core):
        reached = breadth_first_order(beats, k, directed=True, return_predecessors=False)
        reached = reached[in_core[reached]]
        if reached.size:
            low[k], high[k] = rating[reached].max(), np.inf
            continue
        reaching = breadth_first_order(backwards, k, directed=True, return_predecessors=False)
        reaching = reaching[in_core[reaching]]
        if reaching.size:
            low[k], high[k] = -np.inf, rating[reaching].min()


def _beat_graph(cells: Cells) -> sp.csr_matrix:
    """x -> y when x earned any credit against y (a win, a tie or a soft score above zero)."""
    credit_a = cells.score_a > 0.0
    credit_b = cells.score_a < 1.0
    rows = np.concatenate([cells.a[credit_a], cells.b[credit_b]])
    cols = np.concatenate([cells.b[credit_a], cells.a[credit_b]])
    m = len(cells.models)
    return sp.csr_matrix((np.ones(rows.shape[0]), (rows, cols)), shape=(m, m))


def _core(cells: Cells, beats: sp.csr_matrix) -> list[int]:
    """The largest strongly connected group of the beat graph (most battles on a tie, then names)."""
    _, labels = connected_components(beats, directed=True, connection="strong")
    battles = cells.battles_per_model()
    best = min(np.unique(labels), key=lambda label: (
        -int(np.sum(labels == label)), -battles[labels == label].sum(),
        min(cells.models[k] for k in np.flatnonzero(labels == label))))
    return [int(k) for k in np.flatnonzero(labels == best)]


def _played_labels(cells: Cells) -> np.ndarray:
    m = len(cells.models)
    graph = sp.csr_matrix((np.ones(cells.a.shape[0]), (cells.a, cells.b)), shape=(m, m))
    return connected_components(graph, directed=False)[1]


def _groups(cells: Cells, labels: np.ndarray) -> list[list[str]]:
    """Model names of each component: most models first, then most battles, then by name."""
    battles = cells.battles_per_model()
    groups = [np.flatnonzero(labels == label) for label in np.unique(labels)]
    groups.sort(key=lambda g: (-g.size, -battles[g].sum(), min(cells.models[k] for k in g)))
    return [[cells.models[k] for k in g] for g in groups]


def _subset(data: Cells | Battles, style: np.ndarray | None, names: list[str]
            ) -> tuple[Cells | Battles, np.ndarray | None]:
    """The battles among ``names`` only (in their order, for Elo), with their style rows."""
    keep = tuple(sorted(names))
    if keep == data.models:
        return data, style
    lookup = np.full(len(data.models), -1, dtype=np.int64)
    lookup[[data.models.index(name) for name in keep]] = np.arange(len(keep))
    mask = (lookup[data.a] >= 0) & (lookup[data.b] >= 0)
    a, b = lookup[data.a[mask]], lookup[data.b[mask]]
    if isinstance(data, Cells):
        return Cells(keep, a, b, data.score_a[mask], data.count[mask], data.weight[mask]), None
    battles = Battles(keep, a, b, data.score_a[mask], data.weight[mask])
    return battles, None if style is None else np.asarray(style)[mask]


def _records(cells: Cells) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wins, losses and ties of each model, in battles."""
    m = len(cells.models)
    count = cells.count.astype(np.float64)

    def tally(mask_a: np.ndarray, mask_b: np.ndarray) -> np.ndarray:
        return np.rint(np.bincount(cells.a[mask_a], weights=count[mask_a], minlength=m)
                       + np.bincount(cells.b[mask_b], weights=count[mask_b], minlength=m)).astype(np.int64)

    won, lost, tied = cells.score_a > 0.5, cells.score_a < 0.5, cells.score_a == 0.5
    return tally(won, lost), tally(lost, won), tally(tied, tied)


def head_to_head(cells: Cells) -> tuple[PairRecord, ...]:
    """Every pair that met, with its battles and wins from each side."""
    m = len(cells.models)
    swap = cells.a > cells.b
    lo, hi = np.where(swap, cells.b, cells.a), np.where(swap, cells.a, cells.b)
    score_lo = np.where(swap, 1.0 - cells.score_a, cells.score_a)
    key = lo * m + hi
    pairs, inverse = np.unique(key, return_inverse=True)
    inverse = inverse.reshape(-1)
    count = cells.count.astype(np.float64)

    def per_pair(mask: np.ndarray) -> np.ndarray:
        return np.rint(np.bincount(inverse[mask], weights=count[mask], minlength=pairs.shape[0])).astype(np.int64)

    total = per_pair(np.ones_like(swap))
    lo_wins, hi_wins, ties = per_pair(score_lo > 0.5), per_pair(score_lo < 0.5), per_pair(score_lo == 0.5)
    return tuple(
        PairRecord(a=cells.models[p // m], b=cells.models[p % m], battles=int(total[k]), a_wins=int(lo_wins[k]),
                   b_wins=int(hi_wins[k]), ties=int(ties[k]))
        for k, p in enumerate(pairs)
    )
