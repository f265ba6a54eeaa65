"""Human voting: blind battles issued as tickets, one vote per ticket, checked live.

A ticket stores what the voter saw (prompt, left and right outputs, when, to whom); the page and
every response before the vote carry only its random token. ``record_vote`` takes the token and a
choice, checks the ticket (owner, age, not used, not too fast) and the voter's rate limits, and
stores a ``HumanVote`` with the left output as ``a``. A rejected vote changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from . import leaderboards
from .cache_guard import guarded
from .limits import check_text, column_chars
from .models import BattleTicket, Competitor, Dataset, HumanVote, LeaderboardSnapshot, Output, Prompt

CHOICES = {"a": HumanVote.Winner.A, "b": HumanVote.Winner.B, "tie": HumanVote.Winner.TIE,
           "bothbad": HumanVote.Winner.BOTH_BAD}
# How long the candidate outputs and per-pair vote counts behind pair choice may lag behind the database.
PAIR_STATS_SECONDS = 10
# A battle filter names at most this many models (the filters page lists every model with outputs).
MAX_FILTER_MODELS = 500
# Choosing again after a lost race or a vanished output; more than a few in a row means something is wrong.
ISSUE_ATTEMPTS = 3
T = TypeVar("T")


class VoteRejected(ValueError):
    """A vote or battle request that cannot be accepted; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status


class NoBattle(VoteRejected):
    def __init__(self, message: str):
        super().__init__(message, status=404)


@dataclass(frozen=True)
class Voter:
    """Who is voting: the Django session always; the user when logged in."""

    session_key: str
    ip: str | None = None
    user_id: int | None = None


@dataclass(frozen=True)
class BattleFilter:
    dataset: str = ""
    category: str = ""
    models: tuple[str, ...] = field(default_factory=tuple)

    def query_params(self) -> dict[str, str | list[str]]:
        params: dict[str, str | list[str]] = {}
        if self.dataset:
            params["dataset"] = self.dataset
        if self.category:
            params["category"] = self.category
        if self.models:
            params["model"] = list(self.models)
        return params

    def key(self) -> str:
        return hashlib.sha256(json.dumps([self.dataset, self.category, sorted(self.models)]).encode()).hexdigest()


# --- issuing a battle --------------------------------------------------------------------------------

def battle_filter(*, dataset: str = "", category: str = "", models: Sequence[str] = ()) -> BattleFilter:
    """A filter from a page's parameters, each checked as text the database can compare
    (``arena.limits``): a bad one is ``VoteRejected`` (400) naming the parameter."""
    if len(models) > MAX_FILTER_MODELS:
        raise VoteRejected(f"too many models in the filter ({len(models)}); choose at most {MAX_FILTER_MODELS}")
    try:
        check_text(dataset, name="dataset", max_chars=column_chars(Dataset, "name"))
        check_text(category, name="category", max_chars=column_chars(Prompt, "category"))
        for model in models:
            check_text(model, name="model", max_chars=column_chars(Competitor, "name"))
    except ValueError as exc:
        raise VoteRejected(str(exc)) from None
    return BattleFilter(dataset=dataset, category=category, models=tuple(models))


def check_token(token: str) -> str:
    """A ticket token from a form or a URL: text the database can compare, else ``VoteRejected`` (400)."""
    try:
        return check_text(token, name="ticket", max_chars=column_chars(BattleTicket, "token"))
    except ValueError as exc:
        raise VoteRejected(str(exc)) from None


