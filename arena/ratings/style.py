"""Style control: Bradley-Terry with per-battle covariates, as Chatbot Arena and Arena-Hard do.

P(a beats b) = sigmoid(theta_a - theta_b + x . beta), with x the battle's style differences. The
controlled ratings are the thetas: the ratings two answers of equal style would earn. The fit is the
unregularised maximum likelihood (arena-rank adds an L2 penalty on beta; we do not, so a planted
effect is not shrunk). Features do not aggregate into cells, so this takes per-battle arrays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from arena.ratings.bt import TOLERANCE
from arena.ratings.cells import Battles
from arena.ratings.errors import RatingError
from arena.ratings.pairs import check_identifiable, fold

STYLE_FEATURES = ("length", "headers", "lists", "bold")

# The patterns of FastChat's count_markdown_elements, after removing fenced code like it does.
_CODE = re.compile(r"```[^`]*```")
_HEADER = re.compile(r"^#{1,6}\s", re.MULTILINE)
_LIST = re.compile(r"^\s*(?:\d+\.|[-*+])\s", re.MULTILINE)
_BOLD = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")


def style_counts(text: str) -> tuple[int, int, int, int]:
    """Length in words, Markdown headers, list items and bold spans of one answer."""
    prose = _CODE.sub("", text)
    return (
        len(text.split()),
        len(_HEADER.findall(prose)),
        len(_LIST.findall(prose)),
        len(_BOLD.findall(prose)),
    )


def style_features(text_a: str, text_b: str) -> np.ndarray:
    """One battle's features, in STYLE_FEATURES order (see ``count_features``)."""
    return count_features(style_counts(text_a), style_counts(text_b))


def count_features(counts_a, counts_b) -> np.ndarray:
    """Features from style counts, one battle or many (rows): (count_a - count_b) / (count_a + count_b + 1).

    The ratio keeps features in [-1, 1] whatever the answers' size (FastChat's normalisation; the + 1
    makes two empty answers a 0 instead of 0 / 0).
    """
    a = np.asarray(counts_a, dtype=np.float64)
    b = np.asarray(counts_b, dtype=np.float64)
    return (a - b) / (a + b + 1.0)


@dataclass(frozen=True, eq=False)
class StyleFit:
    theta: np.ndarray  # (m,) controlled logits, mean zero
    coefficients: np.ndarray  # (k,) effect of one root-mean-square unit of each feature, in logits
    scale: np.ndarray  # (k,) each feature's root mean square, by which it was divided (1 if all zero)
    info: np.ndarray  # (m + k, m + k) information plus the theta gauge term
    meat: np.ndarray  # (m + k, m + k) sum of per-battle gradient outer products


def _pieces(battles: Battles, x: np.ndarray, weight: np.ndarray, params: np.ndarray):
    m = len(battles.models)
    z = params[battles.a] - params[battles.b] + x @ params[m:]
    p = expit(z)
    ll = np.sum(weight * (battles.score_a * z - np.logaddexp(0.0, z)))
    return ll, weight * (battles.score_a - p), weight * p * (1.0 - p)


def _assemble(battles: Battles, x: np.ndarray, values: np.ndarray, outer: bool) -> np.ndarray:
    """Sum over battles of values * phi phi' (outer=True) or values * phi, phi = (e_a - e_b, x)."""
    m, k = len(battles.models), x.shape[1]
    a, b = battles.a, battles.b
    if not outer:
        grad_theta = np.bincount(a, weights=values, minlength=m) - np.bincount(b, weights=values, minlength=m)
        return np.concatenate([grad_theta, x.T @ values])
    pair = np.bincount(a * m + b, weights=values, minlength=m * m).reshape(m, m)
    pair = pair + pair.T
    matrix = np.zeros((m + k, m + k))
    matrix[:m, :m] = np.diag(pair.sum(axis=1)) - pair
    weighted = values[:, None] * x
    cross = (
        np.stack(
            [
                np.bincount(a, weights=col, minlength=m) - np.bincount(b, weights=col, minlength=m)
                for col in weighted.T
            ],
            axis=1,
        )
        if k
        else np.zeros((m, 0))
    )
    matrix[:m, m:] = cross
    matrix[m:, :m] = cross.T
    matrix[m:, m:] = x.T @ weighted
    return matrix


