"""Evidence from the database, aggregated in SQL: every source of results becomes cells of
``(model_a, model_b, score_a, count, weight)`` through a ``GROUP BY``, so a million judgments never turn
into a million Python objects. Elo and style control need battles one by one, in time order or with
their outputs' style features.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from django.conf import settings
from django.db.models import Case, Count, F, FloatField, QuerySet, Sum, Value, When

from .. import ratings
from ..models import Competitor, HumanVote, ImportedBattle, JudgeConfig, Judgment, Output, Tournament
from .query import ALL, HUMAN, JUDGE, LeaderboardQuery, available_sources


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
    score = Case(*(When(winner=winner, then=Value(score)) for winner, score in ratings.VOTE_SCORES.items()),
                 output_field=FloatField())
    return rows.annotate(ca=F("output_a__competitor_id"), cb=F("output_b__competitor_id"), s=score,
                         weight=Value(1.0, output_field=FloatField()))


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
    names = dict(Competitor.objects.values_list("id", "name"))
    battles = ratings.Battles.from_battles([names[r[0]] for r in per_battle], [names[r[1]] for r in per_battle],
                                           [r[2] for r in per_battle], [r[3] for r in per_battle])
    return battles, ratings.count_features([counts[r[4]] for r in per_battle], [counts[r[5]] for r in per_battle])