def issue_ticket(*, voter: Voter, battle_filter: BattleFilter, rng: random.Random | None = None) -> BattleTicket:
    """A blind battle for this voter: one they hold no ticket for while such a battle is left; then
    the oldest unused ticket they hold here, shown again; ``NoBattle`` once they voted on them all.

    A voter holds at most one ticket per battle (prompt and pair of outputs): a unique constraint
    says so, so two concurrent requests that draw the same battle share its one ticket.
    """
    rng = rng or random.Random()
    for _ in range(ISSUE_ATTEMPTS):
        try:
            left, right = choose_pair(voter=voter, battle_filter=battle_filter, rng=rng)
        except NoBattle:
            return _show_again(voter, battle_filter)
        if rng.random() < 0.5:
            left, right = right, left
        try:
            take_anonymous_write(voter)
        except VoteRejected:
            return _show_again_or(voter, battle_filter)
        try:
            with transaction.atomic():
                return BattleTicket.objects.create(
                    token=BattleTicket.new_token(), prompt_id=left.prompt_id, output_left_id=left.pk,
                    output_right_id=right.pk, session_key=voter.session_key, user_id=voter.user_id, ip=voter.ip,
                )
        except IntegrityError:
            held = _tickets_of(voter).filter(output_left_id__in=(left.pk, right.pk),
                                             output_right_id__in=(left.pk, right.pk)).first()
            if held is not None:
                # This voter's concurrent request took the battle first: theirs is the voter's ticket.
                if _restart(held):
                    return held
                continue  # and it was voted on meanwhile: choose again
            # The cached candidates named an output deleted since: forget them and choose again.
            guarded(cache.delete, _battles_key(battle_filter))
    raise NoBattle("no battle could be issued; try again")


def _tickets_of(voter: Voter) -> QuerySet[BattleTicket]:
    """The voter's tickets: a logged-in voter's own, an anonymous voter's session's."""
    if voter.user_id is not None:
        return BattleTicket.objects.filter(user_id=voter.user_id)
    if not voter.session_key:
        return BattleTicket.objects.none()
    return BattleTicket.objects.filter(session_key=voter.session_key, user__isnull=True)


def _show_again(voter: Voter, battle_filter: BattleFilter) -> BattleTicket:
    """The voter's least recently shown unused ticket for a battle these filters allow."""
    battles = _battles(battle_filter)
    for ticket in _tickets_of(voter).filter(used_at__isnull=True).order_by("issued_at", "pk"):
        if battles.allows(ticket) and _restart(ticket):
            return ticket
    raise NoBattle("no battle left for you here: you have judged every pair these filters allow")


def _show_again_or(voter: Voter, battle_filter: BattleFilter) -> BattleTicket:
    """Past the address's limit a voter still gets the battles they hold; only a new one is refused."""
    try:
        return _show_again(voter, battle_filter)
    except NoBattle:
        raise VoteRejected(_too_many_writes(), status=429) from None


def _restart(ticket: BattleTicket) -> bool:
    """Show an unused ticket again from now (an expired one becomes valid again); False once voted on."""
    now = timezone.now()
    if not BattleTicket.objects.filter(pk=ticket.pk, used_at__isnull=True).update(issued_at=now):
        return False
    ticket.issued_at = now
    return True


@dataclass(frozen=True)
class Candidate:
    pk: int
    prompt_id: int
    competitor_id: int


def choose_pair(*, voter: Voter, battle_filter: BattleFilter, rng: random.Random) -> tuple[Candidate, Candidate]:
    """Two outputs of different competitors on one prompt, the voter has not judged together.

    Competitor pairs are drawn with weight ``(1 + overlap) / (1 + votes)``: pairs with few human
    votes, and pairs whose human rating intervals overlap (their order is not settled), come up
    more often, while every pair keeps a chance. The prompt is then drawn uniformly among those
    where both competitors answered and the voter has not judged that pair.
    """
    battles = _battles(battle_filter)
    seen = _judged_by(voter)
    left = battles.open_counts(seen)
    if not left:
        raise NoBattle("no battle left for you here: you have judged every pair these filters allow")
    pair_votes = _pair_vote_counts()
    intervals = _human_intervals()
    keys = sorted(left)
    weights = [(1.0 + _overlap(intervals.get(a), intervals.get(b))) / (1.0 + pair_votes.get((a, b), 0))
               for a, b in keys]
    ca, cb = rng.choices(keys, weights=weights)[0]
    options = [(p, a, b) for p, a, b in battles.by_pair[(ca, cb)] if (p, min(a, b), max(a, b)) not in seen]
    prompt_id, a, b = rng.choice(options)
    return Candidate(a, prompt_id, ca), Candidate(b, prompt_id, cb)


