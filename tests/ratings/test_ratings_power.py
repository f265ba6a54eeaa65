"""Sample sizes of the one-sided sign test against the anchor-selection paper and a simulation."""

import numpy as np
import pytest

from arena.ratings import power


def test_a_55_percent_win_rate_needs_617_decisive_comparisons_as_in_the_paper():
    assert power.decisive_needed(0.55, alpha=0.05, power=0.8) == 617


def test_at_a_55_percent_tie_rate_it_needs_1372_prompts_as_in_the_paper():
    assert power.total_needed(0.55, alpha=0.05, power=0.8, tie_rate=0.55) == 1372


def test_the_normal_approximation_holds_its_power_in_a_simulated_sign_test():
    rng = np.random.default_rng(14)
    n = power.decisive_needed(0.55)
    critical = power.critical_wins(n)
    wins = rng.binomial(n, 0.55, size=40_000)
    simulated = float(np.mean(wins >= critical))
    assert simulated == pytest.approx(0.8, abs=0.02)
    assert power.exact_power(n, 0.55) == pytest.approx(simulated, abs=0.01)
    # The test keeps its size: under H0 it rejects at most 5% of the time.
    assert float(np.mean(rng.binomial(n, 0.5, size=40_000) >= critical)) <= 0.055


def test_bigger_edges_need_fewer_comparisons():
    sizes = [power.decisive_needed(p) for p in (0.52, 0.55, 0.6, 0.7)]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[-1] < 50 < 3000 < sizes[0]


def test_the_detectable_win_rate_inverts_the_sample_size():
    assert power.detectable_win_rate(617) == pytest.approx(0.55, abs=0.0005)
    assert power.detectable_win_rate(616.2) == pytest.approx(0.55, abs=1e-3)
    assert power.detectable_win_rate(80) > power.detectable_win_rate(800)


def test_too_few_comparisons_detect_nothing():
    assert power.detectable_win_rate(0) is None
    assert power.detectable_win_rate(2) is None


@pytest.mark.parametrize("args", [(0.5,), (1.0,), (0.55, 0.0), (0.55, 0.05, 1.0), (0.55, 0.05, 0.8, 1.0)])
def test_values_outside_their_range_are_refused_by_name(args):
    with pytest.raises(ValueError, match="must"):
        power.total_needed(*args)


def test_neighbours_report_what_their_direct_battles_detect_and_whether_they_separate():
    order = [("A", 20.0, 30.0), ("B", 0.0, 10.0), ("C", -5.0, 5.0)]
    head_to_head = {("A", "B"): (70, 30, 10), ("C", "B"): (5, 15, 0)}
    found = power.neighbours(order, head_to_head)
    assert [(n.a, n.b, n.decisive, n.ties, n.separated) for n in found] == [
        ("A", "B", 100, 10, True), ("B", "C", 20, 0, False)]
    assert found[0].observed_win_rate == pytest.approx(0.7)
    assert found[1].observed_win_rate == pytest.approx(0.75)  # B's wins, from the flipped record
    assert found[0].detectable_win_rate == pytest.approx(power.detectable_win_rate(100))
