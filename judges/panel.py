"""Juries: a panel of judge configurations decides a match together (PoLL, "Replacing Judges with Juries").

A panel names 2+ member configurations and a combination rule:

- ``mean``: the mean of the members' P(a better) (a member without a probability counts by its
  winner: 1, 0.5 or 0), the winner by the panel's tie margin;
- ``majority``: the winner most members named; no strict majority is a tie. ``prob_a`` is then the
  share of members for a, plus half the ties.

Every member's verdict is kept beside the panel's, so their agreement with each other and with
people can be measured: judge errors are correlated, a panel has to show how much.

Pure: plain data in, plain data out. The members' verdicts come in already combined over both
orders (``judges.both_orders.PairResult.combined``), in the stored order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from judges.base import ConfigurationError, Verdict, Winner
from judges.parsing import label_for_winner, winner_from_prob

RULES = ("mean", "majority")
MAX_MEMBERS = 8
_SCORES: dict[str, float] = {"a": 1.0, "b": 0.0, "tie": 0.5}


@dataclass(frozen=True)
class PanelSettings:
    members: tuple[str, ...]
    rule: str = "mean"


def panel_settings(spec: Mapping[str, Any]) -> PanelSettings:
    """The panel keys of a judge spec (``members``: configuration names; ``rule``), validated."""
    members = spec.get("members")
    if not isinstance(members, list) or not all(isinstance(m, str) and m.strip() for m in members):
        raise ConfigurationError("a panel needs 'members': a list of judge configuration names")
    if not 2 <= len(set(members)) == len(members) <= MAX_MEMBERS:
        raise ConfigurationError(f"a panel needs 2 to {MAX_MEMBERS} different members, got {len(members)}")
    rule = spec.get("rule", "mean")
    if rule not in RULES:
        raise ConfigurationError(f"a panel's rule must be one of {list(RULES)}, got {rule!r}")
    return PanelSettings(tuple(m.strip() for m in members), rule)


@dataclass(frozen=True)
class MemberVerdict:
    name: str
    verdict: Verdict
    consistent: bool | None = None
    calls: int = 0

    def as_dict(self) -> dict[str, Any]:
        v = self.verdict
        return {"name": self.name, "winner": v.winner, "prob_a": v.prob_a, "label": v.label,
                "consistent": self.consistent, "calls": self.calls, "rationale": v.rationale[:2000],
                "decided_by": v.extra.get("decided_by")}


def member_prob(verdict: Verdict) -> float:
    return verdict.prob_a if verdict.prob_a is not None else _SCORES[verdict.winner]


def combine(members: Sequence[MemberVerdict], *, rule: str, tie_margin: float = 0.0) -> Verdict:
    """The panel's verdict from its members' (2+, in the stored order)."""
    if len(members) < 2:
        raise ConfigurationError("a panel verdict needs at least two members")
    if rule == "mean":
        prob_a = sum(member_prob(m.verdict) for m in members) / len(members)
        winner: Winner = winner_from_prob(prob_a, tie_margin)
    else:
        votes = Counter(m.verdict.winner for m in members)
        top, count = votes.most_common(1)[0]
        winner = top if count * 2 > len(members) and top != "tie" else "tie"  # type: ignore[assignment]
        prob_a = (votes["a"] + 0.5 * votes["tie"]) / len(members)
    verdicts = [m.verdict for m in members]
    return Verdict(
        winner=winner, prob_a=prob_a, label=label_for_winner(winner),
        rationale=f"Panel ({rule}) of {', '.join(m.name for m in members)}.",
        prompt_tokens=sum(v.prompt_tokens for v in verdicts),
        completion_tokens=sum(v.completion_tokens for v in verdicts),
        latency_s=sum(v.latency_s for v in verdicts), cost_usd=sum(v.cost_usd for v in verdicts),
        truncated=any(v.truncated for v in verdicts),
        extra={"panel": {"rule": rule, "members": [m.as_dict() for m in members]},
               "scores_computed": sum(m.calls for m in members)},
    )


def mutual_agreement(member_winners: Sequence[Mapping[str, str]]) -> dict[tuple[str, str], dict[str, float | int]]:
    """For each pair of members, the share of matches where they named the same winner (ties
    included) and the number of matches both judged. ``member_winners``: one {member: winner} per match."""
    same: Counter[tuple[str, str]] = Counter()
    both: Counter[tuple[str, str]] = Counter()
    for winners in member_winners:
        for first in winners:
            for second in winners:
                if first < second:
                    both[(first, second)] += 1
                    same[(first, second)] += winners[first] == winners[second]
    return {pair: {"agreement": same[pair] / n, "matches": n} for pair, n in both.items()}