@dataclass(frozen=True)
class Battles:
    """Every battle some filters allow, indexed so that a pair is chosen without visiting them all
    (an arena of 5,000 prompts and 20 models holds about a million)."""

    # (lower competitor id, higher) -> (prompt id, output of the lower, output of the higher)
    by_pair: dict[tuple[int, int], list[tuple[int, int, int]]]
    outputs: dict[int, tuple[int, int]]  # output id -> (prompt id, competitor id)

    def open_counts(self, seen: set[tuple[int, int, int]]) -> dict[tuple[int, int], int]:
        """Battles left per competitor pair, once the voter's ``seen`` battles are taken away."""
        counts = {pair: len(battles) for pair, battles in self.by_pair.items()}
        for prompt_id, low, high in seen:
            first, second = self.outputs.get(low), self.outputs.get(high)
            if first and second and first[0] == second[0] == prompt_id and first[1] != second[1]:
                counts[(min(first[1], second[1]), max(first[1], second[1]))] -= 1
        return {pair: n for pair, n in counts.items() if n > 0}

    def allows(self, ticket: BattleTicket) -> bool:
        return all(self.outputs.get(pk, (None,))[0] == ticket.prompt_id
                   for pk in (ticket.output_left_id, ticket.output_right_id))


def _battles(battle_filter: BattleFilter) -> Battles:
    """The filters' battles; cached briefly, since every battle request needs them all."""
    return _briefly_cached(_battles_key(battle_filter), lambda: _load_battles(battle_filter))


def _battles_key(battle_filter: BattleFilter) -> str:
    return f"voting:battles:{battle_filter.key()}"


def _briefly_cached(key: str, load: Callable[[], T]) -> T:
    """``load()``, cached for PAIR_STATS_SECONDS; loaded every time while the cache is down."""
    found = guarded(cache.get, key)
    if found is None:
        found = load()
        guarded(cache.set, key, found, timeout=PAIR_STATS_SECONDS)
    return found


def _load_battles(battle_filter: BattleFilter) -> Battles:
    rows = Output.objects.all()
    if battle_filter.dataset:
        rows = rows.filter(prompt__dataset__name=battle_filter.dataset)
    if battle_filter.category:
        rows = rows.filter(prompt__category=battle_filter.category)
    if battle_filter.models:
        rows = rows.filter(competitor__name__in=battle_filter.models)
    by_prompt: dict[int, list[tuple[int, int]]] = defaultdict(list)
    outputs = {}
    for pk, prompt_id, competitor_id in rows.order_by("pk").values_list("pk", "prompt_id", "competitor_id"):
        by_prompt[prompt_id].append((pk, competitor_id))
        outputs[pk] = (prompt_id, competitor_id)
    by_pair: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
    for prompt_id, answers in by_prompt.items():
        for i, first in enumerate(answers):
            for second in answers[i + 1:]:
                (a, ca), (b, cb) = sorted((first, second), key=lambda answer: answer[1])
                if ca != cb:
                    by_pair[(ca, cb)].append((prompt_id, a, b))
    return Battles(by_pair=dict(by_pair), outputs=outputs)


def _judged_by(voter: Voter) -> set[tuple[int, int, int]]:
    """(prompt, lower output id, higher output id) of every battle this voter holds a ticket for,
    voted on or not (every vote of the vote page has its ticket)."""
    rows = _tickets_of(voter).values_list("prompt_id", "output_left_id", "output_right_id")
    return {(p, min(a, b), max(a, b)) for p, a, b in rows}


