"""Ranks, rank with uncertainty, and win-rate tables."""

from __future__ import annotations

import math

import numpy as np

from arena.ratings.bt import RATING_PER_LOGIT
from arena.ratings.cells import Cells


def rank_upper_bounds(ci_low: np.ndarray, ci_high: np.ndarray) -> np.ndarray:
    """Chatbot Arena's rank with uncertainty: 1 + the number of models whose lower bound is above
    this model's upper bound, i.e. the best rank the model cannot be told apart from."""
    return 1 + np.sum(ci_low[None, :] > ci_high[:, None], axis=1)


def expected_score(
    gap: np.ndarray | float, tie_parameter: float | None = None, *, per_logit: float = RATING_PER_LOGIT
) -> np.ndarray | float:
    """Predicted win rate (ties counted 0.5) of a model ``gap`` rating points above its opponent.

    With Davidson's tie parameter nu, P(win) + P(tie) / 2; without, the logistic 1 / (1 + 10**(-gap/400)).
    ``per_logit`` is the rating scale: 400 / ln 10 (the default) is Elo's 400 points per factor of 10.
    """
    if isinstance(gap, float) and tie_parameter is None:
        # One battle at a time (online Elo's loop): plain floats cost a fraction of numpy scalars.
        return 1.0 / (1.0 + math.exp(-gap / per_logit))
    d = np.asarray(gap, dtype=np.float64) / per_logit
    if tie_parameter is None:
        return 1.0 / (1.0 + np.exp(-d))
    half = np.abs(d) / 2.0
    e = np.exp(-half)
    q = 1.0 + e * e + tie_parameter * e  # shared denominator, times exp(|d|/2)
    p_win = np.where(d >= 0, 1.0, e * e) / q
    return p_win + 0.5 * tie_parameter * e / q


def predicted_win_matrix(ratings: np.ndarray, tie_parameter: float | None = None) -> np.ndarray:
    """(m, m) matrix whose [i, j] entry is the predicted win rate of model i against model j."""
    return expected_score(ratings[:, None] - ratings[None, :], tie_parameter)


def empirical_win_rates(cells: Cells, reference: int) -> np.ndarray:
    """Each model's share of points against ``reference`` (wins 1, ties 0.5, soft scores as given),
    counting battles, not weights; NaN for models that never met it, and for the reference itself."""
    m = len(cells.models)
    as_a, as_b = cells.b == reference, cells.a == reference
    points, played = np.zeros(m), np.zeros(m)
    # np.bincount of an empty selection is integer-typed, hence the float accumulators.
    points += np.bincount(cells.a[as_a], weights=(cells.count * cells.score_a)[as_a], minlength=m)
    points += np.bincount(cells.b[as_b], weights=(cells.count * (1.0 - cells.score_a))[as_b], minlength=m)
    played += np.bincount(cells.a[as_a], weights=cells.count[as_a], minlength=m)
    played += np.bincount(cells.b[as_b], weights=cells.count[as_b], minlength=m)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(played > 0, points / np.where(played > 0, played, 1.0), np.nan)


def most_played(cells: Cells) -> int:
    """The model in the most battles (first by name on a tie): the default reference for win rates."""
    battles = cells.battles_per_model()
    return int(np.flatnonzero(battles == battles.max())[0])
