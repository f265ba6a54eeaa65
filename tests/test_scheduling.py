"""Pure pairing rules: who meets whom under each schedule."""

import numpy as np

from arena import scheduling
from arena.ratings import Cells


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


def _line(n: int, gap: float = 100.0) -> dict[int, float]:
    return {i: 1000.0 + gap * i for i in range(n)}


def test_adaptive_prefers_close_pairs_whose_intervals_overlap():
    ratings = {1: 1000.0, 2: 1020.0, 3: 1600.0}
    wide = {1: 80.0, 2: 80.0, 3: 80.0}
    assert scheduling.adaptive_pairs([1, 2, 3], ratings, {}, budget=1, rng=np.random.default_rng(0),
                                     uncertainty=wide) == [(1, 2)]


def test_adaptive_prefers_the_uncertain_pair_among_equally_close_ones():
    ratings = {1: 1000.0, 2: 1010.0, 3: 1500.0, 4: 1510.0}
    uncertainty = {1: 5.0, 2: 5.0, 3: 90.0, 4: 90.0}
    for seed in range(5):
        chosen = scheduling.adaptive_pairs([1, 2, 3, 4], ratings, {}, budget=1, rng=np.random.default_rng(seed),
                                           uncertainty=uncertainty)
        assert chosen == [(3, 4)]


def test_adaptive_never_pairs_a_model_with_itself_nor_repeats_a_pair_in_a_round():
    ratings, uncertainty = _line(10), dict.fromkeys(range(10), 60.0)
    for seed in range(10):
        chosen = scheduling.adaptive_pairs(list(range(10)) + [3], ratings, {}, budget=10,
                                           rng=np.random.default_rng(seed), uncertainty=uncertainty)
        assert len(chosen) == 10 and len(set(chosen)) == 10
        assert all(a < b for a, b in chosen)


def test_adaptive_spreads_a_round_over_every_model():
    # Model 0 is the most uncertain and close to everyone, yet plays no more than its share.
    ratings = {i: 1000.0 + i for i in range(8)}
    uncertainty = {0: 300.0, **dict.fromkeys(range(1, 8), 40.0)}
    chosen = scheduling.adaptive_pairs(list(range(8)), ratings, {}, budget=8, rng=np.random.default_rng(1),
                                       uncertainty=uncertainty)
    plays = [sum(c in pair for pair in chosen) for c in range(8)]
    assert max(plays) <= 2 and min(plays) >= 1


def test_every_pair_keeps_a_chance_even_when_settled():
    ratings, uncertainty = _line(8, gap=400.0), dict.fromkeys(range(8), 5.0)
    rng = np.random.default_rng(3)
    seen = set()
    for _ in range(400):
        seen |= set(scheduling.adaptive_pairs(list(range(8)), ratings, {}, budget=8, rng=rng,
                                              uncertainty=uncertainty))
    assert seen == set(scheduling.round_robin_pairs(range(8)))


def test_adaptive_cold_start_connects_everyone_in_one_round():
    for seed in range(5):
        chosen = scheduling.adaptive_pairs(list(range(9)), {}, {}, budget=9, rng=np.random.default_rng(seed))
        assert len(chosen) == 9
        reached, frontier = {0}, [0]
        while frontier:
            c = frontier.pop()
            for a, b in chosen:
                for x, y in ((a, b), (b, a)):
                    if x == c and y not in reached:
                        reached.add(y)
                        frontier.append(y)
        assert reached == set(range(9))


def test_adaptive_estimates_are_empty_until_the_graph_is_connected():
    apart = Cells.from_battles(["a", "c"], ["b", "d"], [1.0, 0.5])
    assert scheduling.adaptive_estimates(apart) == ({}, {})
    joined = Cells.from_battles(["a", "c", "b", "a"], ["b", "d", "c", "b"], [1.0, 0.5, 0.5, 1.0])
    ratings, errors = scheduling.adaptive_estimates(joined)
    assert set(ratings) == set(errors) == {"a", "b", "c", "d"}
    assert ratings["a"] > ratings["b"] and all(0 < e < float("inf") for e in errors.values())
