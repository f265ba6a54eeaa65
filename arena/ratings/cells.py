"""Input types: battles in order, and battles aggregated into cells.

A battle is (model_a, model_b, score_a, weight): ``score_a`` in [0, 1] is the probability that model_a is
the better one (1 win, 0 loss, 0.5 tie, anything between is a soft outcome) and ``weight`` how much the
battle counts in the fit. A cell groups the battles with the same (model_a, model_b, score_a): it keeps
their number (``count``, what bootstrap resamples) and their total weight (``weight``, what the fit uses).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from arena.ratings.errors import RatingError, name_list

ModelColumn = Sequence[str] | np.ndarray


def _as_float(values: Iterable[float] | np.ndarray, n: int, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.shape[0] != n:
        raise ValueError(f"{what} has {array.shape[0]} entries, expected {n}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} must be finite")
    return array


def _factorize(names: Sequence[str], models: tuple[str, ...] | None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer codes for model names, against ``models`` or against the sorted set of names seen."""
    if models is not None:
        lookup = {name: i for i, name in enumerate(models)}
        unknown = sorted({name for name in names if name not in lookup})
        if unknown:
            raise RatingError(f"unknown models: {name_list(unknown)}")
        return np.fromiter((lookup[name] for name in names), dtype=np.int64, count=len(names)), models
    # A dict pass is ~10x faster than np.unique on a million Python strings.
    first_seen: dict[str, int] = {}
    codes = np.fromiter(
        (first_seen.setdefault(name, len(first_seen)) for name in names), dtype=np.int64, count=len(names)
    )
    ordered = tuple(str(name) for name in sorted(first_seen))
    remap = np.empty(len(ordered), dtype=np.int64)
    remap[[first_seen[name] for name in ordered]] = np.arange(len(ordered))
    return remap[codes], ordered