def _pair_vote_counts() -> dict[tuple[int, int], int]:
    """Human votes per unordered competitor pair, cached briefly: pair choice needs rough counts."""
    return _briefly_cached("voting:pair-votes", _load_pair_vote_counts)


def _load_pair_vote_counts() -> dict[tuple[int, int], int]:
    counts: dict[tuple[int, int], int] = defaultdict(int)
    rows = (HumanVote.objects.order_by().values_list("output_a__competitor_id", "output_b__competitor_id")
            .annotate(n=Count("pk")))
    for a, b, n in rows:
        counts[(min(a, b), max(a, b))] += n
    return dict(counts)


def _human_intervals() -> dict[int, tuple[float, float]]:
    """Competitor id -> the 95% interval of its human rating, from the stored snapshot (never a fit)."""
    return _briefly_cached("voting:human-intervals", _load_intervals)


def _load_intervals() -> dict[int, tuple[float, float]]:
    payload = human_leaderboard()
    if not payload:
        return {}
    ids = dict(Competitor.objects.filter(name__in=[r["model"] for r in payload["models"]]).values_list("name", "pk"))
    return {ids[r["model"]]: (r["ci_low"] if r["ci_low"] is not None else float("-inf"),
                              r["ci_high"] if r["ci_high"] is not None else float("inf"))
            for r in payload["models"] if r["model"] in ids}


def _overlap(a: tuple[float, float] | None, b: tuple[float, float] | None) -> float:
    """1 when two intervals overlap (or one is unknown), else 0."""
    if a is None or b is None:
        return 1.0
    return 1.0 if a[0] <= b[1] and b[0] <= a[1] else 0.0


def human_leaderboard() -> dict | None:
    """The last computed human leaderboard, stale or not: a vote page never waits for a fit."""
    query = leaderboards.LeaderboardQuery(source=leaderboards.HUMAN)
    return LeaderboardSnapshot.objects.filter(key=query.key()).values_list("payload", flat=True).first()


# --- voting ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VoteOutcome:
    vote: HumanVote
    ticket: BattleTicket


def record_vote(*, token: str, choice: str, voter: Voter) -> VoteOutcome:
    """Store the voter's choice on their ticket, or raise ``VoteRejected`` and change nothing."""
    if choice not in CHOICES:
        raise VoteRejected(f"unknown choice {choice!r}; choose one of: {', '.join(CHOICES)}")
    ticket = BattleTicket.objects.filter(token=check_token(token)).first()
    if ticket is None or not _owns(ticket, voter):
        raise VoteRejected("this battle is unknown or was issued to someone else; load a new one", status=404)
    now = timezone.now()
    if ticket.used_at is not None:
        raise VoteRejected("this battle already has its vote; a ticket takes one vote", status=409)
    if now - ticket.issued_at > timedelta(seconds=settings.ARENA_VOTE_TICKET_SECONDS):
        raise VoteRejected("this battle has expired; load a new one", status=410)
    if now - ticket.issued_at < timedelta(seconds=settings.ARENA_VOTE_MIN_SECONDS):
        raise VoteRejected(f"too fast: read both answers first (at least {settings.ARENA_VOTE_MIN_SECONDS:g} s "
                           "between showing a battle and voting)", status=429)
    _take_rate(voter)
    try:
        with transaction.atomic():
            # The conditional update claims the ticket: of two racing votes only one changes a row.
            if not BattleTicket.objects.filter(pk=ticket.pk, used_at__isnull=True).update(used_at=now):
                raise VoteRejected("this battle already has its vote; a ticket takes one vote", status=409)
            vote = HumanVote.objects.create(
                prompt_id=ticket.prompt_id, output_a_id=ticket.output_left_id, output_b_id=ticket.output_right_id,
                winner=CHOICES[choice], ticket=ticket, session_key=voter.session_key, user_id=voter.user_id,
            )
    except IntegrityError:
        raise VoteRejected("this battle already has its vote; a ticket takes one vote", status=409) from None
    # After the commit, like an upload: marking updates every snapshot row, and inside the vote's
    # transaction concurrent votes would queue on those row locks until each vote commits.
    leaderboards.mark_stale()
    ticket.used_at = now
    return VoteOutcome(vote=vote, ticket=ticket)


