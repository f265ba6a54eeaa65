"""Leaderboards from the database: battles aggregated in SQL, rated by the pure core, snapshotted.

Every source of evidence becomes cells of ``(model_a, model_b, score_a, count, weight)`` through a
``GROUP BY`` in the database, so a million judgments never turn into a million Python objects.
Snapshots are stored per query. A request never fits inline except the very first one for a query,
and concurrent first requests share that one computation (they wait on the snapshot's row lock). Once
new results mark snapshots stale, requests keep getting the last snapshot, flagged ``updating``, while the
beat task ``recompute_leaderboards`` recomputes, in the background, only the snapshots read recently.

The database is the truth; the cache (Redis in production) only saves database reads. Every cache
operation may fail (Redis down) without failing the request: it is logged and the database answers.
Errors ("cannot rate these battles") are stored like results, so a repeated bad request costs no fit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, Count, F, FloatField, QuerySet, Sum, Value, When
from django.utils import timezone

from . import ratings
from .limits import check_text, column_chars
from .models import (
    Competitor,
    HumanVote,
    ImportedBattle,
    JudgeConfig,
    Judgment,
    LeaderboardSnapshot,
    Output,
    Prompt,
    Tournament,
)

log = logging.getLogger(__name__)

JUDGE, HUMAN, ALL = "judge", "human", "all"
GENERATION_KEY = "leaderboard:generation"
MAX_PRIOR = 10  # virtual ties per pair; a small whole number keeps the set of cacheable queries small
READ_MARK_SECONDS = 300  # a snapshot's read_at is written at most this often
# The ratings' covariance is stored for boards up to this size (m * m numbers: 64 models ~ 80 kB of JSON);
# larger boards get separability and agreement from their intervals, but no Brier score.
SPREAD_MAX_MODELS = 64
INTERNAL_KEYS = frozenset({"spread"})  # payload entries for the quality statistics, not shown as a board


class LeaderboardError(ValueError):
    """A bad leaderboard request (unknown source, anchor, tournament, method...)."""


@dataclass(frozen=True)
class LeaderboardQuery:
    source: str = ALL
    category: str = ""
    tournament: str = ""
    method: str = "bt"
    anchor: str = ""
    style_control: bool = False
    judge: str = ""  # a judge configuration: name (every version) or id; judge results only
    prior: int = 0  # virtual ties per pair of models that met (0: off); see ratings.components

    def key(self) -> str:
        # The source weights shape a combined fit, so a change of them must not serve old results.
        weights = settings.ARENA_SOURCE_WEIGHTS if self.source == ALL else {}
        return json.dumps({**asdict(self), "weights": weights}, sort_keys=True)

    def validate(self) -> None:
        self._validate_text()
        if self.method not in {"bt", "elo"}:
            raise LeaderboardError(f"unknown method {self.method!r}; use 'bt' or 'elo'")
        if self.source not in {ALL, JUDGE, HUMAN} and self.source not in (known := available_sources()):
            raise LeaderboardError(f"unknown source {self.source!r}; known sources: {', '.join(known)}")
        if self.tournament and not Tournament.objects.named(self.tournament).exists():
            raise LeaderboardError(f"unknown tournament {self.tournament!r}")
        if self.tournament and self.source not in {ALL, JUDGE}:
            raise LeaderboardError("a tournament filter applies to judge results only: use source=judge or all")
        if self.anchor and not Competitor.objects.filter(name=self.anchor).exists():
            raise LeaderboardError(f"unknown anchor model {self.anchor!r}")
        if self.style_control and self.method != "bt":
            raise LeaderboardError("style_control needs method=bt")
        self._validate_filters()

    def _validate_filters(self) -> None:
        # Only values that exist get a snapshot: an unknown category is a 400, not a new stored row.
        if self.category and not Prompt.objects.filter(category=self.category).exists():
            raise LeaderboardError(f"unknown category {self.category!r}")
        if self.judge and not JudgeConfig.objects.named(self.judge).exists():
            raise LeaderboardError(f"unknown judge configuration {self.judge!r}")
        if self.judge and self.source not in {ALL, JUDGE}:
            raise LeaderboardError("a judge filter applies to judge results only: use source=judge or all")
        if not 0 <= self.prior <= MAX_PRIOR:
            raise LeaderboardError(f"prior must be a whole number of virtual ties from 0 to {MAX_PRIOR}")
        if self.prior and (self.method != "bt" or self.style_control):
            raise LeaderboardError("the virtual-tie prior applies to method=bt without style control")

    def _validate_text(self) -> None:
        # Each value is compared with a stored one: it must be text the column could hold.
        columns = {"source": (ImportedBattle, "source"), "category": (Prompt, "category"),
                   "tournament": (Tournament, "name"), "anchor": (Competitor, "name"), "judge": (JudgeConfig, "name")}
        for name, (model, column) in columns.items():
            try:
                check_text(getattr(self, name), name=name, max_chars=column_chars(model, column))
            except ValueError as exc:
                raise LeaderboardError(str(exc)) from None


def available_sources() -> list[str]:
    # Every request validates its source: cache the DISTINCT scan until new results bump the generation.
    generation = _cache_call(cache.get_or_set, GENERATION_KEY, 0, timeout=None)
    cache_key = f"leaderboard:sources:{generation}"
    known = _cache_call(cache.get, cache_key) if generation is not None else None
    if known is None:
        imported = ImportedBattle.objects.order_by().values_list("source", flat=True).distinct()
        known = [ALL, JUDGE, HUMAN, *sorted(set(imported) - {ALL, JUDGE, HUMAN})]
        if generation is not None:
            _cache_call(cache.set, cache_key, known, timeout=settings.ARENA_LEADERBOARD_CACHE_SECONDS)
    return known


def available_categories() -> list[str]:
    return sorted(Prompt.objects.exclude(category="").order_by().values_list("category", flat=True).distinct())


# --- reading: cache, snapshot, or compute -----------------------------------------------------------

def get_leaderboard(query: LeaderboardQuery) -> dict:
    """The latest snapshot's payload (``updating`` while a newer one is being computed).

    Raises RatingError, from the stored answer, when the data cannot be rated.
    """
    query.validate()
    key = query.key()
    cache_key = _cache_key(key)
    served = _cache_call(cache.get, cache_key) if cache_key else None
    if served is None:
        snapshot = LeaderboardSnapshot.objects.filter(key=key).first()
        if snapshot is None or not snapshot.payload:
            snapshot = _first_computation(query)
        served = {**snapshot.payload, "updating": snapshot.stale}
        if cache_key:
            _cache_call(cache.set, cache_key, served, timeout=settings.ARENA_LEADERBOARD_CACHE_SECONDS)
    _note_read(key)
    error = served.get("error")
    if error:
        raise ratings.RatingError(error)
    return served


def get_rendered(query: LeaderboardQuery, variant: str, render: Callable[[dict], str]) -> str:
    """``render(payload)`` for the latest snapshot, cached with it: pages and API bodies cost one cache
    read while the snapshot is unchanged. ``variant`` names everything besides the query that the
    rendering depends on (sort order, included fields...).

    When new results change the snapshot, one request renders it again; requests arriving meanwhile
    get the previous rendering instead of all rendering at once (no dogpile).
    """
    query.validate()
    key = query.key()
    cache_key = _cache_key(key)
    if cache_key is None:  # no cache: render from the database every time
        return render(get_leaderboard(query))
    variant_key = f"{cache_key}:{_digest(variant)}"
    latest_key = f"leaderboard:latest:{_digest(key)}:{_digest(variant)}"
    hit = _cache_call(cache.get, variant_key)
    if hit is None and not _cache_call(cache.add, f"{variant_key}:rendering", 1, timeout=30):
        hit = _cache_call(cache.get, latest_key)  # someone else is rendering the new one
    if hit is not None:
        text, stale, rendered_at = hit
        # A fresh rendering was made by a read that noted itself: no need to note this one too.
        if stale or time.time() - rendered_at > READ_MARK_SECONDS:
            _note_read(key)
        return text
    payload = get_leaderboard(query)
    hit = (render(payload), payload["updating"], time.time())
    timeout = settings.ARENA_LEADERBOARD_CACHE_SECONDS
    _cache_call(cache.set_many, {variant_key: hit, latest_key: hit}, timeout=timeout)
    return hit[0]


def cached_text(name: str, build: Callable[[], str], *, timeout: int) -> str:
    """A page fragment that depends on the data but not on one leaderboard (the filter controls),
    cached until new results arrive or ``timeout`` seconds pass."""
    generation = _cache_call(cache.get_or_set, GENERATION_KEY, 0, timeout=None)
    cache_key = f"leaderboard:fragment:{generation}:{_digest(name)}"
    text = _cache_call(cache.get, cache_key) if generation is not None else None
    if text is None:
        text = build()
        if generation is not None:
            _cache_call(cache.set, cache_key, text, timeout=timeout)
    return text


def _first_computation(query: LeaderboardQuery) -> LeaderboardSnapshot:
    """Compute a query's first snapshot once, however many requests ask for it at the same time.

    The empty row is committed first, so that a concurrent ``mark_stale`` waits for the row lock and
    then marks the fresh snapshot stale, instead of missing it.
    """
    key = query.key()
    LeaderboardSnapshot.objects.get_or_create(key=key, defaults={"params": asdict(query), "payload": {}})
    with transaction.atomic():
        snapshot = LeaderboardSnapshot.objects.select_for_update().get(key=key)
        if not snapshot.payload:  # nobody computed it while this request waited for the lock
            snapshot.payload = _payload_or_error(query)
            snapshot.battles = snapshot.payload["battles"]
            snapshot.computed_at = timezone.now()
            snapshot.read_at = snapshot.computed_at
            snapshot.save(update_fields=["payload", "battles", "computed_at", "read_at"])
    return snapshot


def recompute_leaderboard(*, query: LeaderboardQuery) -> LeaderboardSnapshot:
    """Compute a snapshot now and store it; it stays stale if new results arrived meanwhile."""
    started = timezone.now()
    payload = _payload_or_error(query)
    snapshot, created = LeaderboardSnapshot.objects.get_or_create(
        key=query.key(), defaults={"params": asdict(query), "payload": payload, "battles": payload["battles"],
                                   "computed_at": timezone.now(), "read_at": started})
    if not created:
        LeaderboardSnapshot.objects.filter(pk=snapshot.pk).update(
            payload=payload, battles=payload["battles"], computed_at=timezone.now(),
            stale=Case(When(marked_at__gt=started, then=Value(True)), default=Value(False)))
        snapshot.refresh_from_db()
    _bump_generation()
    return snapshot


def _payload_or_error(query: LeaderboardQuery) -> dict:
    try:
        return compute_payload(query)
    except ratings.RatingError as exc:
        return {**_payload_header(query), "battles": 0, "error": str(exc)}


def recompute_stale() -> int:
    """Recompute the stale snapshots that someone read recently; the others wait for their next read.

    Run by the beat task ``recompute_leaderboards`` every ARENA_LEADERBOARD_DEBOUNCE_SECONDS, so many
    results in a burst cost one recompute.
    """
    recent = timezone.now() - timedelta(seconds=settings.ARENA_LEADERBOARD_READ_WINDOW_SECONDS)
    done = 0
    for snapshot in LeaderboardSnapshot.objects.filter(stale=True, read_at__gte=recent):
        query = _query_of(snapshot)
        if query is None or query.key() != snapshot.key:
            # Its tournament, anchor or category is gone, or its source weights no longer apply.
            snapshot.delete()
            continue
        recompute_leaderboard(query=query)
        done += 1
    return done


def _query_of(snapshot: LeaderboardSnapshot) -> LeaderboardQuery | None:
    try:
        query = LeaderboardQuery(**snapshot.params)
        query.validate()
    except (TypeError, LeaderboardError):
        return None
    return query


def mark_stale() -> None:
    """New results arrived: every snapshot is out of date; the beat task recomputes the ones in use.

    Safe to call after a committed write: the database flag is the truth, and a failing cache is
    logged, never raised, so it cannot turn a successful write into an error.
    """
    # marked_at moves on for snapshots that are stale already too: a recompute running now started
    # before these results, and must leave its snapshot stale.
    LeaderboardSnapshot.objects.update(stale=True, marked_at=timezone.now())
    _bump_generation()


def _note_read(key: str) -> None:
    """Remember that a snapshot is in use (at most every few minutes): the beat task recomputes only
    stale snapshots read recently."""
    if _cache_call(cache.add, f"leaderboard:read:{_digest(key)}", 1, timeout=READ_MARK_SECONDS) is False:
        return
    LeaderboardSnapshot.objects.filter(key=key).update(read_at=timezone.now())


def _cache_key(key: str) -> str | None:
    generation = _cache_call(cache.get_or_set, GENERATION_KEY, 0, timeout=None)
    return None if generation is None else f"leaderboard:{generation}:{_digest(key)}"


def _bump_generation() -> None:
    if _cache_call(cache.incr, GENERATION_KEY) is None:
        _cache_call(cache.set, GENERATION_KEY, 1, timeout=None)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _cache_call(operation: Callable, *args, **kwargs):
    """A cache operation, or None when the cache fails: the database can always answer instead."""
    try:
        return operation(*args, **kwargs)
    except ValueError:
        return None  # incr of a missing key
    except Exception:  # any backend's connection error: Redis, database cache...
        log.warning("leaderboard cache unavailable; answering from the database", exc_info=True)
        return None


# --- computing -------------------------------------------------------------------------------------

def _payload_header(query: LeaderboardQuery) -> dict:
    return {
        "anchor": query.anchor or None, "method": query.method, "computed_at": timezone.now().isoformat(),
        "source": query.source, "category": query.category or None, "tournament": query.tournament or None,
        "judge": query.judge or None, "style_control": query.style_control, "prior": query.prior,
        "interval": None, "confidence": 0.95,
    }


def compute_payload(query: LeaderboardQuery) -> dict:
    rng = np.random.default_rng(int(_digest(query.key())[:15], 16))
    data, style = _rating_input(query)
    payload = {**_payload_header(query), "battles": 0, "models": [], "components": [], "pairs": []}
    if data is None:
        return payload
    # Style control refits every battle in each bootstrap round; its sandwich interval costs one fit.
    interval = "sandwich" if style is not None else settings.ARENA_LEADERBOARD_INTERVALS
    board = ratings.rate_components(
        data, method=query.method, anchor=query.anchor or None, ci=interval,
        rounds=settings.ARENA_BOOTSTRAP_ROUNDS, rng=rng, style=style, virtual_ties=float(query.prior),
    )
    payload.update(
        anchor=board.components[0].anchor, interval=board.ci, confidence=board.confidence,
        battles=int(data.count.sum()) if isinstance(data, ratings.Cells) else len(data),
        models=[_row_dict(r) for r in board.rows],
        components=[asdict(c) for c in board.components],
        pairs=[asdict(p) for p in board.pairs],
    )
    if board.spread is not None and len(board.spread.models) <= SPREAD_MAX_MODELS:
        payload["spread"] = board.spread.as_dict()
    if board.raw_ratings is not None:
        payload["raw_ratings"] = dict(board.raw_ratings)
        payload["style_coefficients"] = dict(board.style_coefficients or {})
    return payload


def _rating_input(query: LeaderboardQuery):
    """Cells for a Bradley-Terry fit; ordered battles for Elo; battles plus features for style control."""
    if query.method == "elo":
        battles = ordered_battles(query)
        return (battles, None) if len(battles) else (None, None)
    if query.style_control:
        return style_battles(query)
    return battle_cells(query), None


def _row_dict(row: ratings.BoardRow) -> dict:
    # JSON has no infinities: an interval the data cannot bound is open (null) on that side, and says so.
    fields = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in asdict(row).items()}
    return {**fields, "open_low": not np.isfinite(row.ci_low), "open_high": not np.isfinite(row.ci_high)}


def battle_cells(query: LeaderboardQuery) -> ratings.Cells | None:
    """Aggregate every wanted source in SQL; None when there is nothing to rate."""
    names = dict(Competitor.objects.values_list("id", "name"))
    sources = {}
    for source, rows in _grouped_sources(query):
        listed = [(names[a], names[b], s, n, w) for a, b, s, n, w in rows]
        if listed:
            sources[source] = ratings.Cells.from_rows(listed)
    weights = settings.ARENA_SOURCE_WEIGHTS if query.source == ALL else {}
    combined = ratings.combine_sources(sources, weights) if sources else None
    return combined if combined is not None and combined.n_battles else None


def _grouped_sources(query: LeaderboardQuery) -> Iterable[tuple[str, Iterable[tuple]]]:
    for source, qs in _source_querysets(query):
        yield source, qs.order_by().values_list("ca", "cb", "s").annotate(n=Count("pk"), w=Sum("weight"))


def _source_querysets(query: LeaderboardQuery) -> Iterable[tuple[str, QuerySet]]:
    wanted = query.source
    if wanted in {ALL, JUDGE}:
        yield JUDGE, _judgments(query)
    if wanted in {ALL, HUMAN} and not query.tournament and not query.judge:
        yield HUMAN, _votes(query)
    if wanted not in {JUDGE, HUMAN} and not query.tournament and not query.judge:
        # Each imported label is its own source, so that ARENA_SOURCE_WEIGHTS can weigh it.
        labels = available_sources()[3:] if wanted == ALL else [wanted]
        for label in labels:
            battles = ImportedBattle.objects.filter(source=label)
            if query.category:
                battles = battles.filter(prompt__category=query.category)
            yield label, battles.annotate(ca=F("model_a_id"), cb=F("model_b_id"), s=F("score_a"))


def _judgments(query: LeaderboardQuery) -> QuerySet:
    rows = Judgment.objects.all()
    if query.tournament:
        rows = rows.filter(match__tournament__in=Tournament.objects.named(query.tournament))
    if query.judge:
        rows = rows.filter(judge_config__in=JudgeConfig.objects.named(query.judge))
    if query.category:
        rows = rows.filter(match__prompt__category=query.category)
    return rows.annotate(ca=F("match__competitor_a_id"), cb=F("match__competitor_b_id"), s=F("score_a"))


def _votes(query: LeaderboardQuery) -> QuerySet:
    # A vote between two outputs of one model says nothing about ratings, and would stop the fit.
    rows = HumanVote.objects.exclude(output_a__competitor=F("output_b__competitor"))
    if query.category:
        rows = rows.filter(prompt__category=query.category)
    score = Case(When(winner=HumanVote.Winner.A, then=Value(ratings.WINNER_SCORES["a"])),
                 When(winner=HumanVote.Winner.B, then=Value(ratings.WINNER_SCORES["b"])),
                 default=Value(ratings.WINNER_SCORES["tie"]), output_field=FloatField())
    return rows.annotate(ca=F("output_a__competitor_id"), cb=F("output_b__competitor_id"), s=score,
                         weight=Value(1.0, output_field=FloatField()))


# --- presenting -----------------------------------------------------------------------------------

def rating_text(row: dict) -> str:
    """A rating as a person reads it: "1,012", or an open interval "> 1,240" / "< 870" / "unbounded"."""
    if row["rating"] is not None:
        return f"{row['rating']:,.0f}"
    if row["ci_low"] is not None:
        return f"> {row['ci_low']:,.0f}"
    if row["ci_high"] is not None:
        return f"< {row['ci_high']:,.0f}"
    return "unbounded"


def with_texts(rows: list[dict]) -> list[dict]:
    """Leaderboard rows with their rating and interval as a person reads them."""
    return [{**row, "rating_text": rating_text(row), "interval_text": interval_text(row)} for row in rows]


def interval_text(row: dict) -> str:
    """The confidence interval, with an open side written as such (never a blank)."""
    low, high = row["ci_low"], row["ci_high"]
    if low is None and high is None:
        return "open on both sides"
    if high is None:
        return f"> {low:,.0f}"
    if low is None:
        return f"< {high:,.0f}"
    return f"{low:,.0f} to {high:,.0f}"


def ordered_battles(query: LeaderboardQuery) -> ratings.Battles:
    """Elo is order-dependent, so it needs every battle in time order (loaded row by row)."""
    names = dict(Competitor.objects.values_list("id", "name"))
    rows = []
    for _, qs in _source_querysets(query):
        rows += qs.order_by().values_list("created_at", "ca", "cb", "s", "weight")
    rows.sort(key=lambda r: r[0])
    return ratings.Battles.from_battles([names[r[1]] for r in rows], [names[r[2]] for r in rows],
                                        [r[3] for r in rows], [r[4] for r in rows])


def style_battles(query: LeaderboardQuery) -> tuple[ratings.Battles | None, np.ndarray | None]:
    """Battles with style features, for those whose outputs are stored (judge and human sources).

    Markdown and length counts are taken once per distinct output, not once per battle.
    """
    per_battle = []
    for source, qs in _source_querysets(query):
        if source in {JUDGE, HUMAN}:
            prefix = "match__" if source == JUDGE else ""
            per_battle += qs.order_by().values_list("ca", "cb", "s", "weight", f"{prefix}output_a_id",
                                                    f"{prefix}output_b_id")
    if not per_battle:
        return None, None
    output_ids = {r[4] for r in per_battle} | {r[5] for r in per_battle}
    counts = {pk: ratings.style_counts("\n\n".join(turns))
              for pk, turns in Output.objects.filter(pk__in=output_ids).values_list("pk", "turns")}
    a = np.array([counts[r[4]] for r in per_battle], dtype=np.float64)
    b = np.array([counts[r[5]] for r in per_battle], dtype=np.float64)
    names = dict(Competitor.objects.values_list("id", "name"))
    battles = ratings.Battles.from_battles([names[r[0]] for r in per_battle], [names[r[1]] for r in per_battle],
                                           [r[2] for r in per_battle], [r[3] for r in per_battle])
    # The same normalisation as ratings.style_features, vectorised over battles.
    return battles, (a - b) / (a + b + 1.0)
