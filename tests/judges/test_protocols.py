import math

import pytest

from judges.backends.fake import FakeBackend
from judges.base import JudgeError, Verdict
from judges.both_orders import judge_both_orders
from judges.cache import ScoreCache
from judges.protocols.common import DEFAULT_MAX_NEW_TOKENS
from judges.protocols.generate import GENERATE_MAX_NEW_TOKENS
from judges.registry import build_judge
from tests.judges.helpers import TWO_CRITERIA, fake_judge, fake_spec, make_task

SHORT, LONG = "Four.", "Two plus two is four, because adding two and two more gives four."


def test_the_logprob_protocol_turns_label_probabilities_into_prob_a_in_one_batched_call():
    judge, backend = fake_judge("logprob")
    verdicts = judge.judge_many([make_task(LONG, SHORT), make_task(SHORT, LONG)])
    assert [v.winner for v in verdicts] == ["a", "b"]
    assert verdicts[0].prob_a > 0.5 > verdicts[1].prob_a
    assert math.isclose(verdicts[0].prob_a, 1 - verdicts[1].prob_a)
    assert verdicts[0].label == "A>B" and verdicts[0].extra["label_mass"] == pytest.approx(1.0)
    assert backend.calls == [("label_logprobs", 2)]


def test_the_logprob_protocol_calls_a_probability_inside_the_tie_margin_a_tie():
    judge, _ = fake_judge("logprob", tie_margin=0.2, params={"confidence": 0.01})
    (verdict,) = judge.judge_many([make_task(LONG, SHORT)])
    assert verdict.winner == "tie" and 0.5 < verdict.prob_a < 0.7


def test_the_generate_protocol_parses_a_graded_verdict_with_its_rationale():
    judge, backend = fake_judge("generate", params={"replies": ["B is wordy.\nVerdict: [[A>>B]]"]})
    (verdict,) = judge.judge_many([make_task()])
    assert (verdict.winner, verdict.label, verdict.prob_a) == ("a", "A>>B", None)
    assert verdict.rationale == "B is wordy."
    assert verdict.raw == "B is wordy.\nVerdict: [[A>>B]]"
    assert verdict.completion_tokens == 5
    assert backend.calls == [("complete", 1)]


def test_unparsable_generated_output_fails_that_item_as_retryable_and_never_as_a_tie():
    judge, _ = fake_judge("generate", params={"replies": ["Verdict: [[B>A]]", "They are both nice."]})
    good, bad = judge.judge_many([make_task(), make_task()])
    assert isinstance(good, Verdict) and good.winner == "b"
    assert isinstance(bad, JudgeError) and bad.retryable


def test_a_base_model_prompt_goes_through_the_generate_protocol_and_stops_at_the_separator():
    reply = " [[A>B]]\nReasoning: A is right.\n=====\nVerdict: [[B>>A]]"
    judge, backend = fake_judge("generate", prompt_style="completion", params={"replies": [reply]})
    (verdict,) = judge.judge_many([make_task()])
    assert verdict.label == "A>B" and verdict.rationale == "A is right."
    assert backend.prompts[0].text.endswith("Verdict:")


def test_a_verdict_first_answer_keeps_its_first_verdict_when_the_reasons_quote_another_label():
    reply = "Verdict: [[B>A]]\nA is not A>>B material: it is wrong."
    judge, _ = fake_judge("generate", params={"replies": [reply]})
    (verdict,) = judge.judge_many([make_task()])
    assert verdict.label == "B>A" and verdict.rationale == "A is not A>>B material: it is wrong."


def test_the_generate_protocol_asks_for_a_verdict_sized_budget_unless_the_spec_sets_one():
    judge, backend = fake_judge("generate")
    judge.judge_many([make_task()])
    assert backend.max_tokens == [GENERATE_MAX_NEW_TOKENS] and GENERATE_MAX_NEW_TOKENS <= 96
    judge, backend = fake_judge("generate", max_new_tokens=12)
    judge.judge_many([make_task()])
    assert backend.max_tokens == [12]
    judge, backend = fake_judge("pointwise", via="generate")
    judge.judge_many([make_task()])
    assert set(backend.max_tokens) == {DEFAULT_MAX_NEW_TOKENS}


def test_backend_failures_stay_in_their_slot_with_their_classification():
    judge, _ = fake_judge("logprob", params={"fail": {"flaky": "retryable", "forbidden": "permanent"}})
    verdicts = judge.judge_many([make_task("flaky one"), make_task(), make_task("forbidden one")])
    assert isinstance(verdicts[0], JudgeError) and verdicts[0].retryable
    assert isinstance(verdicts[1], Verdict)
    assert isinstance(verdicts[2], JudgeError) and not verdicts[2].retryable


def test_a_badly_shaped_task_fails_alone_without_reaching_the_backend():
    judge, backend = fake_judge("generate")
    bad = make_task(prompt=("one", "two"), a=("x",), b=("y",))
    verdicts = judge.judge_many([bad, make_task()])
    assert isinstance(verdicts[0], JudgeError) and not verdicts[0].retryable
    assert isinstance(verdicts[1], Verdict)
    assert backend.calls == [("complete", 1)]


def test_a_failure_of_the_whole_batch_lands_in_every_slot():
    class Broken(FakeBackend):
        def label_logprobs(self, prompts, labels):
            raise JudgeError("model file missing", retryable=False)

    judge = build_judge(fake_spec("logprob"), backend=Broken())
    verdicts = judge.judge_many([make_task(), make_task()])
    assert all(isinstance(v, JudgeError) and not v.retryable for v in verdicts)


