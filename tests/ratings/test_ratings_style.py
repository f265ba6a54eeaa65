"""Style control: features from answer texts, and a contextual fit that removes a length bias."""

import numpy as np
import pytest

from arena.ratings import RATING_PER_LOGIT, Battles, compute_leaderboard, style_counts, style_features
from arena.ratings.style import fit_style

ANSWER = """# Plan

Some **bold** words and __more__.

1. first
2. second
- bullet

```python
# not a header
- not a list
```
"""


def test_style_counts_read_words_headers_lists_and_bold_outside_code():
    words, headers, lists, bold = style_counts(ANSWER)
    assert (headers, lists, bold) == (1, 3, 2)
    assert words == len(ANSWER.split())


def test_style_features_are_normalised_differences():
    features = style_features("one two three", "one")
    assert features[0] == pytest.approx((3 - 1) / (3 + 1 + 1))
    assert features[1:].tolist() == [0.0, 0.0, 0.0]
    assert style_features("", "").tolist() == [0.0, 0.0, 0.0, 0.0]


def _verbose_arena(rng: np.random.Generator, n: int) -> tuple[Battles, np.ndarray, np.ndarray]:
    """Battles where the longer answer wins more often, and the verbose models are not the strong ones."""
    strengths = np.array([0.4, -0.2, 0.0, 0.3, -0.5, 0.1, 0.2, -0.3])
    verbosity = np.linspace(100.0, 900.0, strengths.shape[0])  # mean answer length in words
    a = rng.integers(0, 8, size=n)
    b = rng.integers(0, 7, size=n)
    b = b + (b >= a)
    length_a = verbosity[a] * rng.lognormal(0.0, 0.3, size=n)
    length_b = verbosity[b] * rng.lognormal(0.0, 0.3, size=n)
    length = (length_a - length_b) / (length_a + length_b + 1.0)
    logit = strengths[a] - strengths[b] + 1.5 * length
    score = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(float)
    battles = Battles.from_battles(a, b, score, models=tuple(f"m{k}" for k in range(8)))
    truth = (strengths - strengths.mean()) * RATING_PER_LOGIT + 1000.0
    return battles, length[:, None], truth


def test_style_control_recovers_a_planted_length_effect():
    battles, features, truth = _verbose_arena(np.random.default_rng(31), 40_000)
    board = compute_leaderboard(battles, style=features, style_names=("length",), ci="sandwich")
    controlled = np.array([board.row(name).rating for name in battles.models])
    raw = np.array([board.raw_ratings[name] for name in battles.models])
    assert raw[-1] - truth[-1] > 60.0  # the most verbose model is inflated without control
    assert np.max(np.abs(controlled - truth)) < 15.0
    inside = [
        board.row(name).ci_low <= t <= board.row(name).ci_high
        for name, t in zip(battles.models, truth, strict=True)
    ]
    assert sum(inside) >= 7
    result = fit_style(battles, features)
    assert result.coefficients[0] / result.scale[0] == pytest.approx(1.5, rel=0.1)
    assert board.style_coefficients["length"] == pytest.approx(result.coefficients[0])


def test_style_control_without_any_style_difference_is_plain_bradley_terry(simulate):
    rng = np.random.default_rng(32)
    battles = simulate(rng, rng.normal(size=5), 800)
    board = compute_leaderboard(battles, style=np.zeros((len(battles), 2)), ci="none")
    plain = compute_leaderboard(battles, ci="none")
    assert [row.rating for row in board.rows] == pytest.approx([row.rating for row in plain.rows], abs=1e-7)


def test_style_bootstrap_gives_intervals_around_the_controlled_ratings():
    battles, features, _ = _verbose_arena(np.random.default_rng(33), 3000)
    board = compute_leaderboard(battles, style=features, rounds=40, rng=np.random.default_rng(3))
    assert all(row.ci_low < row.rating < row.ci_high for row in board.rows)


def test_style_control_needs_battles_not_cells(simulate):
    battles = simulate(np.random.default_rng(34), np.zeros(3), 50)
    with pytest.raises(ValueError, match="Battles"):
        compute_leaderboard(battles.to_cells(), style=np.zeros((50, 1)), ci="none")