def _owns(ticket: BattleTicket, voter: Voter) -> bool:
    if ticket.user_id is not None:
        return ticket.user_id == voter.user_id
    return bool(voter.session_key) and ticket.session_key == voter.session_key


def _rate_keys(voter: Voter) -> list[tuple[str, int]]:
    window = int(timezone.now().timestamp() // 60)
    keys = [(f"voting:rate:session:{voter.session_key}:{window}", settings.ARENA_VOTES_PER_MINUTE_SESSION)]
    if voter.ip:
        keys.append((f"voting:rate:ip:{voter.ip}:{window}", settings.ARENA_VOTES_PER_MINUTE_IP))
    return keys


def _take_rate(voter: Voter) -> None:
    """Count this vote against the voter's per-minute limits, refusing it past either one."""
    for key, limit in _rate_keys(voter):
        if _count(key, timeout=120) > limit:
            raise VoteRejected(f"too many votes in a minute (limit {limit}); wait a little", status=429)


def take_anonymous_write(voter: Voter) -> None:
    """Count one row an anonymous voter makes us write (a new session, a new ticket) against their
    address's hourly limit, ``ARENA_VOTE_TICKETS_PER_HOUR_IP``, refusing it past the limit (429).

    Without it, every cookieless ``GET /vote/`` would store a session and a ticket for ever. A
    logged-in voter is not counted: they are known, and many share one address behind a NAT.
    """
    if voter.user_id is not None or not voter.ip:
        return
    limit = settings.ARENA_VOTE_TICKETS_PER_HOUR_IP
    window = int(timezone.now().timestamp() // 3600)
    if _count(f"voting:anonymous-writes:ip:{voter.ip}:{window}", timeout=7200) > limit:
        raise VoteRejected(_too_many_writes(), status=429)


def _too_many_writes() -> str:
    return (f"too many new battles from your network address this hour (limit "
            f"{settings.ARENA_VOTE_TICKETS_PER_HOUR_IP}); vote on the battles you have, log in, or come back later")


def _count(key: str, *, timeout: int) -> int:
    """Add one to a counter and return it. Counting first (an atomic INCR) and comparing after means
    two racing requests cannot both slip under a limit; a refused attempt still counts, so
    hammering does not reset the window.

    While the cache is down nothing can be counted: every attempt counts as the first, so an outage
    lifts the limits instead of refusing every vote."""
    if guarded(cache.add, key, 1, timeout=timeout):
        return 1
    return guarded(cache.incr, key) or 1  # None: the cache is down, or the key expired since the add


def reveal(ticket: BattleTicket) -> dict:
    """After the vote: which model was on which side, with their current human ratings."""
    board = human_leaderboard() or {"models": []}
    rows = {r["model"]: r for r in board["models"]}
    names = dict(Output.objects.filter(pk__in=[ticket.output_left_id, ticket.output_right_id])
                 .values_list("pk", "competitor__name"))
    sides = {}
    for side, output_id in (("left", ticket.output_left_id), ("right", ticket.output_right_id)):
        row = rows.get(names[output_id], {})
        sides[side] = {"model": names[output_id], "rating": row.get("rating"), "ci_low": row.get("ci_low"),
                       "ci_high": row.get("ci_high")}
    return sides


def battle_outputs(ticket: BattleTicket) -> tuple[Output, Output]:
    """The two outputs, each with its prompt's turns (one query)."""
    outputs = {o.pk: o for o in Output.objects.filter(pk__in=[ticket.output_left_id, ticket.output_right_id])
               .select_related("prompt").only("pk", "turns", "prompt__turns")}
    return outputs[ticket.output_left_id], outputs[ticket.output_right_id]
