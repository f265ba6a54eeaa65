"""The likelihood protocols, on the fake backend (the real model is in test_transformers_backend)."""

import pytest

from judges.backends.fake import FakeBackend
from judges.base import PairTask
from judges.prompts import DEFAULT_RUBRIC
from judges.registry import build_judge

ON_TOPIC = ("to bake bread knead the dough and bake it",)
OFF_TOPIC = ("cats sleep most of the day",)


def judge(protocol: str, backend: FakeBackend):
    return build_judge({"backend": "fake", "model": "fake", "protocol": protocol}, backend=backend)


@pytest.mark.parametrize("protocol", ["likelihood", "pmi"])
def test_the_output_more_probable_given_the_prompt_wins_in_either_order(protocol):
    task = PairTask(("how do I bake bread",), ON_TOPIC, OFF_TOPIC, DEFAULT_RUBRIC)
    forward, backward = judge(protocol, FakeBackend()).judge_many([task, task.swapped()])
    assert forward.winner == "a" and backward.winner == "b"
    assert forward.prob_a == pytest.approx(1 - backward.prob_a)


def test_pmi_scores_each_turn_with_and_without_the_prompt_and_each_output_once():
    backend = FakeBackend()
    task = PairTask(("q1", "q2"), ("a1", "a2"), ("b1", "b2"), DEFAULT_RUBRIC)
    judge("pmi", backend).judge_many([task, task.swapped()])
    # Two outputs x two turns x (with, without the prompt), in one batched call.
    assert backend.calls == [("continuation_logprobs", 8)]
    later_turn = [p.text for p in backend.prompts if p.text.startswith("User: q1")]
    assert any("Assistant: a1\n\nUser: q2" in text for text in later_turn)


def test_a_backend_failure_stays_in_its_own_verdict():
    backend = FakeBackend(params={"fail": {"poison": "permanent"}})
    good = PairTask(("fine question",), ("one",), ("two words",), DEFAULT_RUBRIC)
    bad = PairTask(("poison question",), ("one",), ("two",), DEFAULT_RUBRIC)
    verdicts = judge("likelihood", backend).judge_many([good, bad])
    assert verdicts[0].winner in {"a", "b", "tie"}
    assert isinstance(verdicts[1], Exception) and not verdicts[1].retryable