def _pinned(info: np.ndarray, m: int, unused: np.ndarray) -> np.ndarray:
    """Add the terms that fix what the data leave free: the theta gauge, and coefficients of features
    that are zero in every battle (their gradient is 0, so they stay at 0)."""
    info = info.copy()
    info[:m, :m] += 1.0
    info[m + np.flatnonzero(unused), m + np.flatnonzero(unused)] += 1.0
    return info


def _newton(
    battles: Battles, x: np.ndarray, weight: np.ndarray, start: np.ndarray, unused: np.ndarray
) -> np.ndarray:
    m = len(battles.models)
    params = start.copy()
    ll, residual, curvature = _pieces(battles, x, weight, params)
    for _ in range(200):
        info = _pinned(_assemble(battles, x, curvature, outer=True), m, unused)
        try:
            step = np.linalg.solve(info, _assemble(battles, x, residual, outer=False))
        except np.linalg.LinAlgError:
            raise RatingError("style features are collinear (one is a combination of the others)") from None
        for _ in range(60):
            trial = _pieces(battles, x, weight, params + step)
            if trial[0] >= ll - 1e-12 * abs(ll):
                break
            step /= 2.0
        params = params + step
        ll, residual, curvature = trial
        if np.max(np.abs(step)) < TOLERANCE:
            params[:m] -= params[:m].mean()
            return params
    raise RatingError(f"style-controlled fit did not converge for models: {', '.join(battles.models)}")


def _scaled(features: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(features, dtype=np.float64).reshape(n, -1)
    if not np.all(np.isfinite(x)):
        raise ValueError("style features must be finite")
    # Scale but do not centre: x = 0 must keep meaning "same style", which is what controlled ratings
    # are read at. (Centring would smuggle in a first-position bias term.)
    scale = np.sqrt(np.mean(x * x, axis=0))
    return x / np.where(scale > 0, scale, 1.0), scale


def fit_style(battles: Battles, features: np.ndarray) -> StyleFit:
    """Maximum likelihood controlled ratings and style coefficients; ``features`` is (battles, k)."""
    data = fold(battles.to_cells(), davidson=False)
    check_identifiable(data, data.stats())
    x, scale = _scaled(features, len(battles))
    m, k = len(battles.models), x.shape[1]
    params = _newton(battles, x, battles.weight, np.zeros(m + k), scale == 0)
    _, residual, curvature = _pieces(battles, x, battles.weight, params)
    info = _pinned(_assemble(battles, x, curvature, outer=True), m, scale == 0)
    meat = _assemble(battles, x, residual**2, outer=True)
    return StyleFit(params[:m], params[m:], np.where(scale > 0, scale, 1.0), info, meat)


def style_covariance(result: StyleFit, kind: str = "sandwich") -> np.ndarray:
    """Covariance of the controlled theta (mean-zero gauge), sandwich or Fisher."""
    m = result.theta.shape[0]
    bread = np.linalg.inv(result.info)
    if kind == "fisher":
        gauge = np.zeros_like(bread)
        gauge[:m, :m] = 1.0 / m**2
        return (bread - gauge)[:m, :m]
    if kind != "sandwich":
        raise ValueError(f"unknown covariance kind: {kind}")
    return (bread @ result.meat @ bread)[:m, :m]


def style_bootstrap(
    battles: Battles, features: np.ndarray, result: StyleFit, rounds: int, rng: np.random.Generator
) -> np.ndarray:
    """(rounds, m) controlled logits refitted on battles resampled with replacement.

    One Newton solve per round over all battles, so this costs rounds x battles: prefer the sandwich
    interval for large arenas. A degenerate resample is drawn again.
    """
    x, scale = _scaled(features, len(battles))
    n, m = len(battles), len(battles.models)
    start = np.concatenate([result.theta, result.coefficients])
    samples = []
    for _ in range(rounds * 20):
        if len(samples) == rounds:
            break
        weight = battles.weight * np.bincount(rng.integers(0, n, size=n), minlength=n)
        resampled = Battles(battles.models, battles.a, battles.b, battles.score_a, weight)
        data = fold(resampled.to_cells(), davidson=False)
        try:
            check_identifiable(data, data.stats())
            samples.append(_newton(resampled, x, weight, start, scale == 0)[:m])
        except RatingError:
            continue
    if len(samples) < rounds:
        raise RatingError("too few battles to bootstrap the style-controlled fit")
    return np.array(samples)
