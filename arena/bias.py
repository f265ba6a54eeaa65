"""Each judge's position, length and family bias beside the humans', from the stored verdicts.

A judge is a judge configuration (its judgments, each order a verdict of its own) or an imported judge
source (each battle a verdict; ``model_a`` is taken as the answer shown first, as in the reviews shipped
with the demo). The humans' verdicts are the votes, output_a shown first. The measures are the pure
ones of ``judges.bias``; lengths are the outputs' stored character counts. A source's family comes
from ``ARENA_SOURCE_FAMILIES``, a configuration's from its ``family`` field. The report is cached like
the agreement report: until new results arrive.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from judges import bias as core

from . import leaderboards
from .limits import check_text, column_chars
from .models import Competitor, HumanVote, ImportedBattle, JudgeConfig, Judgment, Output
from .ratings.verdicts import VOTE_SCORES, WINNER_SCORES

MAX_GAP = 1_000_000


class BiasError(ValueError):
    """A bad bias request (unknown source, bad threshold)."""


class _Lookup:
    """Names, families and answer lengths, read once per report."""

    def __init__(self) -> None:
        rows = Competitor.objects.values_list("pk", "name", "family")
        self.names = {pk: name for pk, name, _ in rows}
        self.families = {name: family for _, name, family in rows if family}
        self.chars = {(p, c): n for p, c, n in Output.objects.values_list("prompt_id", "competitor_id", "char_count")}

    def verdict(self, prompt: int, first: int, second: int, value: float, *, order_known: bool = True) -> core.Verdict:
        return core.Verdict(item=(prompt, min(first, second), max(first, second)), first=self.names[first],
                            second=self.names[second], value=value, first_chars=self.chars.get((prompt, first), 0),
                            second_chars=self.chars.get((prompt, second), 0), order_known=order_known)


def bias_report(min_gap: int = core.DEFAULT_MIN_GAP) -> dict:
    """Every judge configuration with judgments and every imported source; cached until new results."""
    return leaderboards.remembered(f"bias:{min_gap}", lambda: _compute_bias(min_gap), timeout=3600)


def _compute_bias(min_gap: int) -> dict:
    lookup = _Lookup()
    humans = list(_human_verdicts(lookup))
    configs = JudgeConfig.objects.filter(judgments__isnull=False).distinct()
    return {"min_length_gap": min_gap, "judges": [
        *(_entry(str(c), "configuration", c.family, list(_config_verdicts(c, lookup)), humans, lookup, min_gap)
          for c in configs),
        *(_entry(s, "source", _source_family(s), list(_source_verdicts(s, lookup)), humans, lookup, min_gap)
          for s in _sources()),
    ]}


def judge_bias(*, judge: JudgeConfig, min_gap: int = core.DEFAULT_MIN_GAP) -> dict:
    lookup = _Lookup()
    return _entry(str(judge), "configuration", judge.family, list(_config_verdicts(judge, lookup)),
                  list(_human_verdicts(lookup)), lookup, check_gap(min_gap))


def source_bias(*, source: str, family: str = "", min_gap: int = core.DEFAULT_MIN_GAP) -> dict:
    try:
        check_text(source, name="source", max_chars=column_chars(ImportedBattle, "source"))
        check_text(family, name="family", max_chars=column_chars(Competitor, "family"))
    except ValueError as exc:
        raise BiasError(str(exc)) from None
    if source not in _sources():
        raise BiasError(f"unknown judge source {source!r}; known: {', '.join(_sources()) or 'none'}")
    lookup = _Lookup()
    return _entry(source, "source", family or _source_family(source), list(_source_verdicts(source, lookup)),
                  list(_human_verdicts(lookup)), lookup, check_gap(min_gap))


def check_gap(min_gap: int) -> int:
    if not 0 <= min_gap <= MAX_GAP:
        raise BiasError(f"min_length_gap must be a whole number of characters from 0 to {MAX_GAP}")
    return min_gap


def _entry(judge: str, kind: str, family: str, verdicts: list[core.Verdict], humans: list[core.Verdict],
           lookup: _Lookup, min_gap: int) -> dict:
    judged = {v.item for v in verdicts}
    gap_items = core.length_gap_items(verdicts, min_gap)
    same_items = [h for h in humans if h.item in judged]
    return {
        "judge": judge, "kind": kind, "family": family or None, "verdicts": len(verdicts),
        "first_slot_win_rate": core.first_slot_win_rate(verdicts).as_dict(),
        "human_first_slot_win_rate": core.first_slot_win_rate(same_items).as_dict(),
        "flip_rate": core.flip_rate(verdicts).as_dict(),
        "prefer_longer": core.prefer_longer(verdicts, min_gap).as_dict(),
        "human_prefer_longer": core.prefer_longer(humans, min_gap, items=gap_items).as_dict(),
        "self_preference": core.family_lift(verdicts, humans, lookup.families, family) if family else None,
        "min_length_gap": min_gap,
    }


def _sources() -> list[str]:
    return sorted(set(ImportedBattle.objects.filter(prompt__isnull=False).order_by()
                      .values_list("source", flat=True).distinct()))


def _source_family(source: str) -> str:
    return settings.ARENA_SOURCE_FAMILIES.get(source, "")


def _human_verdicts(lookup: _Lookup) -> Iterable[core.Verdict]:
    rows = HumanVote.objects.order_by().values_list("prompt_id", "output_a__competitor_id",
                                                   "output_b__competitor_id", "winner")
    for prompt, a, b, winner in rows.iterator(chunk_size=5000):
        yield lookup.verdict(prompt, a, b, VOTE_SCORES[winner])


def _source_verdicts(source: str, lookup: _Lookup) -> Iterable[core.Verdict]:
    rows = ImportedBattle.objects.filter(source=source, prompt__isnull=False).order_by().values_list(
        "prompt_id", "model_a_id", "model_b_id", "score_a")
    for prompt, a, b, score in rows.iterator(chunk_size=5000):
        yield lookup.verdict(prompt, a, b, score)


def _config_verdicts(config: JudgeConfig, lookup: _Lookup) -> Iterable[core.Verdict]:
    rows = Judgment.objects.filter(judge_config=config).order_by().values_list(
        "match__prompt_id", "match__competitor_a_id", "match__competitor_b_id", "score_a",
        "forward__winner", "backward__winner")
    for prompt, a, b, score, forward, backward in rows.iterator(chunk_size=5000):
        if forward in WINNER_SCORES:
            yield lookup.verdict(prompt, a, b, WINNER_SCORES[forward])
        if backward in WINNER_SCORES:
            # The backward verdict showed b first and names the slots in that order.
            yield lookup.verdict(prompt, b, a, WINNER_SCORES[backward])
        if forward not in WINNER_SCORES and backward not in WINNER_SCORES:
            yield lookup.verdict(prompt, a, b, score, order_known=False)
