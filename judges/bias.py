"""A judge's biases, from its verdicts: position, length and self-preference. Pure functions, plain data.

Each verdict is on an *item* (a prompt and an unordered pair of competitors) and says how the competitor
shown first fared: 1 (won), 1/2 (tie), 0 (lost). The measures follow FastChat's analysis of its GPT-4
judgments ("Judging LLM-as-a-judge", Zheng et al. 2023) and the Arena-Hard length study:

- ``first_slot_win_rate``: over decisive verdicts whose order is known, the share the first slot won
  (0.5: no position bias);
- ``flip_rate``: over items judged in both orders, the share whose winner (a competitor, or a tie)
  changes when the order is swapped;
- ``prefer_longer``: over decisive verdicts on pairs whose answers differ by more than ``min_gap``
  characters, the share the longer answer won; computed for the humans on the same items beside it;
- ``family_lift``: on items where exactly one answer comes from the judge's own family, that family's
  share of points (ties half) under the judge minus under the humans, on the same items.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

DEFAULT_MIN_GAP = 200  # characters: well past the noise of formatting, about a short paragraph


@dataclass(frozen=True)
class Verdict:
    item: Hashable
    first: str  # the competitor shown first (or, when the order is unknown, either one)
    second: str
    value: float  # for ``first``: 1 won, 0.5 tie, 0 lost
    first_chars: int = 0
    second_chars: int = 0
    order_known: bool = True

    def points(self, competitor: str) -> float:
        return self.value if competitor == self.first else 1.0 - self.value


@dataclass(frozen=True)
class Rate:
    """A share and the number of cases it stands on (None when there are none)."""

    value: float | None
    n: int

    @classmethod
    def of(cls, hits: float, n: int) -> Rate:
        return cls(hits / n if n else None, n)

    def as_dict(self) -> dict:
        return {"value": self.value, "n": self.n}


def first_slot_win_rate(verdicts: Iterable[Verdict]) -> Rate:
    decisive = [v for v in verdicts if v.order_known and v.value != 0.5]
    return Rate.of(sum(1 for v in decisive if v.value > 0.5), len(decisive))


def flip_rate(verdicts: Iterable[Verdict]) -> Rate:
    """Items seen in both orders whose winner changes with the order (the mean verdict of each order)."""
    by_order: dict[Hashable, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for v in verdicts:
        if v.order_known:
            # Points of the item's first-named competitor (the lower name), per competitor shown first.
            anchor = min(v.first, v.second)
            by_order[v.item][v.first].append(v.points(anchor))
    both = [orders for orders in by_order.values() if len(orders) == 2]
    flips = sum(1 for orders in both if len({_label(sum(x) / len(x)) for x in orders.values()}) > 1)
    return Rate.of(flips, len(both))


def prefer_longer(verdicts: Iterable[Verdict], min_gap: int = DEFAULT_MIN_GAP,
                  items: set[Hashable] | None = None) -> Rate:
    """Share of decisive verdicts won by the longer answer, on pairs more than ``min_gap`` characters apart
    (only on ``items`` when given)."""
    won = n = 0
    for v in verdicts:
        if v.value == 0.5 or abs(v.first_chars - v.second_chars) <= min_gap:
            continue
        if items is not None and v.item not in items:
            continue
        n += 1
        won += (v.value > 0.5) == (v.first_chars > v.second_chars)
    return Rate.of(won, n)


def length_gap_items(verdicts: Iterable[Verdict], min_gap: int = DEFAULT_MIN_GAP) -> set[Hashable]:
    return {v.item for v in verdicts if abs(v.first_chars - v.second_chars) > min_gap}


def family_lift(judge: Iterable[Verdict], humans: Iterable[Verdict], family_of: Mapping[str, str],
                family: str) -> dict:
    """The judge's family's share of points under the judge and under the humans, on the items both
    decided where exactly one answer is of that family; ``lift`` is the difference."""
    judge_points = _family_points(judge, family_of, family)
    human_points = _family_points(humans, family_of, family)
    shared = judge_points.keys() & human_points.keys()
    if not shared:
        return {"family": family, "items": 0, "judge_win_rate": None, "human_win_rate": None, "lift": None}
    judged = sum(_mean(judge_points[i]) for i in shared) / len(shared)
    voted = sum(_mean(human_points[i]) for i in shared) / len(shared)
    return {"family": family, "items": len(shared), "judge_win_rate": judged, "human_win_rate": voted,
            "lift": judged - voted}


def _family_points(verdicts: Iterable[Verdict], family_of: Mapping[str, str], family: str
                   ) -> dict[Hashable, list[float]]:
    found: dict[Hashable, list[float]] = defaultdict(list)
    for v in verdicts:
        ours = [c for c in (v.first, v.second) if family_of.get(c) == family]
        if len(ours) == 1:
            found[v.item].append(v.points(ours[0]))
    return found


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _label(value: float) -> str:
    return "first" if value > 0.5 else "second" if value < 0.5 else "tie"
