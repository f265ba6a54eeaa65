"""Tournament pages: the list, the create form with a live estimate, one tournament, one match."""

from __future__ import annotations

from collections import defaultdict

from django import forms
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .. import estimates, leaderboards, lifecycle, progress, ratings, tasks
from ..models import Competitor, Dataset, HumanVote, JudgeConfig, Match, Prompt, Tournament
from ..scopes import RUN, user_may
from ..tournaments import TournamentError
from . import quality
from .access import scope_required

SCHEDULES = [("round_robin", "Round robin: every pair on every prompt"),
             ("anchor", "Anchor: everyone against one model"),
             ("single_elimination", "Single elimination: brackets per prompt"),
             ("adaptive", "Adaptive: most informative pairs first"),
             ("groupwise", "Groupwise: groups of k per prompt, one call per group (listwise judges)")]


LIST_PAGE = 100


def tournament_list(request):
    """Newest first, a page at a time (?page=2): sliced in SQL, summaries in two queries per page."""
    newest = Tournament.objects.select_related("judge_config").order_by("-created_at", "-pk")
    page = Paginator(newest, LIST_PAGE).get_page(request.GET.get("page"))
    return render(request, "tournaments/list.html", {"tournaments": progress.tournament_summaries(page.object_list),
                                                     "page": page, "can_run": user_may(request.user, RUN)})


class TournamentForm(forms.Form):
    name = forms.CharField(max_length=200)
    schedule = forms.ChoiceField(choices=SCHEDULES)
    models = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)
    judge = forms.ChoiceField()
    dataset = forms.ChoiceField(required=False)
    category = forms.CharField(required=False, max_length=100)
    prompt_ids = forms.CharField(required=False, label="Prompt ids (comma-separated, optional)")
    anchor = forms.ChoiceField(required=False, label="Anchor (anchor schedule; blank: the suggestion)")
    brackets_per_prompt = forms.IntegerField(min_value=1, max_value=16, initial=1,
                                             label="Brackets per prompt (single elimination)")
    seeding = forms.ChoiceField(choices=[("random", "random"), ("rating", "by current rating")],
                                label="Seeding (single elimination)")
    budget_calls = forms.IntegerField(required=False, min_value=1, label="Budget: judge calls")
    budget_tokens = forms.IntegerField(required=False, min_value=1, label="Budget: tokens")
    budget_usd = forms.FloatField(required=False, min_value=0.0001, label="Budget: USD")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, label_suffix="", **kwargs)
        names = list(Competitor.objects.values_list("name", flat=True))
        self.fields["models"].choices = [(n, n) for n in names]
        self.fields["anchor"].choices = [("", "suggested")] + [(n, n) for n in names]
        self.fields["judge"].choices = [(str(j.pk), str(j)) for j in JudgeConfig.objects.all()]
        datasets = Dataset.objects.values_list("name", flat=True)
        self.fields["dataset"].choices = [("", "all")] + [(d, d) for d in datasets]

    def request(self) -> dict:
        data = self.cleaned_data
        ids = [i.strip() for i in data["prompt_ids"].split(",") if i.strip()]
        budget = {cap: data[f"budget_{cap}"] for cap in ("calls", "tokens", "usd") if data[f"budget_{cap}"]}
        return {"name": data["name"], "schedule": data["schedule"], "models": data["models"], "judge": data["judge"],
                "prompts": lifecycle.PromptSelection(dataset=data["dataset"], category=data["category"], ids=ids),
                "anchor": data["anchor"], "brackets_per_prompt": data["brackets_per_prompt"],
                "seeding": data["seeding"], "budget": budget}


@scope_required("run")
def tournament_new(request):
    form = TournamentForm(request.POST or None, initial={"dataset": "mt_bench", "judge": _default_judge()})
    if request.method == "POST" and form.is_valid():
        try:
            tournament, _ = lifecycle.open_tournament(**form.request(), start="draft" not in request.POST,
                                                      created_by=request.user)
        except TournamentError as exc:
            form.add_error(None, str(exc))
        else:
            tasks.enqueue_pending(tournament=tournament)
            return redirect("tournament", tournament_id=tournament.pk)
    return render(request, "tournaments/new.html", {"form": form, **_estimate_context(form)})


@scope_required("run")
@require_POST
def tournament_estimate(request):
    form = TournamentForm(request.POST)
    return render(request, "tournaments/new.html#estimate", _estimate_context(form))