def test_per_criterion_verdicts_are_combined_by_the_rubric_weights():
    # correctness (weight 3) says A>B, clarity (weight 1) says B>>A: (3*1 - 1*2) / 4 = 0.25 -> A>B.
    reply = "correctness: [[A>B]]\nclarity: [[B>>A]]"
    judge, _ = fake_judge("per_criterion", params={"replies": [reply]})
    (verdict,) = judge.judge_many([make_task(rubric=TWO_CRITERIA)])
    assert (verdict.winner, verdict.label) == ("a", "A>B")
    assert verdict.extra["weighted_score"] == pytest.approx(0.25)
    assert [(c.name, c.winner, c.label, c.weight) for c in verdict.criteria] == [
        ("correctness", "a", "A>B", 3.0),
        ("clarity", "b", "B>>A", 1.0),
    ]


def test_per_criterion_with_a_missing_criterion_is_a_retryable_error():
    judge, _ = fake_judge("per_criterion", params={"replies": ["correctness: [[A>B]]"]})
    (verdict,) = judge.judge_many([make_task(rubric=TWO_CRITERIA)])
    assert isinstance(verdict, JudgeError) and verdict.retryable


@pytest.mark.parametrize("style", ["chat", "completion"])
def test_per_criterion_through_the_fake_judge_names_the_longer_output_on_every_criterion(style):
    judge, _ = fake_judge("per_criterion", prompt_style=style)
    (verdict,) = judge.judge_many([make_task(SHORT, LONG, rubric=TWO_CRITERIA)])
    assert verdict.winner == "b"
    assert [c.winner for c in verdict.criteria] == ["b", "b"]


def test_per_criterion_via_logprob_asks_once_per_criterion_and_averages_probabilities_by_weight():
    judge, backend = fake_judge("per_criterion", via="logprob")
    verdicts = judge.judge_many([make_task(LONG, SHORT, rubric=TWO_CRITERIA), make_task(rubric=TWO_CRITERIA)])
    assert backend.calls == [("label_logprobs", 4)]
    first = verdicts[0]
    assert first.winner == "a" and [c.name for c in first.criteria] == ["correctness", "clarity"]
    expected = (3 * first.criteria[0].prob_a + first.criteria[1].prob_a) / 4
    assert first.prob_a == pytest.approx(expected)


def test_pointwise_scores_each_output_once_for_all_pairs_of_a_prompt_in_both_orders():
    outputs = [f"answer {'word ' * n}" for n in range(1, 6)]
    tasks = [make_task(a, b) for i, a in enumerate(outputs) for b in outputs[i + 1 :]]
    judge, backend = fake_judge("pointwise")
    results = judge_both_orders(judge, tasks)
    assert len(results) == 10
    assert backend.calls == [("label_logprobs", 5)]  # N outputs, not N^2 pairs or 2x for the orders
    assert all(r.consistent for r in results)  # no position bias by construction
    assert all(r.combined.winner == "b" for r in results)  # longer is better, and b is longer here
    judge.judge_many(tasks)
    assert backend.calls == [("label_logprobs", 5)]  # the second round is all cache hits


def test_pointwise_prob_a_is_the_sigmoid_of_the_logit_difference_of_the_two_scores():
    judge, _ = fake_judge("pointwise")
    (verdict,) = judge.judge_many([make_task(LONG, SHORT)])
    p_a, p_b = verdict.extra["score_a"], verdict.extra["score_b"]
    odds = (p_a / (1 - p_a)) / (p_b / (1 - p_b))
    assert verdict.prob_a == pytest.approx(odds / (1 + odds))


def test_pointwise_bills_each_fresh_score_once_and_cached_scores_not_at_all():
    judge, _ = fake_judge("pointwise")
    first, again = judge.judge_many([make_task(LONG, SHORT), make_task(SHORT, LONG)])
    assert first.extra["scores_computed"] == 2 and first.prompt_tokens > 0
    assert again.extra["scores_computed"] == 0 and again.prompt_tokens == 0


def test_pointwise_graded_scores_come_from_a_score_line_and_equal_grades_tie():
    judge, _ = fake_judge("pointwise", via="generate", params={"replies": ["Fine.\nScore: 7"]})
    (verdict,) = judge.judge_many([make_task("one", "two")])
    assert verdict.winner == "tie" and verdict.prob_a == 0.5
    assert verdict.extra == {"score_a": 7.0, "score_b": 7.0, "scores_computed": 2}


def test_pointwise_shares_a_score_cache_between_judges_of_the_same_spec_only():
    cache = ScoreCache()
    spec = fake_spec("pointwise")
    first = FakeBackend()
    build_judge(spec, backend=first, score_cache=cache).judge_many([make_task(LONG, SHORT)])
    second = FakeBackend()
    build_judge(spec, backend=second, score_cache=cache).judge_many([make_task(LONG, SHORT)])
    other = FakeBackend()
    build_judge({**spec, "max_output_tokens": 10}, backend=other, score_cache=cache).judge_many(
        [make_task(LONG, SHORT)]
    )
    assert (len(first.calls), len(second.calls), len(other.calls)) == (1, 0, 1)
    assert len(cache) == 4


def test_a_failed_pointwise_score_is_not_cached_and_fails_every_pair_using_it():
    judge, backend = fake_judge("pointwise", params={"fail": {"broken": "retryable"}})
    verdicts = judge.judge_many([make_task("broken answer", LONG), make_task(LONG, SHORT)])
    assert isinstance(verdicts[0], JudgeError) and verdicts[0].retryable
    assert isinstance(verdicts[1], Verdict)
    assert len(judge.score_cache) == 2
