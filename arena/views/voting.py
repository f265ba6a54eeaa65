"""The blind voting page: a battle, four buttons, names revealed after the vote.

Every action works without JavaScript (plain GET and POST forms, POST-redirect-GET after a vote);
with htmx the battle area is swapped in place. Nothing before the vote names a model.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from .. import voting
from ..models import BattleTicket, Competitor, Dataset, Prompt

KEYS = (("a", "A is better", "A"), ("b", "B is better", "B"), ("tie", "Tie", "T"), ("bothbad", "Both are bad", "N"))


def vote(request: HttpRequest) -> HttpResponse:
    if settings.ARENA_VOTE_REQUIRE_LOGIN and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.method == "POST":
        return _cast(request)
    try:
        battle_filter = _filter(request.GET)
        ticket = voting.issue_ticket(voter=_voter(request, create_session=True), battle_filter=battle_filter)
    except voting.VoteRejected as exc:
        return _page(request, {"problem": str(exc)}, _filter_or_none(request.GET), status=exc.status)
    left, right = voting.battle_outputs(ticket)
    context = {"ticket": ticket, "turns": _conversation(left.prompt.turns, left.turns, right.turns)}
    return _page(request, context, battle_filter)


def voted(request: HttpRequest, token: str) -> HttpResponse:
    """The page a no-JS vote redirects to: the same battle with the names revealed."""
    battle_filter = _filter_or_none(request.GET)
    try:
        ticket = BattleTicket.objects.filter(token=voting.check_token(token), used_at__isnull=False).first()
    except voting.VoteRejected:
        ticket = None  # a token the database cannot even compare names no battle
    if ticket is None or not voting._owns(ticket, _voter(request)):
        return _page(request, {"problem": "no vote of yours on this battle"}, battle_filter, status=404)
    return _page(request, _reveal_context(ticket), battle_filter)


def filters(request: HttpRequest) -> HttpResponse:
    try:
        battle_filter, status = _filter(request.GET), 200
    except voting.VoteRejected as exc:
        battle_filter, status = voting.BattleFilter(), exc.status
    return render(request, "vote_filters.html", {"filter": battle_filter, **_filter_choices()}, status=status)


def _cast(request: HttpRequest) -> HttpResponse:
    try:
        battle_filter = _filter(request.POST)
        outcome = voting.record_vote(token=request.POST.get("ticket", ""), choice=request.POST.get("choice", ""),
                                     voter=_voter(request))
    except voting.VoteRejected as exc:
        return _page(request, {"problem": str(exc), "retry": True}, _filter_or_none(request.POST), status=exc.status)
    if not request.htmx:
        query = urlencode(battle_filter.query_params(), doseq=True)
        return redirect(reverse("voted", args=[outcome.ticket.token]) + (f"?{query}" if query else ""))
    return _page(request, _reveal_context(outcome.ticket), battle_filter)


def _reveal_context(ticket: BattleTicket) -> dict:
    vote = getattr(ticket, "vote", None)
    labels = {voting.CHOICES[value]: label for value, label, _ in KEYS}
    return {"revealed": voting.reveal(ticket), "choice": labels.get(vote.winner, "") if vote else ""}


def _page(request: HttpRequest, context: dict, battle_filter: voting.BattleFilter, *, status: int = 200):
    query = urlencode(battle_filter.query_params(), doseq=True)
    context = {**context, "keys": KEYS, "filter": battle_filter, "filter_query": query,
               "next_url": reverse("vote") + (f"?{query}" if query else "")}
    if request.htmx:
        return render(request, "vote.html#battle", context, status=status)
    return render(request, "vote.html", context, status=status)


def _filter_choices() -> dict:
    return {
        "datasets": list(Dataset.objects.values_list("name", flat=True)),
        "categories": list(Prompt.objects.exclude(category="").order_by("category")
                           .values_list("category", flat=True).distinct()),
        "competitors": list(Competitor.objects.filter(~Q(output_rows=None)).distinct().values_list("name", flat=True)),
    }


def _filter(params) -> voting.BattleFilter:
    return voting.battle_filter(dataset=params.get("dataset", ""), category=params.get("category", ""),
                                models=params.getlist("model"))


def _filter_or_none(params) -> voting.BattleFilter:
    """The request's filter for the links of an error page; none when the filter is what is wrong."""
    try:
        return _filter(params)
    except voting.VoteRejected:
        return voting.BattleFilter()


def _voter(request: HttpRequest, *, create_session: bool = False) -> voting.Voter:
    """Who is asking. Only a request for a new battle starts a session (a row written for an anonymous
    visitor, so it counts against the address's hourly limit); a vote or a reveal without one owns
    nothing anyway."""
    user_id = request.user.pk if request.user.is_authenticated else None
    voter = voting.Voter(session_key=request.session.session_key or "", ip=request.META.get("REMOTE_ADDR"),
                         user_id=user_id)
    if create_session and not voter.session_key:
        voting.take_anonymous_write(voter)
        request.session.save()
        voter = voting.Voter(session_key=request.session.session_key, ip=voter.ip, user_id=user_id)
    return voter


def _conversation(prompt_turns: list[str], left: list[str], right: list[str]) -> list[dict]:
    """One row per turn: the user's message and both answers to it."""
    return [{"user": user, "left": left[i] if i < len(left) else "", "right": right[i] if i < len(right) else ""}
            for i, user in enumerate(prompt_turns)]
