"""The verdict and score caches share one store protocol; nothing paid for is asked twice."""

from judges.base import JudgeError
from judges.cache import CachedJudge, InMemoryStore, verdict_from_dict, verdict_to_dict
from tests.judges.helpers import fake_judge, make_task

SHORT, LONG = "Four.", "Two plus two is four, because adding two and two more gives four."


def test_a_cached_judge_asks_the_backend_once_per_task_and_marks_the_repeat_as_cached():
    judge, backend = fake_judge("logprob")
    cached = CachedJudge(judge, store=InMemoryStore())
    first = cached.judge_many([make_task(LONG, SHORT)])
    again = cached.judge_many([make_task(LONG, SHORT), make_task(SHORT, LONG)])
    assert backend.calls == [("label_logprobs", 1), ("label_logprobs", 1)]  # only the new order was asked
    assert again[0].prob_a == first[0].prob_a and again[0].extra["cached"] is True
    assert "cached" not in again[1].extra


def test_a_cached_judge_keeps_verdicts_but_asks_again_after_an_error():
    judge, backend = fake_judge("generate", params={"fail": {"two": "retryable"}})
    cached = CachedJudge(judge, store=InMemoryStore())
    (error,) = cached.judge_many([make_task()])
    assert isinstance(error, JudgeError) and error.retryable
    cached.judge_many([make_task()])
    assert len(backend.calls) == 2


def test_verdicts_survive_the_round_trip_through_json_with_their_criteria():
    judge, _ = fake_judge("per_criterion")
    (verdict,) = judge.judge_many([make_task(LONG, SHORT)])
    assert verdict.criteria and verdict_from_dict(verdict_to_dict(verdict)) == verdict
