"""The "how sure" section of the leaderboard and tournament pages: benchmark quality against a reference
board and what each pair of neighbours' battles can detect."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from .. import leaderboards, quality, ratings
from ..models import Tournament


def section(query: leaderboards.LeaderboardQuery, compare: str) -> SafeString:
    """The leaderboard page's section with quality against ``compare`` (a second board, so not cached
    with the first); without one, the page caches ``neighbours_section`` with its board."""
    context: dict = {"compare": compare}
    try:
        context["neighbours"] = _texts(quality.neighbours(leaderboards.get_leaderboard(query)))
        if compare:
            context["quality"] = quality.compare(query=query, reference=leaderboards.LeaderboardQuery(source=compare))
    except (leaderboards.LeaderboardError, ratings.RatingError) as exc:
        context["quality_problem"] = str(exc)
    return mark_safe(render_to_string("_quality.html", context))  # our template's output, escaped inside


def neighbours_section(board: dict) -> str:
    """The section for one board: what each pair of neighbours' battles can detect. It depends on the board
    alone, so the page renders it once per snapshot with the board (its power calculation for 100 models
    costs more CPU than the rest of the page: benchmarks/leaderboard_page_cpu.py)."""
    return render_to_string("_quality.html", {"compare": "", "neighbours": _texts(quality.neighbours(board))})


def tournament_section(tournament: Tournament) -> dict:
    """The tournament page's figures: its board against the human board, when humans voted on its models,
    and its anchor's informativeness."""
    anchor = quality.tournament_anchor_informativeness(tournament=tournament)
    reference = quality.human_reference(tournament=tournament)
    if reference is None:
        return {"quality": None, "anchor_informativeness": anchor}
    query = leaderboards.LeaderboardQuery(source=leaderboards.JUDGE, tournament=str(tournament.pk))
    try:
        found = quality.compare(query=query, reference=reference)
    except (leaderboards.LeaderboardError, ratings.RatingError):
        return {"quality": None, "anchor_informativeness": anchor}
    return {"quality": found, "compare": reference.source, "neighbours": _texts(found["neighbours"]),
            "anchor_informativeness": anchor}


def _texts(neighbours: list[dict]) -> list[dict]:
    return [{**row, "observed_text": _percent(row["observed_win_rate"]),
             "detectable_text": _detectable_text(row)} for row in neighbours]


def _detectable_text(row: dict) -> str:
    if row["decisive"] + row["ties"] == 0:
        return "never met"
    return _percent(row["detectable_win_rate"], "none: too few decisive battles")


def _percent(value: float | None, missing: str = "–") -> str:
    return missing if value is None else f"{100 * value:.1f}%"
