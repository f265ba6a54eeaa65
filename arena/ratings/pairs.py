"""Cells folded onto unordered model pairs, and the checks that a finite maximum likelihood exists."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from arena.ratings.cells import Cells
from arena.ratings.errors import RatingError, name_list


@dataclass(frozen=True, eq=False)
class PairData:
    """Canonical cells (model i < model j, score for i) and how they sum onto pairs.

    ``credit[:, c]`` is the per-battle (win, tie, loss) weight of cell ``c`` for model i. With
    ``davidson=False`` a tie (and any soft score) is split into win and loss credit, so ``tie`` is 0.
    """

    models: tuple[str, ...]
    davidson: bool
    i: np.ndarray  # (P,) lower model index of each pair
    j: np.ndarray  # (P,) higher model index
    cell_pair: np.ndarray  # (C,) pair of each canonical cell
    count: np.ndarray  # (C,) battles in each canonical cell
    credit: np.ndarray  # (3, C) per-battle win, tie, loss credit
    incidence: sp.csr_matrix  # (m, P): +1 at i, -1 at j; gradient assembly
    to_pairs: sp.csr_matrix  # (3P, C): per-battle credit of each cell, summed onto its pair
    prior: np.ndarray | None = None  # (3, P) virtual credit added to every pair's totals, never resampled

    @property
    def m(self) -> int:
        return len(self.models)

    @property
    def n_pairs(self) -> int:
        return int(self.i.shape[0])

    def stats(self, counts: np.ndarray | None = None) -> np.ndarray:
        """Win, tie, loss totals per pair, shape (3, P), or (3, R, P) for counts of shape (R, C)."""
        counts = self.count if counts is None else counts
        rounds = np.atleast_2d(counts)
        # One sparse product sums every round's cells onto pairs: (3P, C) @ (C, R).
        totals = np.asarray(self.to_pairs @ rounds.T.astype(np.float64))
        totals = totals.reshape(3, self.n_pairs, rounds.shape[0]).transpose(0, 2, 1)
        if self.prior is not None:
            totals = totals + self.prior[:, None, :]
        return totals if counts.ndim == 2 else totals[:, 0, :]


def _codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    distinct, codes = np.unique(values, return_inverse=True)
    return codes.reshape(-1), distinct.shape[0]


def _merge(cells: Cells) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cells turned so the lower-indexed model comes first, equal ones merged: lo, hi, score, mean
    weight per battle, count. Merging keeps the multinomial exact (the fit sees only sums) and halves
    the bootstrap's work."""
    swap = cells.a > cells.b
    m = len(cells.models)
    pair = np.where(swap, cells.b * m + cells.a, cells.a * m + cells.b)
    score = np.where(swap, 1.0 - cells.score_a, cells.score_a)
    per_battle = cells.weight / cells.count
    # Integer codes for the float columns: np.unique on rows of floats is ten times slower.
    score_code, _ = _codes(score)
    weight_code, n_weights = _codes(per_battle)
    value_code, n_values = _codes(score_code * n_weights + weight_code)
    keys, first, inverse = np.unique(pair * n_values + value_code, return_index=True, return_inverse=True)
    count = np.bincount(inverse.reshape(-1), weights=cells.count, minlength=keys.shape[0])
    lo, hi = np.divmod(pair[first], m)
    return lo, hi, score[first], per_battle[first], np.rint(count).astype(np.int64)


def _credit(score: np.ndarray, per_battle: np.ndarray, davidson: bool) -> np.ndarray:
    """(3, C) per-battle win, tie and loss credit of each cell."""
    if not davidson:
        return np.stack([per_battle * score, np.zeros_like(score), per_battle * (1.0 - score)])
    is_tie = score == 0.5
    return np.stack([per_battle * score * ~is_tie, per_battle * is_tie, per_battle * (1 - score) * ~is_tie])


