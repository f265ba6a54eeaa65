"""Listwise judging end to end on real models (slow): the local transformers model and the real
llama.cpp OpenAI-compatible server, both reading the first label's log-probabilities."""

from __future__ import annotations

import importlib.util

import pytest

from judges.backends.transformers import TransformersBackend
from judges.listwise import GroupTask, ListwiseJudge, ListwiseOptions
from judges.prompts import DEFAULT_RUBRIC
from judges.registry import build_judge

pytestmark = pytest.mark.slow

GROUP = GroupTask(
    prompt_turns=("What is the capital of France?",),
    outputs=(("Paris is the capital of France.",), ("The capital of France is Berlin.",),
             ("France's capital city is Paris, on the Seine.",)),
    rubric=DEFAULT_RUBRIC,
)


def assert_a_ranking(verdict) -> None:
    assert sum(verdict.scores) == pytest.approx(1.0)
    assert all(0.0 <= s <= 1.0 for s in verdict.scores)
    for shown in verdict.shown:
        assert set(shown.label_probs) == {"A", "B", "C"}
        assert sum(shown.label_probs.values()) == pytest.approx(1.0)
    assert verdict.pair_prob(0, 1) == pytest.approx(1 - verdict.pair_prob(1, 0))


def test_the_local_transformers_model_ranks_a_group_from_the_first_labels_probabilities():
    backend = TransformersBackend("default", {"threads": 2})
    judge = ListwiseJudge(backend, options=ListwiseOptions(prompt_style="completion", permutations=3))
    (verdict,) = judge.judge_groups([GROUP])
    assert_a_ranking(verdict)
    assert verdict.calls == 3 and verdict.prompt_tokens > 0


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None,
                    reason='llama-cpp-python is not installed (pip install -e ".[server]")')
def test_the_llama_cpp_server_ranks_a_group_through_openai_logprobs(server_url):
    judge = build_judge({"backend": "openai", "model": "gemma-3-270m", "protocol": "listwise",
                         "prompt_style": "completion", "permutations": 3,
                         "params": {"base_url": server_url, "timeout": 120, "max_concurrency": 2}})
    (verdict,) = judge.judge_groups([GROUP])
    assert_a_ranking(verdict)