def _model_codes(
    model_a: ModelColumn, model_b: ModelColumn, models: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Codes for both columns: names, or integer indices into ``models``."""
    known = tuple(models) if models is not None else None
    raw_a, raw_b = np.asarray(model_a), np.asarray(model_b)
    if raw_a.dtype.kind in "iu" and raw_b.dtype.kind in "iu":
        if known is None:
            raise ValueError("integer model columns need models=(names...)")
        return raw_a.astype(np.int64).reshape(-1), raw_b.astype(np.int64).reshape(-1), known
    names_a, names_b = list(model_a), list(model_b)
    codes, found = _factorize(names_a + names_b, known)
    return codes[: len(names_a)], codes[len(names_a) :], found


def _check_models(models: tuple[str, ...], a: np.ndarray, b: np.ndarray) -> None:
    if len(set(models)) != len(models):
        raise ValueError("model names must be unique")
    if a.shape != b.shape:
        raise ValueError("model_a and model_b differ in length")
    if a.size and (min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= len(models)):
        raise ValueError("model index out of range")
    self_play = np.flatnonzero(a == b)
    if self_play.size:
        raise RatingError(f"a model cannot battle itself: {models[a[self_play[0]]]}")


def _check_scores(score_a: np.ndarray) -> None:
    if np.any((score_a < 0.0) | (score_a > 1.0)):
        raise ValueError("score_a must lie in [0, 1]")


@dataclass(frozen=True, eq=False)
class Battles:
    """Battles one per entry, in the order they happened (Elo and style control need this)."""

    models: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    score_a: np.ndarray
    weight: np.ndarray

    def __post_init__(self) -> None:
        _check_models(self.models, self.a, self.b)
        _check_scores(self.score_a)
        if not (self.a.shape == self.score_a.shape == self.weight.shape):
            raise ValueError("battle arrays differ in length")
        if np.any(self.weight < 0.0):
            raise ValueError("weights must be >= 0")

    @classmethod
    def from_battles(
        cls,
        model_a: ModelColumn,
        model_b: ModelColumn,
        score_a: Iterable[float] | np.ndarray,
        weight: Iterable[float] | np.ndarray | None = None,
        *,
        models: Sequence[str] | None = None,
    ) -> Battles:
        """Build from two columns of names (or of indices into ``models``), scores and optional weights."""
        a, b, found = _model_codes(model_a, model_b, models)
        score = _as_float(score_a, a.shape[0], "score_a")
        weights = np.ones_like(score) if weight is None else _as_float(weight, a.shape[0], "weight")
        return cls(found, a, b, score, weights)

    def __len__(self) -> int:
        return int(self.a.shape[0])

    def to_cells(self) -> Cells:
        return Cells.from_battles(self.a, self.b, self.score_a, self.weight, models=self.models)


def _score_codes(score_a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct score values and each battle's code; hard outcomes and ties skip the sort."""
    doubled = score_a * 2.0
    if np.array_equal(doubled, np.rint(doubled)):
        present = np.flatnonzero(np.bincount(doubled.astype(np.int64), minlength=3))
        remap = np.zeros(3, dtype=np.int64)
        remap[present] = np.arange(present.size)
        return present / 2.0, remap[doubled.astype(np.int64)]
    values, codes = np.unique(score_a, return_inverse=True)
    return values, codes.reshape(-1)


@dataclass(frozen=True, eq=False)
class Cells:
    """Battles aggregated by (model_a, model_b, score_a): the input of every Bradley-Terry fit.

    Row ``k`` says that ``count[k]`` battles of ``models[a[k]]`` (as model_a) against ``models[b[k]]``
    ended with score ``score_a[k]`` and weigh ``weight[k]`` together. Rows need not be unique. A tie is
    ``score_a == 0.5``.
    """

    models: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    score_a: np.ndarray
    count: np.ndarray
    weight: np.ndarray

    def __post_init__(self) -> None:
        _check_models(self.models, self.a, self.b)
        _check_scores(self.score_a)
        if not (self.a.shape == self.score_a.shape == self.count.shape == self.weight.shape):
            raise ValueError("cell arrays differ in length")
        if np.any(self.count < 1):
            raise ValueError("every cell needs count >= 1")
        if np.any(self.weight < 0.0) or not np.all(np.isfinite(self.weight)):
            raise ValueError("cell weights must be finite and >= 0")

    @classmethod
    def from_battles(
        cls,
        model_a: ModelColumn,
        model_b: ModelColumn,
        score_a: Iterable[float] | np.ndarray,
        weight: Iterable[float] | np.ndarray | None = None,
        *,
        models: Sequence[str] | None = None,
    ) -> Cells:
        """Aggregate per-battle columns (names, or integer indices into ``models``) into cells."""
        a, b, found = _model_codes(model_a, model_b, models)
        _check_models(found, a, b)
        score = _as_float(score_a, a.shape[0], "score_a")
        _check_scores(score)
        weights = np.ones_like(score) if weight is None else _as_float(weight, a.shape[0], "weight")
        values, score_code = _score_codes(score)
        m, n_scores = len(found), values.shape[0]
        key = (a * m + b) * n_scores + score_code
        if m * m * n_scores <= 4_000_000:
            # A dense bincount is O(battles); np.unique would sort a million keys.
            count = np.bincount(key, minlength=m * m * n_scores)
            cells = np.flatnonzero(count)
            total = np.bincount(key, weights=weights, minlength=m * m * n_scores)[cells]
            count = count[cells]
        else:
            cells, inverse, count = np.unique(key, return_inverse=True, return_counts=True)
            total = np.bincount(inverse.reshape(-1), weights=weights, minlength=cells.shape[0])
        pair, code = np.divmod(cells, n_scores)
        return cls(found, pair // m, pair % m, values[code], count.astype(np.int64), total)

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[tuple[str, str, float, int, float | None]],
        *,
        models: Sequence[str] | None = None,
    ) -> Cells:
        """Cells from ``GROUP BY model_a, model_b, score_a`` rows ``(a, b, score_a, COUNT, SUM(weight))``.

        A ``None`` weight sum (SQL's SUM over NULLs) counts each battle with weight 1.
        """
        listed = [(a, b, float(s), int(n), float(n) if w is None else float(w)) for a, b, s, n, w in rows]
        a_names, b_names = [row[0] for row in listed], [row[1] for row in listed]
        a, b, found = _model_codes(a_names, b_names, models)
        score = np.array([row[2] for row in listed], dtype=np.float64)
        count = np.array([row[3] for row in listed], dtype=np.int64)
        weight = np.array([row[4] for row in listed], dtype=np.float64)
        return cls(found, a, b, score, count, weight)

    @property
    def n_battles(self) -> int:
        return int(self.count.sum())

    def battles_per_model(self) -> np.ndarray:
        """Number of battles each model took part in, in the order of ``models``."""
        m = len(self.models)
        return np.bincount(self.a, weights=self.count, minlength=m) + np.bincount(
            self.b, weights=self.count, minlength=m
        )

    def index_of(self, model: str) -> int:
        try:
            return self.models.index(model)
        except ValueError:
            raise RatingError(f"unknown model: {model}") from None

    def reindexed(self, models: tuple[str, ...]) -> Cells:
        """The same cells against a larger list of model names."""
        lookup = np.array([models.index(name) for name in self.models], dtype=np.int64)
        return Cells(models, lookup[self.a], lookup[self.b], self.score_a, self.count, self.weight)


def combine_sources(sources: Mapping[str, Cells], weights: Mapping[str, float] | None = None) -> Cells:
    """One cell set from several sources ("judge", "human", ...), each source's weights scaled.

    A source missing from ``weights`` counts with weight 1; a source with weight 0 is left out entirely
    (its battles do not count in the ``battles`` column either).
    """
    weights = dict(weights or {})
    if any(w < 0 for w in weights.values()):
        raise ValueError("source weights must be >= 0")
    kept = {name: cells for name, cells in sources.items() if weights.get(name, 1.0) > 0.0}
    models = tuple(sorted({model for cells in kept.values() for model in cells.models}))
    parts = [cells.reindexed(models) for cells in kept.values()]
    scales = [weights.get(name, 1.0) for name in kept]
    if not parts:
        empty_int, empty_float = np.zeros(0, dtype=np.int64), np.zeros(0)
        return Cells(models, empty_int, empty_int, empty_float, empty_int, empty_float)
    return Cells(
        models,
        np.concatenate([p.a for p in parts]),
        np.concatenate([p.b for p in parts]),
        np.concatenate([p.score_a for p in parts]),
        np.concatenate([p.count for p in parts]),
        np.concatenate([p.weight * scale for p, scale in zip(parts, scales, strict=True)]),
    )