def fold(cells: Cells, *, davidson: bool, virtual_ties: float = 0.0) -> PairData:
    """The likelihood's view of ``cells``: canonical cells, their credit, and sums onto pairs.

    ``virtual_ties`` > 0 is a prior: that many tie battles are added to every pair of models that met.
    Ties give each side credit against the other, so every connected group of models then has finite
    ratings (Ford's condition holds); the virtual battles are part of every bootstrap round, not
    resampled, and are not counted as battles anywhere.
    """
    if virtual_ties < 0 or not np.isfinite(virtual_ties):
        raise ValueError("virtual_ties must be a finite number >= 0")
    m = len(cells.models)
    lo, hi, score, per_battle, count = _merge(cells)
    credit = _credit(score, per_battle, davidson)
    pair_key, cell_pair = np.unique(lo * m + hi, return_inverse=True)
    cell_pair = cell_pair.reshape(-1)
    i, j = np.divmod(pair_key, m)
    n_pairs, n_cells = i.shape[0], cell_pair.shape[0]
    columns = np.concatenate([np.arange(n_pairs), np.arange(n_pairs)])
    signs = np.concatenate([np.ones(n_pairs), -np.ones(n_pairs)])
    incidence = sp.csr_matrix((signs, (np.concatenate([i, j]), columns)), shape=(m, n_pairs))
    rows = np.concatenate([cell_pair + k * n_pairs for k in range(3)])
    to_pairs = sp.csr_matrix(
        (credit.reshape(-1), (rows, np.tile(np.arange(n_cells), 3))), shape=(3 * n_pairs, n_cells)
    )
    return PairData(
        models=cells.models,
        davidson=davidson,
        i=i,
        j=j,
        cell_pair=cell_pair,
        count=count,
        credit=credit,
        incidence=incidence,
        to_pairs=to_pairs,
        prior=_virtual_ties(n_pairs, virtual_ties, davidson),
    )


def _virtual_ties(n_pairs: int, ties: float, davidson: bool) -> np.ndarray | None:
    if ties == 0.0:
        return None
    prior = np.zeros((3, n_pairs))
    if davidson:
        prior[1] = ties
    else:
        # Half-win ties: a tie is half a win and half a loss for each side.
        prior[0] = prior[2] = ties / 2.0
    return prior


def _beat_graph(data: PairData, stats: np.ndarray) -> sp.csr_matrix:
    """Directed graph with an edge x -> y when x earned any credit (win, tie or soft score) against y."""
    win, tie, loss = stats
    forward = (win + tie) > 0
    backward = (loss + tie) > 0
    rows = np.concatenate([data.i[forward], data.j[backward]])
    cols = np.concatenate([data.j[forward], data.i[backward]])
    return sp.csr_matrix((np.ones(rows.shape[0]), (rows, cols)), shape=(data.m, data.m))


def _components(models: tuple[str, ...], labels: np.ndarray) -> list[list[str]]:
    groups = [[models[k] for k in np.flatnonzero(labels == label)] for label in np.unique(labels)]
    return sorted(groups, key=lambda group: (-len(group), group))


def separated(data: PairData, stats: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """None when the beat graph is strongly connected, else (never_won, never_lost) masks over models.

    Strong connectivity (every split of the models has a win across it both ways) is Ford's (1957)
    condition for a finite, unique Bradley-Terry maximum likelihood.
    """
    graph = _beat_graph(data, stats)
    n_strong, _ = connected_components(graph, directed=True, connection="strong")
    if n_strong == 1:
        return None
    out_degree = np.asarray(graph.sum(axis=1)).reshape(-1)
    in_degree = np.asarray(graph.sum(axis=0)).reshape(-1)
    return out_degree == 0, in_degree == 0


def check_identifiable(data: PairData, stats: np.ndarray) -> None:
    """Raise a RatingError naming the models when the maximum likelihood is not finite or not unique."""
    models = data.models
    if len(models) < 2:
        raise RatingError(f"need at least two models to rate, got {len(models)}")
    win, tie, loss = stats
    played = (win + tie + loss) > 0
    graph = sp.csr_matrix(
        (np.ones(int(played.sum())), (data.i[played], data.j[played])), shape=(data.m, data.m)
    )
    n_parts, labels = connected_components(graph, directed=False)
    if n_parts > 1:
        parts = "; ".join("{" + name_list(group) + "}" for group in _components(models, labels)[:10])
        raise RatingError(
            f"the comparison graph is disconnected into {n_parts} components, whose ratings cannot be "
            f"compared: {parts}"
        )
    if data.davidson and not np.any(win + loss > 0):
        raise RatingError("every battle is a tie: the Davidson tie parameter is infinite; use ties='half'")
    split = separated(data, stats)
    if split is None:
        return
    never_won, never_lost = split
    problems = []
    if never_won.any():
        names = name_list([models[k] for k in np.flatnonzero(never_won)])
        problems.append(f"never won a battle (not even a tie): {names}")
    if never_lost.any():
        names = name_list([models[k] for k in np.flatnonzero(never_lost)])
        problems.append(f"never lost a battle (not even a tie): {names}")
    if not problems:
        groups = _strong_groups(data, stats)
        problems.append(
            "some groups of models never lost to the models outside them, so their rating gap is infinite: "
            + "; ".join("{" + name_list(group) + "}" for group in groups[:10])
        )
    raise RatingError("ratings would be infinite: " + "; ".join(problems))


def _strong_groups(data: PairData, stats: np.ndarray) -> list[list[str]]:
    _, labels = connected_components(_beat_graph(data, stats), directed=True, connection="strong")
    return _components(data.models, labels)
