"""Listwise judging on the deterministic fake backend: permutations, scores, pairs, parsing."""

from __future__ import annotations

import itertools

import pytest

from judges.backends.fake import FakeBackend
from judges.base import ConfigurationError, JudgeError
from judges.listwise import GroupTask, ListwiseJudge, ListwiseOptions, parse_ranking, permutations
from judges.prompts import DEFAULT_RUBRIC


def group(*lengths: int, prompt: str = "Explain tides.") -> GroupTask:
    outputs = tuple((f"answer {i}: " + "word " * n,) for i, n in enumerate(lengths))
    return GroupTask(prompt_turns=(prompt,), outputs=outputs, rubric=DEFAULT_RUBRIC)


def judge(preference: str = "longer", **options) -> tuple[ListwiseJudge, FakeBackend]:
    backend = FakeBackend(params={"preference": preference})
    return ListwiseJudge(backend, options=ListwiseOptions(**options)), backend


def test_cyclic_permutations_show_each_candidate_once_in_each_position():
    orders = permutations(4, 4)
    for position in range(4):
        assert sorted(order[position] for order in orders) == [0, 1, 2, 3]
    assert orders[0] == (0, 1, 2, 3)
    assert permutations(6, 2) == [(0, 1, 2, 3, 4, 5), (3, 4, 5, 0, 1, 2)]


def test_seeded_shuffles_are_reproducible_and_start_with_the_stored_order():
    assert permutations(5, 3, kind="shuffle", seed=7) == permutations(5, 3, kind="shuffle", seed=7)
    assert permutations(5, 3, kind="shuffle", seed=7)[0] == (0, 1, 2, 3, 4)


@pytest.mark.parametrize("k", [2, 3, 5, 8])
def test_permutation_averaging_cancels_a_judge_that_always_prefers_label_a(k):
    biased, _ = judge("first", permutations=k)
    (verdict,) = biased.judge_groups([group(*range(5, 5 + 10 * k, 10))])
    assert verdict.scores == pytest.approx([1 / k] * k)
    for i, j in itertools.combinations(range(k), 2):
        assert verdict.pair_prob(i, j) == pytest.approx(0.5)


def test_one_permutation_leaves_the_label_a_bias_in_place():
    biased, _ = judge("first", permutations=1)
    (verdict,) = biased.judge_groups([group(5, 50, 100)])
    assert verdict.pair_prob(0, 2) > 0.5  # the shortest answer wins only by being shown first


def test_logprob_scores_rank_the_group_and_give_bradley_terry_pairs():
    longer, _ = judge("longer", permutations=3)
    (verdict,) = longer.judge_groups([group(40, 5, 90)])
    assert verdict.scores[2] > verdict.scores[0] > verdict.scores[1]
    assert sum(verdict.scores) == pytest.approx(1.0)
    s = verdict.scores
    assert verdict.pair_prob(2, 1) == pytest.approx(s[2] / (s[2] + s[1]))
    assert verdict.pair_prob(0, 2) == pytest.approx(1 - verdict.pair_prob(2, 0))


def test_a_group_costs_one_call_per_permutation_all_in_one_batch():
    longer, backend = judge("longer", permutations=2)
    verdicts = longer.judge_groups([group(5, 10, 20, 40, 80), group(3, 6)])
    assert [v.calls for v in verdicts] == [2, 2]
    assert backend.calls == [("label_logprobs", 4)]


def test_generated_rankings_are_parsed_and_averaged_over_permutations():
    longer, backend = judge("longer", via="generate", permutations=2)
    (verdict,) = longer.judge_groups([group(40, 5, 90)])
    assert backend.calls == [("complete", 2)]
    assert verdict.shown[0].ranking == (2, 0, 1)
    assert verdict.pair_prob(2, 1) == 1.0 and verdict.pair_prob(1, 0) == 0.0


def test_generated_rankings_from_a_position_biased_judge_cancel_over_all_shifts():
    biased, _ = judge("first", via="generate", permutations=2)
    (verdict,) = biased.judge_groups([group(5, 90)])
    assert verdict.pair_prob(0, 1) == 0.5


@pytest.mark.parametrize(("text", "k", "positions"), [
    ("Ranking: C > A > B", 3, (2, 0, 1)),
    ("I think so.\nB>A", 2, (1, 0)),
    ("C > A", 4, (2, 0)),
    ("A > A > B", 2, (0, 1)),
])
def test_a_ranking_is_read_from_the_last_ranking_line(text, k, positions):
    assert parse_ranking(text, k) == positions


def test_a_reply_with_no_ranking_is_a_retryable_error_not_a_tie():
    with pytest.raises(JudgeError) as caught:
        parse_ranking("I cannot decide.", 3)
    assert caught.value.retryable


def test_a_group_needs_two_to_eight_answers():
    with pytest.raises(ConfigurationError, match="2 to 8"):
        group(5)
    with pytest.raises(ConfigurationError, match="2 to 8"):
        group(*range(9))


def test_completion_style_prompts_end_where_the_ranking_starts():
    longer, backend = judge("longer", prompt_style="completion", permutations=1)
    longer.judge_groups([group(5, 10)])
    assert backend.prompts[0].text.endswith("Ranking:")
