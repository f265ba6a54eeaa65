"""Simulated arenas for the rating tests."""

from collections.abc import Callable

import numpy as np
import pytest

from arena.ratings import Battles

Simulate = Callable[..., Battles]


def simulate_battles(
    rng: np.random.Generator,
    strengths: np.ndarray,
    n: int,
    *,
    tie_share: float = 0.0,
    names: tuple[str, ...] | None = None,
) -> Battles:
    """Random pairs under Bradley-Terry with logit ``strengths``; ties (if any) keep E[score] = sigmoid."""
    m = strengths.shape[0]
    a = rng.integers(0, m, size=n)
    b = rng.integers(0, m - 1, size=n)
    b = b + (b >= a)
    p = 1.0 / (1.0 + np.exp(-(strengths[a] - strengths[b])))
    # With tie probability t and win probability q among the rest, t / 2 + (1 - t) q = p keeps the
    # expected score at p, so half-win ties leave the true strengths the maximum likelihood target.
    tie = rng.random(n) < tie_share
    q = np.clip((p - tie_share / 2.0) / (1.0 - tie_share), 0.0, 1.0)
    score = np.where(tie, 0.5, (rng.random(n) < q).astype(float))
    models = names or tuple(f"model-{k:02d}" for k in range(m))
    return Battles.from_battles(a, b, score, models=models)


@pytest.fixture
def simulate() -> Simulate:
    return simulate_battles
