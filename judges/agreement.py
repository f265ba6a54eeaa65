"""Agreement between judges and humans on the same items: pure functions over plain outcomes.

An *item* is a prompt and an unordered pair of competitors, written in a canonical order
(``first``, ``second``). Every vote or verdict on it is an outcome for ``first``: 1 (first better),
1/2 (tie) or 0 (second better). An item's label is the mean of its outcomes: above 1/2 ``first``,
below ``second``, exactly 1/2 ``tie``, so three humans voting first, first, second make ``first``.

- ``agreement``: over items both a judge and the humans decided, the share whose labels match
  (MT-bench's agreement "with ties");
- ``agreement_no_ties``: the same over items where neither label is a tie;
- ``cohen_kappa``: agreement beyond chance on the three labels;
- ``position_consistency``: over items the judge saw in both orders, the share whose label is the
  same in each order;
- ``human_human_agreement``: over all pairs of human votes on the same item, the share with the
  same label: the ceiling a judge can hope to reach.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from judges.evaluation import cohen_kappa

FIRST, SECOND, TIE = "first", "second", "tie"
ItemKey = Hashable


@dataclass(frozen=True)
class Outcome:
    """One vote or verdict on an item: ``value`` for the item's first competitor; ``swapped`` when
    the judge was shown the second competitor's output first."""

    item: ItemKey
    value: float
    swapped: bool = False


def label(value: float) -> str:
    return FIRST if value > 0.5 else SECOND if value < 0.5 else TIE


def item_labels(outcomes: Iterable[Outcome]) -> dict[ItemKey, str]:
    grouped: dict[ItemKey, list[float]] = defaultdict(list)
    for outcome in outcomes:
        grouped[outcome.item].append(outcome.value)
    return {item: label(sum(values) / len(values)) for item, values in grouped.items()}


def human_human_agreement(outcomes: Iterable[Outcome]) -> float | None:
    """Share of matching labels over every pair of votes cast on the same item."""
    grouped: dict[ItemKey, list[str]] = defaultdict(list)
    for outcome in outcomes:
        grouped[outcome.item].append(label(outcome.value))
    pairs = [a == b for labels in grouped.values() for a, b in itertools.combinations(labels, 2)]
    return sum(pairs) / len(pairs) if pairs else None


def position_consistency(outcomes: Iterable[Outcome]) -> float | None:
    by_order: dict[ItemKey, dict[bool, list[float]]] = defaultdict(lambda: {False: [], True: []})
    for outcome in outcomes:
        by_order[outcome.item][outcome.swapped].append(outcome.value)
    both = [orders for orders in by_order.values() if orders[False] and orders[True]]
    same = [label(_mean(o[False])) == label(_mean(o[True])) for o in both]
    return sum(same) / len(same) if same else None


def agreement(human: Mapping[ItemKey, str], judge: Mapping[ItemKey, str]) -> dict[str, float | int | None]:
    """``human`` and ``judge`` map items to labels; only items both decided count."""
    common = sorted(set(human) & set(judge), key=repr)
    h = [human[i] for i in common]
    j = [judge[i] for i in common]
    decided = [(a, b) for a, b in zip(h, j, strict=True) if a != TIE and b != TIE]
    return {
        "items": len(common),
        "agreement": _share(sum(a == b for a, b in zip(h, j, strict=True)), len(common)),
        "agreement_no_ties": _share(sum(a == b for a, b in decided), len(decided)),
        "cohen_kappa": cohen_kappa(j, h),
    }


def rank_correlations(a: Mapping[str, float], b: Mapping[str, float]) -> dict[str, float | None]:
    """Spearman's rho and Kendall's tau-b between two ratings over the models both rate."""
    common = sorted(set(a) & set(b))
    if len(common) < 2:
        return {"spearman": None, "kendall": None}
    from scipy import stats

    x, y = [a[m] for m in common], [b[m] for m in common]
    rho = stats.spearmanr(x, y).statistic
    tau = stats.kendalltau(x, y).statistic
    return {"spearman": _finite(rho), "kendall": _finite(tau)}


def _finite(value: float) -> float | None:
    value = float(value)
    return value if value == value else None  # NaN when one side is constant


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _share(hits: int, total: int) -> float | None:
    return hits / total if total else None
