"""Pure pairing rules: who meets whom under each schedule."""

import numpy as np

from arena import scheduling


def test_anchor_schedule_pairs_everyone_with_the_anchor_once():
    assert scheduling.anchor_pairs([1, 2, 3, 4], anchor=3) == [(1, 3), (2, 3), (4, 3)]


def test_round_robin_has_every_pair_once():
    pairs = scheduling.round_robin_pairs([3, 1, 2, 4])
    assert len(pairs) == 6 and len(set(pairs)) == 6
    assert all(a < b for a, b in pairs)


def test_bracket_first_round_pairs_everyone_and_gives_the_odd_one_a_bye():
    pairs, byes = scheduling.bracket_first_round([1, 2, 3, 4, 5], np.random.default_rng(0))
    seen = [c for pair in pairs for c in pair] + byes
    assert sorted(seen) == [1, 2, 3, 4, 5]
    assert len(pairs) == 2 and len(byes) == 1


def test_bracket_seeding_is_reproducible_from_the_seed():
    first = scheduling.bracket_first_round(range(8), np.random.default_rng(7))
    again = scheduling.bracket_first_round(range(8), np.random.default_rng(7))
    assert first == again


def test_bracket_next_round_pairs_winners_in_bracket_order():
    assert scheduling.bracket_next_round([5, 2, 7, 1]) == ([(5, 2), (7, 1)], [])
    assert scheduling.bracket_next_round([5, 2, 7]) == ([(5, 2)], [7])
    assert scheduling.bracket_next_round([5]) == ([], [5])


def test_adaptive_prefers_close_and_rarely_compared_pairs():
    ratings = {1: 1000.0, 2: 1010.0, 3: 1400.0}
    rng = np.random.default_rng(0)
    assert scheduling.adaptive_pairs([1, 2, 3], ratings, {}, budget=1, rng=rng) == [(1, 2)]
    # Once (1, 2) has been compared many times, the next most informative pair wins.
    assert scheduling.adaptive_pairs([1, 2, 3], ratings, {(1, 2): 50}, budget=1, rng=rng) == [(2, 3)]
