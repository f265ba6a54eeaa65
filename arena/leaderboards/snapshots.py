"""Leaderboard snapshots: stored per query, served from the cache, recomputed in the background.

A request never fits inline except the very first one for a query, and concurrent first requests
share that one computation (they wait on the snapshot's row lock). Once new results mark snapshots
stale, requests keep getting the last snapshot, flagged ``updating``, while the beat task
``recompute_leaderboards`` recomputes, in the background, only the snapshots read recently.

The database is the truth; the cache (Redis in production) only saves database reads. Every cache
operation goes through ``cache_guard.guarded``, so Redis down never fails a request: the database answers.
Errors ("cannot rate these battles") are stored like results, so a repeated bad request costs no fit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from .. import ratings
from ..cache_guard import guarded
from ..models import LeaderboardSnapshot
from .evidence import battle_cells, ordered_battles, style_battles
from .generation import bump_generation, digest, generation, remembered
from .query import LeaderboardError, LeaderboardQuery

READ_MARK_SECONDS = 300  # a snapshot's read_at is written at most this often
# The ratings' covariance is stored for boards up to this size (m * m numbers: 64 models ~ 80 kB of JSON);
# larger boards get separability and agreement from their intervals, but no Brier score.
SPREAD_MAX_MODELS = 64
INTERNAL_KEYS = frozenset({"spread"})  # payload entries for the quality statistics, not shown as a board


# --- reading: cache, snapshot, or compute -----------------------------------------------------------

def get_leaderboard(query: LeaderboardQuery) -> dict:
    """The latest snapshot's payload (``updating`` while a newer one is being computed).

    Raises RatingError, from the stored answer, when the data cannot be rated.
    """
    query.validate()
    key = query.key()
    cache_key = _cache_key(key)
    served = guarded(cache.get, cache_key) if cache_key else None
    if served is None:
        snapshot = LeaderboardSnapshot.objects.filter(key=key).first()
        if snapshot is None or not snapshot.payload:
            snapshot = _first_computation(query)
        served = {**snapshot.payload, "updating": snapshot.stale}
        if cache_key:
            guarded(cache.set, cache_key, served, timeout=settings.ARENA_LEADERBOARD_CACHE_SECONDS)
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
    variant_key = f"{cache_key}:{digest(variant)}"
    latest_key = f"leaderboard:latest:{digest(key)}:{digest(variant)}"
    hit = guarded(cache.get, variant_key)
    if hit is None and not guarded(cache.add, f"{variant_key}:rendering", 1, timeout=30):
        hit = guarded(cache.get, latest_key)  # someone else is rendering the new one
    if hit is not None:
        text, stale, rendered_at = hit
        # A fresh rendering was made by a read that noted itself: no need to note this one too.
        if stale or time.time() - rendered_at > READ_MARK_SECONDS:
            _note_read(key)
        return text
    payload = get_leaderboard(query)
    hit = (render(payload), payload["updating"], time.time())
    timeout = settings.ARENA_LEADERBOARD_CACHE_SECONDS
    guarded(cache.set_many, {variant_key: hit, latest_key: hit}, timeout=timeout)
    return hit[0]


def cached_text(name: str, build: Callable[[], str], *, timeout: int) -> str:
    """A page fragment that depends on the data but not on one leaderboard (the filter controls),
    cached until new results arrive or ``timeout`` seconds pass."""
    return remembered(f"fragment:{digest(name)}", build, timeout=timeout)


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
    LeaderboardSnapshot.objects.filter(key=query.key()).update(started_at=started)
    payload = _payload_or_error(query)
    snapshot, created = LeaderboardSnapshot.objects.get_or_create(
        key=query.key(), defaults={"params": asdict(query), "payload": payload, "battles": payload["battles"],
                                   "computed_at": timezone.now(), "read_at": started})
    if not created:
        LeaderboardSnapshot.objects.filter(pk=snapshot.pk).update(
            payload=payload, battles=payload["battles"], computed_at=timezone.now(),
            stale=Case(When(marked_at__gt=started, then=Value(True)), default=Value(False)))
        snapshot.refresh_from_db()
    bump_generation()
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
    # A snapshot stale already and marked after its last recompute started needs no new mark, so a
    # burst of votes writes no shared row after the first. Any other is marked, stale or not: a
    # recompute running now started before these results, and must leave its snapshot stale.
    LeaderboardSnapshot.objects.filter(
        Q(stale=False) | Q(marked_at__isnull=True) | Q(started_at__gte=F("marked_at"))
    ).update(stale=True, marked_at=timezone.now())
    bump_generation()


def _note_read(key: str) -> None:
    """Remember that a snapshot is in use (at most every few minutes): the beat task recomputes only
    stale snapshots read recently."""
    if guarded(cache.add, f"leaderboard:read:{digest(key)}", 1, timeout=READ_MARK_SECONDS) is False:
        return
    LeaderboardSnapshot.objects.filter(key=key).update(read_at=timezone.now())


def _cache_key(key: str) -> str | None:
    current = generation()
    return None if current is None else f"leaderboard:{current}:{digest(key)}"


# --- computing -------------------------------------------------------------------------------------

def _payload_header(query: LeaderboardQuery) -> dict:
    return {
        "anchor": query.anchor or None, "method": query.method, "computed_at": timezone.now().isoformat(),
        "source": query.source, "category": query.category or None, "tournament": query.tournament or None,
        "judge": query.judge or None, "style_control": query.style_control, "prior": query.prior,
        "interval": None, "confidence": 0.95,
    }


def compute_payload(query: LeaderboardQuery) -> dict:
    rng = np.random.default_rng(int(digest(query.key())[:15], 16))
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


# --- presenting -----------------------------------------------------------------------------------

