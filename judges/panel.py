"""Juries: a panel of judge configurations decides a match together (PoLL, "Replacing Judges with Juries").

A panel names 2+ member configurations and a combination rule:

- ``mean``: the mean of the members' P(a better) (a member without a probability counts by its
  winner: 1, 0.5 or 0), the winner by the panel's tie margin;
- ``majority``: the winner most members named; no strict majority is a tie. ``prob_a`` is then the
  share of members for a, plus half the ties.

Every member's verdict is kept beside the panel's, so their agreement with each other and with
people can be measured: judge errors are correlated, a panel has to show how much.

Self-preference guard (``self_preference_guard: true``): a member whose ``family`` is one of the
match's competitors' families abstains on that match; the others decide.

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
    self_preference_guard: bool = False


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
    guard = spec.get("self_preference_guard", False)
    if not isinstance(guard, bool):
        raise ConfigurationError("self_preference_guard must be true or false")
    return PanelSettings(tuple(m.strip() for m in members), rule, guard)


def abstains(member_family: str, competitor_families: Sequence[str]) -> bool:
    """The self-preference guard: a member judging a competitor of its own model family sits the
    match out (judges favour their own family's answers). An empty family never matches."""
    family = member_family.strip().casefold()
    return bool(family) and family in {f.strip().casefold() for f in competitor_families if f}


@dataclass(frozen=True)
class MemberVerdict:
    """A member's verdict; ``abstained`` (the self-preference guard) keeps it out of the vote."""

    name: str
    verdict: Verdict | None
    consistent: bool | None = None
    calls: int = 0
    abstained: bool = False

    def as_dict(self) -> dict[str, Any]:
        if self.verdict is None:
            return {"name": self.name, "abstained": True, "calls": 0}
        v = self.verdict
        return {"name": self.name, "winner": v.winner, "prob_a": v.prob_a, "label": v.label,
                "consistent": self.consistent, "calls": self.calls, "rationale": v.rationale[:2000],
                "decided_by": v.extra.get("decided_by"), "abstained": self.abstained}


def member_prob(verdict: Verdict) -> float:
    return verdict.prob_a if verdict.prob_a is not None else _SCORES[verdict.winner]


def combine(members: Sequence[MemberVerdict], *, rule: str, tie_margin: float = 0.0) -> Verdict:
    """The panel's verdict from its members' (in the stored order); abstaining members are listed
    but do not vote. ``ConfigurationError`` when no member voted."""
    voting = [m for m in members if not m.abstained and m.verdict is not None]
    if not voting:
        raise ConfigurationError("every panel member abstained (self-preference guard): no verdict")
    verdicts: list[Verdict] = [m.verdict for m in voting]  # type: ignore[misc]
    if rule == "mean":
        prob_a = sum(member_prob(v) for v in verdicts) / len(verdicts)
        winner: Winner = winner_from_prob(prob_a, tie_margin)
    else:
        votes = Counter(v.winner for v in verdicts)
        top, count = votes.most_common(1)[0]
        winner = top if count * 2 > len(verdicts) and top != "tie" else "tie"  # type: ignore[assignment]
        prob_a = (votes["a"] + 0.5 * votes["tie"]) / len(verdicts)
    return Verdict(
        winner=winner, prob_a=prob_a, label=label_for_winner(winner),
        rationale=f"Panel ({rule}) of {', '.join(m.name for m in voting)}."
                  + (f" Abstained: {', '.join(m.name for m in members if m not in voting)}."
                     if len(voting) < len(members) else ""),
        prompt_tokens=sum(v.prompt_tokens for v in verdicts),
        completion_tokens=sum(v.completion_tokens for v in verdicts),
        latency_s=sum(v.latency_s for v in verdicts), cost_usd=sum(v.cost_usd for v in verdicts),
        truncated=any(v.truncated for v in verdicts),
        extra={"panel": {"rule": rule, "members": [m.as_dict() for m in members]},
               # An abstaining member was still asked (all members judge in one batch): its calls count.
               "scores_computed": sum(m.calls for m in members)},
    )


def mutual_agreement(member_winners: Sequence[Mapping[str, str]]) -> dict[tuple[str, str], dict[str, float | int]]:
    """For each pair of members, the share of matches where they named the same winner (ties
    included) and the number of matches both judged. ``member_winners``: one {member: winner} per match."""
    same: Counter[tuple[str, str]] = Counter()
    both: Counter[tuple[str, str]] = Counter()
    for winners in member_winners:
        winners = {name: w for name, w in winners.items() if w is not None}
        for first in winners:
            for second in winners:
                if first < second:
                    both[(first, second)] += 1
                    same[(first, second)] += winners[first] == winners[second]
    return {pair: {"agreement": same[pair] / n, "matches": n} for pair, n in both.items()}
