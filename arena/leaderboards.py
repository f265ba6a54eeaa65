"""Leaderboards from the database: battles aggregated in SQL, rated by the pure core, snapshotted.

Every source of evidence becomes cells of ``(model_a, model_b, score_a, count, weight)`` through a
``GROUP BY`` in the database, so a million judgments never turn into a million Python objects.
Snapshots are stored per query and served from the cache until new results mark them stale; a
debounced Celery task then recomputes them in the background.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db.models import Case, Count, F, FloatField, QuerySet, Sum, Value, When
from django.utils import timezone

from . import ratings
from .limits import BIGINT_MAX, check_text, column_chars
from .models import Competitor, HumanVote, ImportedBattle, Judgment, LeaderboardSnapshot, Output, Prompt, Tournament

JUDGE, HUMAN, ALL = "judge", "human", "all"
GENERATION_KEY = "leaderboard:generation"


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

    def key(self) -> str:
        # The source weights shape a combined fit, so a change of them must not serve old results.
        weights = settings.ARENA_SOURCE_WEIGHTS if self.source == ALL else {}
        return json.dumps({**asdict(self), "weights": weights}, sort_keys=True)

    def validate(self) -> None:
        self._validate_text()
        if self.method not in {"bt", "elo"}:
            raise LeaderboardError(f"unknown method {self.method!r}; use 'bt' or 'elo'")
        known = available_sources()
        if self.source not in known:
            raise LeaderboardError(f"unknown source {self.source!r}; known sources: {', '.join(known)}")
        if self.tournament and not _tournament_filter(self.tournament).exists():
            raise LeaderboardError(f"unknown tournament {self.tournament!r}")
        if self.tournament and self.source not in {ALL, JUDGE}:
            raise LeaderboardError("a tournament filter applies to judge results only: use source=judge or all")
        if self.anchor and not Competitor.objects.filter(name=self.anchor).exists():
            raise LeaderboardError(f"unknown anchor model {self.anchor!r}")
        if self.style_control and self.method != "bt":
            raise LeaderboardError("style_control needs method=bt")

    def _validate_text(self) -> None:
        # Each value is compared with a stored one: it must be text the column could hold.
        columns = {"source": (ImportedBattle, "source"), "category": (Prompt, "category"),
                   "tournament": (Tournament, "name"), "anchor": (Competitor, "name")}
        for name, (model, column) in columns.items():
            try:
                check_text(getattr(self, name), name=name, max_chars=column_chars(model, column))
            except ValueError as exc:
                raise LeaderboardError(str(exc)) from None


def available_sources() -> list[str]:
    imported = ImportedBattle.objects.order_by().values_list("source", flat=True).distinct()
    return [ALL, JUDGE, HUMAN, *sorted(set(imported) - {ALL, JUDGE, HUMAN})]


# --- reading: cache, snapshot, or compute -----------------------------------------------------------

def get_leaderboard(query: LeaderboardQuery) -> dict:
    query.validate()
    cache_key = f"leaderboard:{_generation()}:{hashlib.sha256(query.key().encode()).hexdigest()}"
    payload = cache.get(cache_key)
    if payload is None:
        snapshot = LeaderboardSnapshot.objects.filter(key=query.key(), stale=False).first()
        payload = snapshot.payload if snapshot else recompute_leaderboard(query=query).payload
        cache.set(cache_key, payload, timeout=None)
    return payload


def recompute_leaderboard(*, query: LeaderboardQuery) -> LeaderboardSnapshot:
    payload = compute_payload(query)
    snapshot, _ = LeaderboardSnapshot.objects.update_or_create(
        key=query.key(),
        defaults={"params": asdict(query), "payload": payload, "battles": payload["battles"], "stale": False,
                  "computed_at": timezone.now()},
    )
    return snapshot


def recompute_stale() -> int:
    done = 0
    for snapshot in LeaderboardSnapshot.objects.filter(stale=True):
        query = LeaderboardQuery(**snapshot.params)
        try:
            query.validate()
        except LeaderboardError:
            snapshot.delete()  # its tournament or anchor is gone
            continue
        if query.key() != snapshot.key:
            snapshot.delete()  # computed under source weights that no longer apply
            continue
        recompute_leaderboard(query=query)
        done += 1
    return done


def mark_stale() -> None:
    """New results arrived: every snapshot is out of date. The beat task ``recompute_leaderboards``
    (every ARENA_LEADERBOARD_DEBOUNCE_SECONDS) recomputes stale snapshots, so many results in a burst
    cost one recompute."""
    LeaderboardSnapshot.objects.filter(stale=False).update(stale=True)
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 1, timeout=None)


def _generation() -> int:
    return cache.get_or_set(GENERATION_KEY, 0, timeout=None)


# --- computing -------------------------------------------------------------------------------------

def compute_payload(query: LeaderboardQuery) -> dict:
    rng = np.random.default_rng(int(hashlib.sha256(query.key().encode()).hexdigest()[:15], 16))
    data, style = _rating_input(query)
    payload = {
        "anchor": query.anchor or None, "method": query.method, "computed_at": timezone.now().isoformat(),
        "source": query.source, "category": query.category or None, "tournament": query.tournament or None,
        "style_control": query.style_control, "battles": 0, "models": [],
    }
    if data is None:
        return payload
    # Style control refits every battle in each bootstrap round; its sandwich interval costs one fit.
    interval = "sandwich" if style is not None else "bootstrap"
    board = ratings.compute_leaderboard(
        data, method=query.method, anchor=query.anchor or None, ci=interval,
        rounds=settings.ARENA_BOOTSTRAP_ROUNDS, rng=rng, style=style,
    )
    payload.update(anchor=board.anchor, battles=int(data.count.sum()) if isinstance(data, ratings.Cells)
                   else len(data), models=[_row_dict(r) for r in board.rows])
    if board.raw_ratings is not None:
        payload["raw_ratings"] = board.raw_ratings
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


def _row_dict(row: ratings.LeaderboardRow) -> dict:
    # JSON has no infinities: an interval the data cannot bound is open (null) on that side.
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in asdict(row).items()}


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
    if wanted in {ALL, HUMAN} and not query.tournament:
        yield HUMAN, _votes(query)
    if wanted not in {JUDGE, HUMAN} and not query.tournament:
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
        rows = rows.filter(match__tournament__in=_tournament_filter(query.tournament))
    if query.category:
        rows = rows.filter(match__prompt__category=query.category)
    return rows.annotate(ca=F("match__competitor_a_id"), cb=F("match__competitor_b_id"), s=F("score_a"))


def _votes(query: LeaderboardQuery) -> QuerySet:
    rows = HumanVote.objects.all()
    if query.category:
        rows = rows.filter(prompt__category=query.category)
    score = Case(When(winner=HumanVote.Winner.A, then=Value(ratings.WINNER_SCORES["a"])),
                 When(winner=HumanVote.Winner.B, then=Value(ratings.WINNER_SCORES["b"])),
                 default=Value(ratings.WINNER_SCORES["tie"]), output_field=FloatField())
    return rows.annotate(ca=F("output_a__competitor_id"), cb=F("output_b__competitor_id"), s=score,
                         weight=Value(1.0, output_field=FloatField()))


def _tournament_filter(value: str) -> QuerySet:
    # isdigit() alone accepts "²", which int() refuses; an id past bigint names no row.
    is_id = value.isascii() and value.isdigit() and int(value) <= BIGINT_MAX
    return Tournament.objects.filter(pk=int(value)) if is_id else Tournament.objects.filter(name=value)


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
