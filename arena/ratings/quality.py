"""How good is a leaderboard as a benchmark: separability and agreement with a reference board.

The definitions follow Arena-Hard (Li, Chiang et al. 2024, "From Crowdsourced Data to High-Quality
Benchmarks: Arena-Hard and BenchBuilder Pipeline", section 4, and the LMSYS blog post of 2024-04-19):

- *separability*: the share of model pairs whose confidence intervals do not overlap;
- *agreement with confidence*: over the pairs the *reference* separates, +1 when the benchmark separates
  the pair in the same order, -1 when it separates it in the opposite order, 0 when it cannot separate
  it; averaged over those pairs;
- *Brier score*: the benchmark's probability that a is above b, from the normal approximation of the
  rating difference (its bootstrap mean and variance: P = Phi(mean / sd)), scored against the reference
  order (1 when the reference puts a above b, else 0). Arena-Hard scores it against the reference
  ranking; we score only the pairs the reference *separates* (the pairs of the agreement), so that a
  coin flip of the reference is never taken as the truth;
- *Spearman* and *Kendall* (tau-b) correlation of the two orders.

Everything is computed on the models both boards place (``models``); ``pairs`` is their number of
pairs; each statistic says on how many pairs it stands. A pair is separated when one interval lies
wholly above the other; an open side (an unbounded interval) is infinite. No Django in here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.stats import kendalltau, norm, spearmanr


@dataclass(frozen=True)
class Placement:
    """One model on a board: its interval (-inf / +inf for an open side); boards list them best first."""

    model: str
    low: float
    high: float


@dataclass(frozen=True, eq=False)
class Spread:
    """Mean and covariance of the ratings over the bootstrap (or the sandwich), in rating points.

    Differences of ratings do not depend on where the ratings are pinned, so any gauge will do.
    """

    models: tuple[str, ...]
    mean: np.ndarray  # (m,)
    cov: np.ndarray  # (m, m)

    def difference(self, a: str, b: str) -> tuple[float, float] | None:
        """Mean and variance of rating(a) - rating(b); None when either model is not in the spread."""
        if a not in self.models or b not in self.models:
            return None
        i, j = self.models.index(a), self.models.index(b)
        variance = self.cov[i, i] + self.cov[j, j] - 2.0 * self.cov[i, j]
        return float(self.mean[i] - self.mean[j]), max(0.0, float(variance))

    def as_dict(self, digits: int = 4) -> dict:
        return {"models": list(self.models), "mean": np.round(self.mean, digits).tolist(),
                "cov": np.round(self.cov, digits).tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> Spread:
        return cls(tuple(data["models"]), np.asarray(data["mean"], dtype=np.float64),
                   np.asarray(data["cov"], dtype=np.float64))

    @classmethod
    def from_samples(cls, models: Sequence[str], samples: np.ndarray) -> Spread:
        """From bootstrap ratings, one round per row."""
        cov = np.cov(samples, rowvar=False) if samples.shape[0] > 1 else np.zeros((samples.shape[1],) * 2)
        return cls(tuple(models), samples.mean(axis=0), np.atleast_2d(cov))


@dataclass(frozen=True)
class Quality:
    models: int  # models on both boards
    pairs: int  # pairs of those models
    separated_pairs: int  # pairs the benchmark separates
    separability: float | None  # separated_pairs / pairs
    reference_pairs_separated: int  # pairs the reference separates: the agreement and Brier pairs
    agreement_with_confidence: float | None
    brier: float | None
    brier_pairs: int  # reference-separated pairs whose difference the benchmark's spread knows
    spearman: float | None  # on ``models`` models
    kendall: float | None

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def separated(a: Placement, b: Placement) -> int:
    """+1 when a's interval lies wholly above b's, -1 when wholly below, 0 when they overlap."""
    if a.low > b.high:
        return 1
    if b.low > a.high:
        return -1
    return 0


def probability_above(mean: float, variance: float) -> float:
    """P(difference > 0) for a normal difference with this mean and variance."""
    if variance <= 0.0:
        return 1.0 if mean > 0 else 0.0 if mean < 0 else 0.5
    return float(norm.cdf(mean / math.sqrt(variance)))


def benchmark_quality(board: Sequence[Placement], reference: Sequence[Placement],
                      spread: Spread | None = None) -> Quality:
    """``board`` judged against ``reference`` (both best first); ``spread`` of the board for the Brier score."""
    in_reference = {p.model: p for p in reference}
    common = [p for p in board if p.model in in_reference]
    pairs = list(combinations(common, 2))  # a before b on the board: the board puts a above b
    ours = [separated(a, b) for a, b in pairs]
    theirs = [separated(in_reference[a.model], in_reference[b.model]) for a, b in pairs]
    scored = [(o * t, a, b, t) for (a, b), o, t in zip(pairs, ours, theirs, strict=True) if t != 0]
    squared = []
    if spread is not None:
        for _, a, b, t in scored:
            difference = spread.difference(a.model, b.model)
            if difference is not None:
                squared.append((probability_above(*difference) - (1.0 if t > 0 else 0.0)) ** 2)
    spearman, kendall = _rank_correlations([p.model for p in common], [p.model for p in reference])
    separated_pairs = sum(1 for o in ours if o != 0)
    return Quality(
        models=len(common), pairs=len(pairs), separated_pairs=separated_pairs,
        separability=separated_pairs / len(pairs) if pairs else None,
        reference_pairs_separated=len(scored),
        agreement_with_confidence=float(np.mean([s for s, *_ in scored])) if scored else None,
        brier=float(np.mean(squared)) if squared else None, brier_pairs=len(squared),
        spearman=spearman, kendall=kendall,
    )


def _rank_correlations(order: list[str], reference_order: list[str]) -> tuple[float | None, float | None]:
    """Spearman and Kendall between two orders of the same models (positions; no ties)."""
    if len(order) < 2:
        return None, None
    position = {name: k for k, name in enumerate(m for m in reference_order if m in set(order))}
    ours = np.arange(len(order), dtype=np.float64)
    theirs = np.array([position[name] for name in order], dtype=np.float64)
    if len(order) == 2:  # scipy warns on two points; the orders either agree or they do not
        value = 1.0 if theirs[0] < theirs[1] else -1.0
        return value, value
    # Rounded: identical orders give 0.9999999999999999 in float arithmetic, which reads as a difference.
    return round(float(spearmanr(ours, theirs).statistic), 12), round(float(kendalltau(ours, theirs).statistic), 12)


def anchor_informativeness(against_anchor: dict[tuple[object, str], float]) -> tuple[float | None, int]:
    """Share of (prompt, pair of models) cases where the two models got different verdicts against the
    anchor ("Mediocrity is the key for LLM as a Judge Anchor Selection"): an anchor that beats, or loses
    to, everyone tells the models apart on no prompt. ``against_anchor[(prompt, model)]`` is the model's
    score against the anchor on that prompt (1 win, 1/2 tie, 0 loss; soft scores by their side of 1/2).
    Returns the share and the number of cases."""
    by_prompt: dict[object, list[int]] = {}
    for (prompt, _), score in against_anchor.items():
        by_prompt.setdefault(prompt, []).append(int(np.sign(score - 0.5)))
    cases = differing = 0
    for outcomes in by_prompt.values():
        counts = np.bincount(np.asarray(outcomes) + 1, minlength=3)
        n = len(outcomes)
        cases += n * (n - 1) // 2
        differing += n * (n - 1) // 2 - int(sum(c * (c - 1) // 2 for c in counts))
    return (differing / cases if cases else None), cases


STOP_RULES = ("top_k", "neighbours", "separability")


def check_stop_rule(rule: str, value: float | None) -> None:
    """Raise ValueError naming what is wrong with a stop rule."""
    if rule not in STOP_RULES:
        raise ValueError(f"unknown stop rule {rule!r}; use one of {', '.join(STOP_RULES)}")
    if rule == "top_k" and not (isinstance(value, int | float) and value >= 1 and float(value).is_integer()):
        raise ValueError("the top_k stop rule needs a whole number k >= 1")
    if rule == "separability" and not (isinstance(value, int | float) and 0.0 < value <= 1.0):
        raise ValueError("the separability stop rule needs a share in (0, 1]")


def target_met(board: Sequence[Placement], rule: str, value: float | None = None) -> bool:
    """Whether a board (best first) meets a stop rule: ``top_k`` (each of the k best models is separated
    from every model below them), ``neighbours`` (every adjacent pair is separated) or ``separability``
    (the share of separated pairs is at least ``value``)."""
    check_stop_rule(rule, value)
    if len(board) < 2:
        return False
    if rule == "neighbours":
        return all(separated(a, b) == 1 for a, b in zip(board, board[1:], strict=False))
    if rule == "top_k":
        k = int(value)
        return k < len(board) and all(separated(a, b) == 1 for a in board[:k] for b in board[k:])
    pairs = list(combinations(board, 2))
    return sum(1 for a, b in pairs if separated(a, b) != 0) / len(pairs) >= value