def _estimate_context(form: TournamentForm) -> dict:
    if not form.is_bound:
        return {"estimate": None, "problem": "", "suggestion": None}
    if not form.is_valid():
        return {"estimate": None, "suggestion": None,
                "problem": "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())}
    competitors = list(Competitor.objects.filter(name__in=form.cleaned_data["models"]))
    suggestion = estimates.suggest_anchor(competitors=competitors)
    try:
        return {"estimate": lifecycle.preview(**form.request()), "problem": "", "suggestion": suggestion}
    except TournamentError as exc:
        return {"estimate": None, "problem": str(exc), "suggestion": suggestion}


def _default_judge() -> str:
    judge = JudgeConfig.objects.latest_named("default")
    return str(judge.pk) if judge else ""


def tournament_detail(request, tournament_id: int, *, refusal: str = "", status: int = 200):
    tournament = get_object_or_404(Tournament.objects.select_related("judge_config", "anchor"), pk=tournament_id)
    summary = progress.tournament_summary(tournament)
    context = {"t": tournament, "summary": summary,
               "failures": tournament.matches.filter(status=Match.Status.FAILED)
                                              .select_related("competitor_a", "competitor_b", "prompt")[:50],
               "controls": _controls(tournament.status, failed=summary["progress"]["failed"]), "refusal": refusal,
               **_leaderboard(tournament)}
    if request.htmx:
        return render(request, "tournaments/detail.html#live", context, status=status)
    context["brackets"] = _brackets(tournament) if tournament.schedule == Tournament.Schedule.BRACKET else None
    context.update(quality.tournament_section(tournament))
    context["recent"] = progress.matches(tournament=tournament.pk).filter(status=Match.Status.DONE) \
        .order_by("-pk")[:20]
    context["can_run"] = user_may(request.user, RUN)
    return render(request, "tournaments/detail.html", context, status=status)


def _controls(state: str, *, failed: int) -> list[dict]:
    """The buttons for what the state table allows now (retry only when something failed)."""
    labels = {"start": "Start", "pause": "Pause", "resume": "Resume", "cancel": "Cancel",
              "retry-failed": "Retry failed"}
    allowed = [a for a in lifecycle.allowed_actions(state) if a in labels and (failed or a != "retry-failed")]
    return [{"action": str(a), "label": labels[a], "secondary": a == "cancel"} for a in allowed]


def _leaderboard(tournament: Tournament) -> dict:
    try:
        query = leaderboards.LeaderboardQuery(source="judge", tournament=str(tournament.pk))
        board = leaderboards.get_leaderboard(query)
    except (leaderboards.LeaderboardError, ratings.RatingError) as exc:
        return {"leaderboard": None, "leaderboard_problem": str(exc)}
    return {"leaderboard": board, "leaderboard_rows": leaderboards.with_texts(board["models"]),
            "leaderboard_problem": ""}


def _brackets(tournament: Tournament) -> list[dict]:
    """Per prompt and bracket, the rounds in order, each a list of matches (who beat whom)."""
    grouped: dict[tuple, dict[int, list[Match]]] = defaultdict(lambda: defaultdict(list))
    rows = tournament.matches.select_related("prompt", "competitor_a", "competitor_b", "judgment") \
        .order_by("prompt__external_id", "bracket", "round", "pk")[:2000]
    for match in rows:
        grouped[(match.prompt.external_id, match.bracket)][match.round].append(match)
    return [{"prompt": prompt, "bracket": bracket, "rounds": [rounds[r] for r in sorted(rounds)]}
            for (prompt, bracket), rounds in grouped.items()]


ACTIONS = {"pause": lifecycle.pause, "resume": lifecycle.resume, "cancel": lifecycle.cancel,
           "retry-failed": lifecycle.retry_failed, "start": lifecycle.start}


@scope_required("run")
@require_POST
def tournament_action(request, tournament_id: int, action: str):
    """The front door's verb, then back to the tournament; a refusal is the page itself with the
    reason and the status the API gives (404 unknown action, 409 state, 400 otherwise)."""
    tournament = get_object_or_404(Tournament, pk=tournament_id)
    if action not in ACTIONS:
        return tournament_detail(request, tournament.pk, refusal=f"unknown action {action!r}", status=404)
    try:
        ACTIONS[action](tournament=tournament)
    except TournamentError as exc:
        status = 409 if isinstance(exc, lifecycle.Conflict) else 400
        return tournament_detail(request, tournament.pk, refusal=str(exc), status=status)
    tasks.enqueue_pending(tournament=tournament)
    return redirect("tournament", tournament_id=tournament.pk)


def match_detail(request, match_id: int):
    match = get_object_or_404(Match.objects.select_related(
        "prompt", "competitor_a", "competitor_b", "output_a", "output_b", "tournament", "judgment"), pk=match_id)
    judgment = getattr(match, "judgment", None)
    same_pair = Q(output_a=match.output_a, output_b=match.output_b) | Q(output_a=match.output_b,
                                                                      output_b=match.output_a)
    votes = HumanVote.objects.filter(same_pair).select_related("output_a__competitor")
    return render(request, "tournaments/match.html", {
        "match": match, "judgment": judgment, "prompt": match.prompt,
        "turns": _turns(match.prompt, match.output_a.turns, match.output_b.turns),
        "verdicts": _verdicts(match, judgment) if judgment else [],
        "checks": _checks(judgment),
        "votes": [{"winner": _vote_winner(v, match), "created_at": v.created_at} for v in votes],
    })


def _verdicts(match: Match, judgment) -> list[dict]:
    """Each order's verdict with its slots named: the backward verdict is stored in its own
    presentation order, so its "a" is the match's B."""
    a, b = match.competitor_a.name, match.competitor_b.name
    first_title = "Output A shown first"
    if (judgment.forward or {}).get("extra", {}).get("decided_by") == "checks":
        first_title = "Verifiable checks (no judge call)"
    elif (judgment.forward or {}).get("extra", {}).get("listwise"):
        first_title = "Listwise judgment of the group"
    elif (judgment.forward or {}).get("extra", {}).get("panel"):
        first_title = "The panel (each member in both orders)"
    elif (judgment.forward or {}).get("extra", {}).get("pair_criteria"):
        first_title = "Pair-specific criteria (each judged in both orders)"
    shown = [(first_title, judgment.forward, a, b), ("Output B shown first", judgment.backward, b, a)]
    views = []
    for title, verdict, first, second in shown:
        if not verdict:
            continue
        names = {"a": first, "b": second, "tie": "tie"}
        criteria = [{**c, "winner": names.get(c["winner"], c["winner"])} for c in verdict.get("criteria", [])]
        views.append({"title": title, "first": first, "v": verdict, "criteria": criteria,
                      "winner": names.get(verdict.get("winner"), verdict.get("winner")),
                      "listwise": _listwise(verdict), "panel": _panel(verdict, names)})
    if views and (views[0]["v"].get("extra") or {}).get("pair_criteria"):
        # Both stored verdicts hold the same criteria (judged together, once): shown once, in the
        # stored order, by model name.
        views[0]["pair_criteria"] = _pair_criteria(views[0]["v"], a, b)
        views[0]["criteria"] = []
        views = views[:1]
    return views


def _pair_criteria(verdict: dict, first: str, second: str) -> dict:
    """The criteria rows with winners as the page's slot letters (A is the match's first output)."""
    data = verdict["extra"]["pair_criteria"]
    letters = {"a": "A", "b": "B", "tie": "tie"}
    rows = [{**row, **{k: letters.get(row.get(k), "?") for k in ("forward", "backward", "winner")}}
            for row in data.get("criteria", [])]
    return {"rows": rows, "rejected": data.get("rejected", []), "decided_by": data.get("decided_by", ""),
            "via": data.get("via", ""), "first": first, "second": second}


def _panel(verdict: dict, names: dict) -> dict | None:
    """A panel verdict's rule and each member's verdict, winners by model name."""
    data = (verdict.get("extra") or {}).get("panel")
    if not data:
        return None
    members = [{**m, "winner": names.get(m.get("winner"), m.get("winner") or "")} for m in data.get("members", [])]
    return {"rule": data.get("rule"), "members": members}


def _listwise(verdict: dict) -> dict | None:
    """A listwise verdict's group, its permutations and each label's probability, by model name."""
    data = (verdict.get("extra") or {}).get("listwise")
    if not data:
        return None
    group = data.get("group") or [f"answer {i + 1}" for i in range(len(data.get("scores", [])))]
    labels = "ABCDEFGH"
    rows = []
    for shown in data.get("permutations", []):
        probs = shown.get("label_probs") or {}
        ranking = [group[c] for c in shown.get("ranking", []) if c < len(group)]
        rows.append({"cells": [{"label": labels[p], "model": group[c] if c < len(group) else "?",
                                "prob": probs.get(labels[p])} for p, c in enumerate(shown.get("order", []))],
                     "ranking": " > ".join(ranking)})
    scores = [{"model": name, "score": score} for name, score in zip(group, data.get("scores", []), strict=False)]
    return {"via": data.get("via"), "calls": data.get("calls"), "charged": data.get("charged"), "rows": rows,
            "scores": sorted(scores, key=lambda s: -s["score"])}


_CHECK_OUTCOMES = {True: "pass", False: "fail", None: "does not apply"}


def _checks(judgment) -> dict | None:
    """The verifiable checks' results on the pair (stored order), worded for the page."""
    report = getattr(judgment, "checks", None) or {}
    if not report.get("results"):
        return None
    rows = [{**r, "a": _CHECK_OUTCOMES.get(r.get("a")), "b": _CHECK_OUTCOMES.get(r.get("b"))}
            for r in report["results"]]
    return {"rows": rows, "decided": report.get("decision") is not None, "reason": report.get("reason", "")}


def _turns(prompt: Prompt, a: list[str], b: list[str]) -> list[dict]:
    reference = prompt.reference or []
    return [{"number": i + 1, "user": turn, "a": a[i] if i < len(a) else "", "b": b[i] if i < len(b) else "",
             "reference": reference[i] if i < len(reference) else ""} for i, turn in enumerate(prompt.turns)]


def _vote_winner(vote: HumanVote, match: Match) -> str:
    """The vote in this match's terms (the voter may have seen the outputs the other way round)."""
    if vote.winner not in ("a", "b"):
        return vote.winner
    chose_first = vote.winner == "a"
    return match.competitor_a.name if chose_first == (vote.output_a_id == match.output_a_id) \
        else match.competitor_b.name
