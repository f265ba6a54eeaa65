"""What a leaderboard request asks for, checked: every value names something stored, so a bad request is
a ``LeaderboardError`` (400) naming the problem, and never becomes a new snapshot row."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from django.conf import settings

from ..limits import check_text, column_chars
from ..models import Competitor, ImportedBattle, JudgeConfig, Prompt, Tournament
from .generation import remembered

JUDGE, HUMAN, ALL = "judge", "human", "all"
MAX_PRIOR = 10  # virtual ties per pair; a small whole number keeps the set of cacheable queries small


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
    # Every request validates its source: cache the DISTINCT scan until new results arrive.
    return remembered("sources", _stored_sources, timeout=settings.ARENA_LEADERBOARD_CACHE_SECONDS)


def _stored_sources() -> list[str]:
    imported = ImportedBattle.objects.order_by().values_list("source", flat=True).distinct()
    return [ALL, JUDGE, HUMAN, *sorted(set(imported) - {ALL, JUDGE, HUMAN})]


def available_categories() -> list[str]:
    return sorted(Prompt.objects.exclude(category="").order_by().values_list("category", flat=True).distinct())


