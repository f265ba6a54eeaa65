"""Rating math for the arena: Elo, Bradley-Terry, intervals, style control. No Django in here.

The Django layer builds ``Cells`` (or ``Battles`` for Elo and style control) and calls
``compute_leaderboard``; the other names are the pieces it is made of, for reports and tests.

Each name is imported from its module on first use (PEP 562), so that importing one light module of
this package (``arena.ratings.verdicts``, which settings reads) does not import numpy and scipy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Where each public name lives.
_MODULES = {
    "RATING_PER_LOGIT": "bt",
    "STRONG_LABELS": "verdicts",
    "STRONG_VERDICT_WEIGHT": "verdicts",
    "VERDICT_OUTCOMES": "verdicts",
    "VOTE_SCORES": "verdicts",
    "WINNER_SCORES": "verdicts",
    "verdict_outcome": "verdicts",
    "Battles": "cells",
    "Cells": "cells",
    "combine_sources": "cells",
    "Board": "components",
    "BoardRow": "components",
    "Component": "components",
    "PairRecord": "components",
    "head_to_head": "components",
    "rate_components": "components",
    "elo_bootstrap": "elo",
    "elo_ratings": "elo",
    "RatingError": "errors",
    "Leaderboard": "board",
    "LeaderboardRow": "board",
    "choose_interval": "board",
    "compute_leaderboard": "board",
    "STYLE_FEATURES": "style",
    "count_features": "style",
    "style_counts": "style",
    "style_features": "style",
    "empirical_win_rates": "tables",
    "expected_score": "tables",
    "predicted_win_matrix": "tables",
    "rank_upper_bounds": "tables",
}

__all__ = [
    "Battles",
    "Board",
    "BoardRow",
    "Cells",
    "Component",
    "Leaderboard",
    "LeaderboardRow",
    "PairRecord",
    "RATING_PER_LOGIT",
    "RatingError",
    "STRONG_LABELS",
    "STRONG_VERDICT_WEIGHT",
    "STYLE_FEATURES",
    "VERDICT_OUTCOMES",
    "VOTE_SCORES",
    "WINNER_SCORES",
    "choose_interval",
    "combine_sources",
    "compute_leaderboard",
    "elo_bootstrap",
    "elo_ratings",
    "empirical_win_rates",
    "expected_score",
    "head_to_head",
    "predicted_win_matrix",
    "rank_upper_bounds",
    "rate_components",
    "count_features",
    "style_counts",
    "style_features",
    "verdict_outcome",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULES})


if TYPE_CHECKING:  # what type checkers and editors see: the same names, imported eagerly
    from arena.ratings.board import Leaderboard, LeaderboardRow, choose_interval, compute_leaderboard
    from arena.ratings.bt import RATING_PER_LOGIT
    from arena.ratings.cells import Battles, Cells, combine_sources
    from arena.ratings.components import Board, BoardRow, Component, PairRecord, head_to_head, rate_components
    from arena.ratings.elo import elo_bootstrap, elo_ratings
    from arena.ratings.errors import RatingError
    from arena.ratings.style import STYLE_FEATURES, count_features, style_counts, style_features
    from arena.ratings.tables import empirical_win_rates, expected_score, predicted_win_matrix, rank_upper_bounds
    from arena.ratings.verdicts import (
        STRONG_LABELS,
        STRONG_VERDICT_WEIGHT,
        VERDICT_OUTCOMES,
        VOTE_SCORES,
        WINNER_SCORES,
        verdict_outcome,
    )
