"""Leaderboards from the database: evidence aggregated in SQL, rated by the pure core, snapshotted.

One module per concern; this package names what callers use:

- ``query``: what a request asks for (``LeaderboardQuery``), checked against what is stored;
- ``evidence``: the SQL aggregation of judgments, votes and imported battles into ratings' input;
- ``snapshots``: computing, storing, serving and caching the snapshots, and marking them stale;
- ``generation``: the cache counter that new results move on, retiring everything cached from them;
- ``display``: ratings and intervals as a person reads them.
"""

from .display import interval_text, rating_text, with_texts
from .evidence import battle_cells, ordered_battles, style_battles
from .generation import GENERATION_KEY, remembered
from .query import (
    ALL,
    HUMAN,
    JUDGE,
    MAX_PRIOR,
    LeaderboardError,
    LeaderboardQuery,
    available_categories,
    available_sources,
)
from .snapshots import (
    INTERNAL_KEYS,
    cached_text,
    compute_payload,
    get_leaderboard,
    get_rendered,
    mark_stale,
    recompute_leaderboard,
    recompute_stale,
)

__all__ = [
    "ALL", "GENERATION_KEY", "HUMAN", "INTERNAL_KEYS", "JUDGE", "MAX_PRIOR", "LeaderboardError", "LeaderboardQuery",
    "available_categories", "available_sources", "battle_cells", "cached_text", "compute_payload",
    "get_leaderboard", "get_rendered", "interval_text", "mark_stale", "ordered_battles", "rating_text",
    "recompute_leaderboard", "recompute_stale", "remembered", "style_battles", "with_texts",
]
