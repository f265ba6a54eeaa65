"""How a tournament is doing: progress, spending, ETA, and its matches with the judge's reasons."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db.models import Count, Max, Min, Q, QuerySet

from .models import SPENT_SUMS, Judgment, Match, Tournament, progress_of, spent_of


def tournament_summary(tournament: Tournament) -> dict:
    return tournament_summaries([tournament])[0]


def tournament_summaries(tournaments: Sequence[Tournament]) -> list[dict]:
    """Each tournament's progress, spending and ETA: two grouped queries for the whole page, whatever its
    length (select ``judge_config`` with the tournaments, or each name costs one more)."""
    ids = [t.pk for t in tournaments]
    counts: dict[int, dict] = defaultdict(dict)
    for tournament_id, status, n in (Match.objects.filter(tournament_id__in=ids).order_by()
                                     .values_list("tournament_id", "status").annotate(n=Count("pk"))):
        counts[tournament_id][status] = n
    judged = {row["match__tournament_id"]: row for row in (
        Judgment.objects.filter(match__tournament_id__in=ids).order_by().values("match__tournament_id")
        .annotate(**SPENT_SUMS, first=Min("created_at"), last=Max("created_at")))}
    return [_summary(t, progress_of(counts[t.pk]), judged.get(t.pk, {})) for t in tournaments]


def _summary(tournament: Tournament, counts: dict, judged: dict) -> dict:
    return {
        "id": tournament.pk, "name": tournament.name, "status": tournament.status,
        "schedule": "single_elimination" if tournament.schedule == Tournament.Schedule.BRACKET
        else tournament.schedule,
        "judge": str(tournament.judge_config),
        "progress": {**counts, "eta_seconds": eta_seconds(tournament, counts, judged)},
        "spent": spent_of(judged), "budget": tournament.budget, "estimate": tournament.plan.get("estimate"),
        "created_at": tournament.created_at, "finished_at": tournament.finished_at,
    }


def eta_seconds(tournament: Tournament, counts: dict, span: dict) -> float | None:
    """Seconds left at the pace judgments have landed so far (``span``: the first and last judgment's
    time); the estimate's pace before two have."""
    if tournament.status != Tournament.Status.RUNNING:
        return None
    left = counts["pending"] + counts["running"]
    if not left:
        return 0.0
    if counts["done"] >= 2 and span.get("first") and span["last"] > span["first"]:
        per_match = (span["last"] - span["first"]).total_seconds() / (counts["done"] - 1)
        return round(left * per_match, 1)
    estimate = tournament.plan.get("estimate") or {}
    if estimate.get("seconds") is not None and estimate.get("matches"):
        return round(left * estimate["seconds"] / estimate["matches"], 1)
    return None


def matches(*, tournament: int | None = None, status: str | None = None, model: str | None = None) -> QuerySet:
    rows = Match.objects.select_related("prompt", "competitor_a", "competitor_b", "judgment")
    if tournament is not None:
        rows = rows.filter(tournament_id=tournament)
    if status:
        rows = rows.filter(status=status)
    if model:
        rows = rows.filter(Q(competitor_a__name=model) | Q(competitor_b__name=model))
    return rows


def match_dicts(page: Sequence[Match]) -> list[dict]:
    """A page of ``matches()`` as the API shows it (the page is already sliced in SQL)."""
    return [match_dict(m) for m in page]


def match_dict(match: Match) -> dict:
    judgment = getattr(match, "judgment", None)
    return {
        "id": match.pk, "tournament": match.tournament_id, "prompt": match.prompt.external_id,
        "round": match.round, "bracket": match.bracket, "model_a": match.competitor_a.name,
        "model_b": match.competitor_b.name, "output_a": match.output_a_id, "output_b": match.output_b_id,
        "status": match.status, "error": match.last_error,
        "winner": judgment.winner if judgment else None, "prob_a": judgment.prob_a if judgment else None,
        "forward": judgment.forward if judgment else None, "backward": judgment.backward if judgment else None,
    }
