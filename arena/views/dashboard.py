"""Pages. Function-based, one template per page with named partials for htmx."""

from django.db.models import Count, Q, Sum
from django.shortcuts import render

from .. import agreement, leaderboards, ratings
from ..models import Competitor, HumanVote, ImportedBattle, JudgeConfig, JudgeEvaluation, Judgment, Prompt, Tournament


def home(request):
    context = {
        "tournaments": _tournament_progress(),
        "competitor_count": Competitor.objects.count(),
        "prompt_count": Prompt.objects.count(),
        "default_judge": JudgeConfig.objects.latest_named("default"),
        "evaluations": _latest_evaluations(),
        **_leaderboard_context(),
        "source_boards": _source_boards(),
        "agreement": agreement.agreement_report(),
    }
    # Poll only while something can change: a tournament being judged, or a leaderboard recompute.
    context["live"] = (any(t.status == Tournament.Status.RUNNING and t.done + t.failed < t.total
                           for t in context["tournaments"])
                       or bool(context["leaderboard"] and context["leaderboard"].get("updating")))
    if request.htmx:
        return render(request, "home.html#live", context)
    return render(request, "home.html", context)


def _tournament_progress():
    # Explicitly ordered: Django drops Meta.ordering from aggregate queries, and an unordered LIMIT
    # could leave the newest tournaments out.
    return Tournament.objects.select_related("judge_config").order_by("-created_at", "-pk").annotate(
        total=Count("matches"),
        done=Count("matches", filter=Q(matches__status="done")),
        failed=Count("matches", filter=Q(matches__status="failed")),
        tokens=Sum("matches__judgment__prompt_tokens"),
        cost=Sum("matches__judgment__cost_usd"),
    )[:20]


def _latest_evaluations() -> list[JudgeEvaluation]:
    """The newest judge_eval run of each judge configuration."""
    latest: dict[int, JudgeEvaluation] = {}
    for evaluation in JudgeEvaluation.objects.select_related("judge_config")[:200]:
        latest.setdefault(evaluation.judge_config_id, evaluation)
    return list(latest.values())


SUMMARY_ROWS = 10


def _leaderboard_context() -> dict:
    """The top of the combined leaderboard; the leaderboard page has the rest."""
    try:
        board = leaderboards.get_leaderboard(leaderboards.LeaderboardQuery())
    except (leaderboards.LeaderboardError, ratings.RatingError) as exc:
        return {"leaderboard": None, "leaderboard_problem": str(exc)}
    main = [row for row in board["models"] if row["component"] == 0]
    top = leaderboards.with_texts(main[:SUMMARY_ROWS])
    return {"leaderboard": board, "leaderboard_top": top, "leaderboard_more": len(board["models"]) - len(top),
            "leaderboard_groups": len(board["components"]), "leaderboard_problem": ""}


SOURCE_BOARDS = (("human", "Human votes"), ("gpt-4-review", "GPT-4 reviews"), ("judge", "Arena judges"))


def _source_boards() -> list[dict]:
    """One small leaderboard per kind of evidence, side by side, each saying where it comes from."""
    evidence = {"human": HumanVote.objects.exists(), "judge": Judgment.objects.exists(),
                "gpt-4-review": ImportedBattle.objects.filter(source="gpt-4-review").exists()}
    boards = []
    for source, title in SOURCE_BOARDS:
        if not evidence[source]:
            continue  # no snapshot is stored for a source with nothing to rate
        try:
            board = leaderboards.get_leaderboard(leaderboards.LeaderboardQuery(source=source))
        except (leaderboards.LeaderboardError, ratings.RatingError):
            continue
        if board["models"]:
            boards.append({"source": source, "title": title, "board": board})
    return boards
