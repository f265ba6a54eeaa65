"""Position, length and family bias on hand-made verdicts (no database)."""

import pytest

from judges.bias import Verdict, family_lift, first_slot_win_rate, flip_rate, length_gap_items, prefer_longer


def test_first_slot_win_rate_counts_decisive_verdicts_whose_order_is_known():
    verdicts = [Verdict(1, "x", "y", 1.0), Verdict(2, "x", "y", 1.0), Verdict(3, "y", "x", 0.0),
                Verdict(4, "x", "y", 0.5), Verdict(5, "x", "y", 0.0, order_known=False)]
    found = first_slot_win_rate(verdicts)
    assert (found.value, found.n) == (pytest.approx(2 / 3), 3)


def test_a_verdict_that_follows_the_slot_flips_when_the_order_is_swapped():
    verdicts = [
        Verdict(1, "x", "y", 1.0), Verdict(1, "y", "x", 1.0),  # the first slot wins both times: a flip
        Verdict(2, "x", "y", 1.0), Verdict(2, "y", "x", 0.0),  # x wins both times: consistent
        Verdict(3, "x", "y", 0.5), Verdict(3, "y", "x", 0.0),  # tie, then x: a flip
        Verdict(4, "x", "y", 1.0),  # one order only: not counted
    ]
    found = flip_rate(verdicts)
    assert (found.value, found.n) == (pytest.approx(2 / 3), 3)


def test_prefer_longer_counts_decisive_verdicts_on_pairs_far_enough_apart():
    verdicts = [Verdict(1, "x", "y", 1.0, 900, 100), Verdict(2, "x", "y", 0.0, 900, 100),
                Verdict(3, "x", "y", 0.0, 100, 900), Verdict(4, "x", "y", 1.0, 150, 100),  # too close
                Verdict(5, "x", "y", 0.5, 900, 100)]  # a tie
    found = prefer_longer(verdicts, min_gap=200)
    assert (found.value, found.n) == (pytest.approx(2 / 3), 3)
    assert length_gap_items(verdicts, min_gap=200) == {1, 2, 3, 5}
    assert prefer_longer(verdicts, min_gap=200, items={1}).n == 1


def test_family_lift_compares_the_judge_with_the_humans_on_the_same_items():
    family = {"gpt-4": "gpt", "gpt-3.5": "gpt", "claude": "claude"}
    judge = [Verdict(1, "gpt-4", "claude", 1.0), Verdict(2, "claude", "gpt-3.5", 0.0),
             Verdict(3, "gpt-4", "gpt-3.5", 1.0),  # both gpt: says nothing about the family
             Verdict(4, "gpt-4", "claude", 1.0)]  # no human vote on item 4
    humans = [Verdict(1, "gpt-4", "claude", 0.0), Verdict(2, "claude", "gpt-3.5", 0.5),
              Verdict(2, "claude", "gpt-3.5", 0.0)]
    found = family_lift(judge, humans, family, "gpt")
    # Items 1 and 2: the judge gives gpt 1 and 1; the humans 0 and 0.75.
    assert found["items"] == 2
    assert found["judge_win_rate"] == pytest.approx(1.0)
    assert found["human_win_rate"] == pytest.approx(0.375)
    assert found["lift"] == pytest.approx(0.625)


def test_without_shared_items_the_lift_is_unknown():
    assert family_lift([], [], {}, "gpt")["lift"] is None
