"""Benchmark quality of a leaderboard against a reference leaderboard, and what its neighbours' battles
can detect. Both boards come from the stored snapshots (``leaderboards.get_leaderboard``); the
statistics are the pure ones of ``ratings.quality`` and ``ratings.power``.

Only each board's largest group of connected models is compared: ratings of different groups are not
comparable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from . import leaderboards
from .models import Competitor, HumanVote, Judgment, Tournament
from .ratings import power
from .ratings.quality import Placement, Spread, anchor_informativeness, benchmark_quality

SCREEN_PREFIX = "anchor screen"  # the name of the tournaments of an anchor screen (see anchors.py)


def compare(*, query: leaderboards.LeaderboardQuery, reference: leaderboards.LeaderboardQuery) -> dict:
    """Separability, agreement with confidence, Brier, Spearman and Kendall of ``query``'s board
    against ``reference``'s, with the number of pairs each stands on.

    Raises LeaderboardError for a bad query and RatingError when either board cannot be rated.
    """
    board = leaderboards.get_leaderboard(query)
    other = leaderboards.get_leaderboard(reference)
    spread = Spread.from_dict(board["spread"]) if board.get("spread") else None
    found = benchmark_quality(placements(board), placements(other), spread)
    return {**found.as_dict(), "updating": bool(board.get("updating") or other.get("updating")),
            "neighbours": neighbours(board)}


def placements(board: dict) -> list[Placement]:
    """The largest group's models, best first, with their intervals (an open side is infinite)."""
    rows = sorted((row for row in board["models"] if row["component"] == 0), key=lambda row: row["rank"])
    return [Placement(row["model"], _bound(row["ci_low"], float("-inf")), _bound(row["ci_high"], float("inf")))
            for row in rows]


def neighbours(board: dict) -> list[dict]:
    """For each adjacent pair of the largest group: their decisive battles, the smallest win rate those
    detect (one-sided sign test, alpha 0.05, 80% power) and whether their intervals separate them."""
    order = [(p.model, p.low, p.high) for p in placements(board)]
    head_to_head = {(p["a"], p["b"]): (p["a_wins"], p["b_wins"], p["ties"]) for p in board.get("pairs", [])}
    return [asdict(found) for found in power.neighbours(order, head_to_head)]


def human_reference(*, tournament: Tournament) -> leaderboards.LeaderboardQuery | None:
    """The human board, when humans voted on at least two of the tournament's models (else None)."""
    competitors = set(tournament.competitors.values_list("pk", flat=True))
    voted = set(HumanVote.objects.values_list("output_a__competitor_id", flat=True).distinct()) | set(
        HumanVote.objects.values_list("output_b__competitor_id", flat=True).distinct())
    if len(competitors & voted) < 2:
        return None
    return leaderboards.LeaderboardQuery(source=leaderboards.HUMAN)


def _bound(value: float | None, open_side: float) -> float:
    return open_side if value is None else float(value)


def tournament_anchor_informativeness(*, tournament: Tournament) -> dict | None:
    """For an anchor tournament: the share of (prompt, pair of models) cases where the two models got
    different verdicts against the anchor, from its judgments (None for other schedules or no anchor)."""
    if tournament.schedule != Tournament.Schedule.ANCHOR or tournament.anchor_id is None:
        return None
    rows = Judgment.objects.filter(match__tournament=tournament).values_list(
        "match__prompt_id", "match__competitor_a_id", "match__competitor_b_id", "score_a")
    anchor = tournament.anchor_id
    scores = {(prompt, b if a == anchor else a): (1.0 - score if a == anchor else score)
              for prompt, a, b, score in rows if anchor in (a, b)}
    share, cases = anchor_informativeness(scores)
    return {"anchor": tournament.anchor.name, "informativeness": share, "cases": cases}


def screened_anchors(*, competitors: Sequence[Competitor]) -> list[dict]:
    """Informativeness of each screened anchor among ``competitors``, best first: from the finished
    anchor screens (``anchors.screen_anchors``) that played all of them (the latest screen per anchor)."""
    wanted = {c.pk for c in competitors}
    found: dict[str, dict] = {}
    screens = (Tournament.objects.filter(name__startswith=SCREEN_PREFIX, status=Tournament.Status.FINISHED,
                                         anchor__in=wanted).select_related("anchor").order_by("-pk"))
    for screen in screens:
        if screen.anchor.name in found or not wanted <= set(screen.competitors.values_list("pk", flat=True)):
            continue
        figure = tournament_anchor_informativeness(tournament=screen)
        if figure and figure["cases"]:
            found[screen.anchor.name] = {**figure, "tournament": screen.name}
    return sorted(found.values(), key=lambda f: (-f["informativeness"], f["anchor"]))
