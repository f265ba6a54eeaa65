"""Rating math for the arena: Elo, Bradley-Terry, intervals, style control. No Django in here.

The Django layer builds ``Cells`` (or ``Battles`` for Elo and style control) and calls
``compute_leaderboard``; the other names are the pieces it is made of, for reports and tests.
"""

from arena.ratings.bt import RATING_PER_LOGIT
from arena.ratings.cells import (
    STRONG_LABELS,
    STRONG_VERDICT_WEIGHT,
    VERDICT_OUTCOMES,
    WINNER_SCORES,
    Battles,
    Cells,
    combine_sources,
    verdict_outcome,
)
from arena.ratings.components import Board, BoardRow, Component, PairRecord, head_to_head, rate_components
from arena.ratings.elo import elo_bootstrap, elo_ratings
from arena.ratings.errors import RatingError
from arena.ratings.leaderboard import Leaderboard, LeaderboardRow, compute_leaderboard
from arena.ratings.style import STYLE_FEATURES, style_counts, style_features
from arena.ratings.tables import (
    empirical_win_rates,
    expected_score,
    predicted_win_matrix,
    rank_upper_bounds,
)

__all__ = [
    "RATING_PER_LOGIT",
    "STRONG_LABELS",
    "STRONG_VERDICT_WEIGHT",
    "STYLE_FEATURES",
    "VERDICT_OUTCOMES",
    "WINNER_SCORES",
    "Battles",
    "Board",
    "BoardRow",
    "Cells",
    "Component",
    "Leaderboard",
    "LeaderboardRow",
    "PairRecord",
    "RatingError",
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
    "style_counts",
    "style_features",
    "verdict_outcome",
]
