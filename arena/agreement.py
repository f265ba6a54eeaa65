"""How well each judge agrees with the humans, on the very items both decided.

Reads every human vote, every judgment of every judge configuration and every imported battle
of every source, turns them into ``judges.agreement.Outcome``s keyed by item (prompt, unordered
competitor pair) and lets the pure core count. The report is cached until new results arrive
(the leaderboards' generation counter moves on every vote, judgment and import).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from judges import agreement as core
from judges import panel as panel_core

from . import leaderboards, ratings
from .models import Competitor, HumanVote, ImportedBattle, JudgeConfig, Judgment
from .ratings.verdicts import VOTE_SCORES, WINNER_SCORES


def agreement_report() -> dict:
    """The report, from the cache while no new result arrived; computed afresh when the cache is down."""
    return leaderboards.remembered("agreement", compute_agreement, timeout=3600)


def compute_agreement() -> dict:
    names = dict(Competitor.objects.values_list("pk", "name"))
    human = list(_human_outcomes())
    human_labels = core.item_labels(human)
    human_ratings = _ratings(human, names)
    judges = [_judge_entry(label, kind, outcomes, human_labels, human_ratings, names)
              for label, kind, outcomes in _judge_outcomes()]
    return {
        "human_items": len(human_labels),
        "human_votes": len(human),
        "human_human_agreement": core.human_human_agreement(human),
        "judges": judges,
        "panels": panel_agreement(),
    }


def _judge_entry(judge: str, kind: str, outcomes: list[core.Outcome], human_labels: dict, human_ratings: dict,
                 names: dict) -> dict:
    found = core.agreement(human_labels, core.item_labels(outcomes))
    return {
        "judge": judge, "kind": kind, **found,
        "position_consistency": core.position_consistency(outcomes),
        **core.rank_correlations(_ratings(outcomes, names), human_ratings),
    }


def _item(prompt_id: int, a: int, b: int, value: float, *, a_shown_first: bool = True) -> core.Outcome:
    """An outcome for ``a`` as one for the item's first competitor (the lower id)."""
    if a < b:
        return core.Outcome((prompt_id, a, b), value, swapped=not a_shown_first)
    return core.Outcome((prompt_id, b, a), 1.0 - value, swapped=a_shown_first)


def _human_outcomes() -> Iterable[core.Outcome]:
    rows = HumanVote.objects.order_by().values_list("prompt_id", "output_a__competitor_id",
                                                   "output_b__competitor_id", "winner")
    for prompt_id, a, b, winner in rows.iterator(chunk_size=5000):
        yield _item(prompt_id, a, b, VOTE_SCORES[winner])


def _judge_outcomes() -> Iterable[tuple[str, str, list[core.Outcome]]]:
    configs = {c.pk: str(c) for c in JudgeConfig.objects.filter(judgments__isnull=False).distinct()}
    by_config: dict[int, list[core.Outcome]] = defaultdict(list)
    rows = Judgment.objects.order_by().values_list(
        "judge_config_id", "match__prompt_id", "match__competitor_a_id", "match__competitor_b_id", "winner",
        "forward__winner", "backward__winner")
    for config, prompt_id, a, b, winner, forward, backward in rows.iterator(chunk_size=5000):
        if forward in WINNER_SCORES and backward in WINNER_SCORES:
            # Each order is a verdict of its own; the backward one showed b first and named slots in that order.
            by_config[config].append(_item(prompt_id, a, b, WINNER_SCORES[forward]))
            by_config[config].append(_item(prompt_id, a, b, 1.0 - WINNER_SCORES[backward], a_shown_first=False))
        else:
            by_config[config].append(_item(prompt_id, a, b, WINNER_SCORES.get(winner, WINNER_SCORES["tie"])))
    for pk, label in sorted(configs.items(), key=lambda kv: kv[1]):
        yield label, "configuration", by_config.get(pk, [])
    yield from _panel_member_outcomes(configs)
    by_source: dict[str, list[core.Outcome]] = defaultdict(list)
    battles = ImportedBattle.objects.filter(prompt__isnull=False).order_by().values_list(
        "source", "prompt_id", "model_a_id", "model_b_id", "score_a")
    for source, prompt_id, a, b, score in battles.iterator(chunk_size=5000):
        by_source[source].append(_item(prompt_id, a, b, score))
    for source in sorted(by_source):
        yield source, "source", by_source[source]


def _panel_rows():
    """(panel id, prompt, a, b, the members' verdicts) of every panel judgment."""
    return Judgment.objects.filter(judge_config__protocol=JudgeConfig.Protocol.PANEL).order_by().values_list(
        "judge_config_id", "match__prompt_id", "match__competitor_a_id", "match__competitor_b_id",
        "forward__extra__panel__members").iterator(chunk_size=5000)


def _panel_member_outcomes(configs: dict[int, str]) -> Iterable[tuple[str, str, list[core.Outcome]]]:
    """Each panel member's own verdicts (both orders combined), kept on the panel's judgments."""
    by_member: dict[tuple[int, str], list[core.Outcome]] = defaultdict(list)
    for panel, prompt_id, a, b, members in _panel_rows():
        for member in members or []:
            if member.get("winner") in WINNER_SCORES:
                by_member[(panel, member["name"])].append(_item(prompt_id, a, b, WINNER_SCORES[member["winner"]]))
    for (panel, member), outcomes in sorted(by_member.items(), key=lambda kv: (configs.get(kv[0][0], ""), kv[0][1])):
        yield f"{member} in panel {configs.get(panel, panel)}", "panel member", outcomes


def panel_agreement() -> list[dict]:
    """Per panel, how often each pair of its members named the same winner (ties included)."""
    winners: dict[int, list[dict[str, str]]] = defaultdict(list)
    for panel, _, _, _, members in _panel_rows():
        winners[panel].append({m["name"]: m.get("winner") for m in members or [] if "name" in m})
    names = dict(JudgeConfig.objects.filter(pk__in=list(winners)).values_list("pk", "name"))
    return [{"panel": names.get(panel, str(panel)),
             "pairs": [{"first": first, "second": second, **found}
                       for (first, second), found in sorted(panel_core.mutual_agreement(rows).items())]}
            for panel, rows in sorted(winners.items())]


def _ratings(outcomes: list[core.Outcome], names: dict[int, str]) -> dict[str, float]:
    """Bradley-Terry ratings from outcomes (no intervals: only the order matters here)."""
    counts: dict[tuple[str, str, float], int] = defaultdict(int)
    for o in outcomes:
        _, first, second = o.item
        counts[(names[first], names[second], o.value)] += 1
    if len({m for a, b, _ in counts for m in (a, b)}) < 2:
        return {}
    cells = ratings.Cells.from_rows([(a, b, s, n, float(n)) for (a, b, s), n in counts.items()])
    try:
        board = ratings.compute_leaderboard(cells, method="bt", ci="none")
    except ratings.RatingError:
        return {}
    return {row.model: row.rating for row in board.rows}
