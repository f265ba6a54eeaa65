"""How many comparisons a pairwise evaluation needs, and what the comparisons at hand can detect.

The test is the one-sided sign test on decisive (non-tied) comparisons: H0 "each model wins half of
them" against "model a wins ``win_rate`` of them". Sample sizes use the normal approximation

    n = ((z_(1-alpha) * 0.5 + z_power * sqrt(p (1 - p))) / (p - 0.5)) ** 2,   rounded up,

which gives the figures of "Mediocrity is the key for LLM as a Judge Anchor Selection": 617 decisive
comparisons for a 55% win rate at alpha 0.05 and 80% power, and 617 / (1 - 0.55) -> 1,372 prompts when
55% of the verdicts are ties. ``exact_power`` is the exact binomial power of the same test at a given
n, for checking the approximation. Ties carry no information in a sign test, so the prompts needed are
the decisive comparisons divided by the share of decisive verdicts. No Django in here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.optimize import brentq
from scipy.stats import binom, norm

ALPHA = 0.05
POWER = 0.8
DEFAULT_TIE_RATE = 0.3  # used before any verdict is seen: about the tie share of the shipped human votes


def check(win_rate: float | None = None, alpha: float = ALPHA, power: float = POWER, tie_rate: float = 0.0) -> None:
    """Raise ValueError naming the first value outside its range."""
    if win_rate is not None and not 0.5 < win_rate < 1.0:
        raise ValueError(f"win_rate must lie strictly between 0.5 and 1, not {win_rate}")
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha must lie strictly between 0 and 0.5, not {alpha}")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must lie strictly between 0 and 1, not {power}")
    if not 0.0 <= tie_rate < 1.0:
        raise ValueError(f"tie_rate must be at least 0 and below 1, not {tie_rate}")


def _z(alpha: float, power: float) -> tuple[float, float]:
    return float(norm.ppf(1.0 - alpha)), float(norm.ppf(power))


def decisive_needed(win_rate: float, alpha: float = ALPHA, power: float = POWER) -> int:
    """Decisive comparisons for the sign test to detect ``win_rate`` (normal approximation)."""
    check(win_rate, alpha, power)
    z_alpha, z_power = _z(alpha, power)
    spread = z_alpha * 0.5 + z_power * math.sqrt(win_rate * (1.0 - win_rate))
    # The tiny tolerance keeps a float like 616.0000000001 from costing one more comparison.
    return math.ceil((spread / (win_rate - 0.5)) ** 2 - 1e-9)


def total_needed(win_rate: float, alpha: float = ALPHA, power: float = POWER, tie_rate: float = 0.0) -> int:
    """Comparisons (prompts, for one pair) when ``tie_rate`` of the verdicts are ties."""
    check(win_rate, alpha, power, tie_rate)
    return math.ceil(decisive_needed(win_rate, alpha, power) / (1.0 - tie_rate) - 1e-9)


def detectable_win_rate(decisive: float, alpha: float = ALPHA, power: float = POWER) -> float | None:
    """The smallest win rate that ``decisive`` comparisons detect with this power (the inverse of
    ``decisive_needed``, continuous); None when not even a 100% win rate would be detected."""
    check(None, alpha, power)
    z_alpha, z_power = _z(alpha, power)
    root_n = math.sqrt(max(decisive, 0.0))

    def gap(p: float) -> float:
        return root_n * (p - 0.5) - (z_alpha * 0.5 + z_power * math.sqrt(p * (1.0 - p)))

    if gap(1.0) <= 0.0:
        return None
    return float(brentq(gap, 0.5, 1.0, xtol=1e-10))


def critical_wins(decisive: int, alpha: float = ALPHA) -> int:
    """The fewest wins out of ``decisive`` at which the exact one-sided sign test rejects H0."""
    # binom.isf gives the smallest k with P(X > k) <= alpha; rejecting at X >= k + 1 keeps the size <= alpha.
    return int(binom.isf(alpha, decisive, 0.5)) + 1


def exact_power(decisive: int, win_rate: float, alpha: float = ALPHA) -> float:
    """The exact binomial power of the one-sided sign test with ``decisive`` comparisons."""
    return float(binom.sf(critical_wins(decisive, alpha) - 1, decisive, win_rate))


@dataclass(frozen=True)
class NeighbourPower:
    """An adjacent pair of a leaderboard (``a`` ranked above ``b``)."""

    a: str
    b: str
    decisive: int  # their head-to-head battles that were not ties
    ties: int
    observed_win_rate: float | None  # a's share of the decisive ones
    detectable_win_rate: float | None  # smallest edge those battles detect at 80% power; None: too few
    separated: bool  # the two intervals do not overlap


def neighbours(order: Sequence[tuple[str, float, float]], head_to_head: dict[tuple[str, str], tuple[int, int, int]],
               alpha: float = ALPHA, power: float = POWER) -> list[NeighbourPower]:
    """For each adjacent pair of ``order`` ((model, low, high), best first), what their direct battles
    can detect; ``head_to_head[(a, b)]`` is (a's wins, b's wins, ties), under either order of the names."""
    found = []
    for (a, a_low, a_high), (b, b_low, b_high) in zip(order, order[1:], strict=False):
        wins, losses, ties = head_to_head.get((a, b)) or _flipped(head_to_head.get((b, a)))
        decisive = wins + losses
        found.append(NeighbourPower(
            a=a, b=b, decisive=decisive, ties=ties,
            observed_win_rate=wins / decisive if decisive else None,
            detectable_win_rate=detectable_win_rate(decisive, alpha, power),
            separated=a_low > b_high or b_low > a_high,
        ))
    return found


def _flipped(record: tuple[int, int, int] | None) -> tuple[int, int, int]:
    return (0, 0, 0) if record is None else (record[1], record[0], record[2])
