"""One model seen from every side: its rating per source and category, head to head, style, matches.

Ratings come from the same stored leaderboard snapshots the leaderboard page serves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import F, Q

from . import leaderboards, ratings
from .models import Competitor, Judgment, Match

MAX_CATEGORIES = 12
MAX_MATCHES = 50
MAX_LENGTH_ROWS = 50_000  # judgments read for the length split; a sample beyond that


@dataclass
class ModelProfile:
    name: str
    by_source: list[dict] = field(default_factory=list)  # {"label", "row" or None, "problem"}
    by_category: list[dict] = field(default_factory=list)
    head_to_head: list[dict] = field(default_factory=list)
    style: dict | None = None
    length: dict | None = None
    matches: list[Match] = field(default_factory=list)


def model_profile(*, name: str) -> ModelProfile:
    """Raises Competitor.DoesNotExist for an unknown model."""
    competitor = Competitor.objects.get(name=name)
    profile = ModelProfile(name=name)
    overall = None
    for source in leaderboards.available_sources():
        entry = _entry(source, leaderboards.LeaderboardQuery(source=source), name)
        profile.by_source.append(entry)
        if source == leaderboards.ALL:
            overall = entry.pop("board")
        entry.pop("board", None)
    for category in leaderboards.available_categories()[:MAX_CATEGORIES]:
        entry = _entry(category, leaderboards.LeaderboardQuery(category=category), name)
        entry.pop("board")
        profile.by_category.append(entry)
    profile.head_to_head = head_to_head(overall, name) if overall else []
    profile.style = _style(name)
    profile.length = length_effect(competitor)
    profile.matches = list(
        Match.objects.filter(Q(competitor_a=competitor) | Q(competitor_b=competitor))
        .select_related("competitor_a", "competitor_b", "prompt", "tournament", "judgment")
        .order_by("-pk")[:MAX_MATCHES])
    return profile


def _entry(label: str, query: leaderboards.LeaderboardQuery, name: str) -> dict:
    try:
        board = leaderboards.get_leaderboard(query)
    except (leaderboards.LeaderboardError, ratings.RatingError) as exc:
        return {"label": label, "row": None, "problem": str(exc), "board": None}
    row = next((r for r in board["models"] if r["model"] == name), None)
    shown = None if row is None else {**row, "rating_text": leaderboards.rating_text(row),
                                      "interval_text": leaderboards.interval_text(row),
                                      "of": sum(1 for r in board["models"] if r["component"] == row["component"])}
    return {"label": label, "row": shown, "problem": "" if row else "no battles", "board": board}


def head_to_head(board: dict, name: str) -> list[dict]:
    """Every opponent with the record against it, and the win rate the ratings predict."""
    rows = {r["model"]: r for r in board["models"]}
    mine = rows.get(name)
    found = []
    for pair in board["pairs"]:
        if name not in (pair["a"], pair["b"]):
            continue
        first = pair["a"] == name
        opponent = pair["b"] if first else pair["a"]
        wins, losses = (pair["a_wins"], pair["b_wins"]) if first else (pair["b_wins"], pair["a_wins"])
        theirs = rows.get(opponent)
        predicted = None
        if mine and theirs and mine["rating"] is not None and theirs["rating"] is not None:
            predicted = float(ratings.expected_score(mine["rating"] - theirs["rating"]))
        found.append({"opponent": opponent, "battles": pair["battles"], "wins": wins, "losses": losses,
                      "ties": pair["ties"], "win_rate": (wins + pair["ties"] / 2) / pair["battles"],
                      "predicted": predicted})
    return sorted(found, key=lambda r: (-r["battles"], r["opponent"]))


def _style(name: str) -> dict | None:
    try:
        board = leaderboards.get_leaderboard(leaderboards.LeaderboardQuery(style_control=True))
    except (leaderboards.LeaderboardError, ratings.RatingError) as exc:
        return {"problem": str(exc)}
    row = next((r for r in board["models"] if r["model"] == name), None)
    if row is None or not board.get("raw_ratings"):
        return None
    return {"controlled": row["rating"], "raw": board["raw_ratings"].get(name),
            "coefficients": board.get("style_coefficients") or {}, "problem": ""}


def length_effect(competitor: Competitor) -> dict | None:
    """Its share of judge points when its answer was the longer one, and when it was the shorter one."""
    rows = (Judgment.objects.filter(Q(match__competitor_a=competitor) | Q(match__competitor_b=competitor))
            .values_list("score_a", "match__competitor_a_id", F("match__output_a__char_count"),
                         F("match__output_b__char_count"))[:MAX_LENGTH_ROWS])
    longer, shorter = [0.0, 0], [0.0, 0]
    for score_a, a_id, chars_a, chars_b in rows:
        is_a = a_id == competitor.pk
        points = score_a if is_a else 1.0 - score_a
        mine, theirs = (chars_a, chars_b) if is_a else (chars_b, chars_a)
        if mine == theirs:
            continue
        bucket = longer if mine > theirs else shorter
        bucket[0] += points
        bucket[1] += 1
    if not longer[1] and not shorter[1]:
        return None
    return {"longer_battles": longer[1], "longer_rate": longer[0] / longer[1] if longer[1] else None,
            "shorter_battles": shorter[1], "shorter_rate": shorter[0] / shorter[1] if shorter[1] else None}
