"""The OpenAI backend against a real OpenAI-compatible server: llama-cpp-python's, serving the tiny
Gemma 3 270M GGUF on 127.0.0.1. Slow (model load, CPU inference); CI installs the ``server`` extra."""

from __future__ import annotations

import importlib.util
import itertools
import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import httpx
import pytest

from judges.backends.openai import OpenAIBackend
from judges.base import Completion, JudgeError, LabelScores, Prompt, Verdict
from judges.both_orders import judge_both_orders
from judges.llama_server import GENERATION_END
from judges.parsing import GRADED_LABELS
from judges.registry import build_judge
from tests.judges.helpers import make_task

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None,
        reason='llama-cpp-python is not installed (pip install -e ".[server]")',
    ),
]

PAIR = make_task(
    "Paris is the capital of France.", "The capital of France is Berlin.", prompt="What is the capital of France?"
)


def spec(url: str, protocol: str, style: str) -> dict:
    return {
        "backend": "openai",
        "model": "gemma-3-270m",
        "protocol": protocol,
        "prompt_style": style,
        "params": {"base_url": url, "timeout": 120, "max_concurrency": 2},
        "max_new_tokens": 48,
    }


def test_both_endpoints_complete_text_with_token_usage(server_url):
    backend = OpenAIBackend(model="gemma-3-270m", params={"base_url": server_url, "timeout": 120})
    chat = Prompt(messages=({"role": "user", "content": "Say hello."},))
    text = Prompt(text="The capital of France is")
    results = backend.complete([chat, text], max_tokens=8)
    for result in results:
        assert isinstance(result, Completion), result
        assert result.text and result.prompt_tokens > 0 and 0 < result.completion_tokens <= 8


def test_both_endpoints_return_top_logprobs_for_the_verdict_labels(server_url):
    backend = OpenAIBackend(model="gemma-3-270m", params={"base_url": server_url, "timeout": 120})
    chat = Prompt(messages=({"role": "user", "content": "Answer with A or B. Is Paris in France? A: yes, B: no."},))
    text = Prompt(text="Question: Is Paris in France?\nA: yes\nB: no\nAnswer:")
    for scores in backend.label_logprobs([chat, text], ["A", "B"]):
        assert isinstance(scores, LabelScores), scores
        assert any(math.isfinite(lp) for lp in scores.logprobs.values())
        assert all(lp <= 0 for lp in scores.logprobs.values()) and scores.prompt_tokens > 0


@pytest.mark.parametrize("style", ["completion", "chat"])
def test_the_logprob_protocol_round_trips_in_both_orders(server_url, style):
    (result,) = judge_both_orders(build_judge(spec(server_url, "logprob", style)), [PAIR])
    for verdict in (result.forward, result.backward):
        assert isinstance(verdict, Verdict), verdict
        assert 0 < verdict.prob_a < 1 and verdict.extra["label_mass"] > 0 and verdict.prompt_tokens > 0
    assert 0 < result.combined.prob_a < 1 and result.consistent is not None


def test_the_generate_protocol_round_trips_on_a_few_shot_completion_prompt(server_url):
    (result,) = judge_both_orders(build_judge(spec(server_url, "generate", "completion")), [PAIR])
    for verdict in (result.forward, result.backward):
        assert isinstance(verdict, Verdict), verdict
        assert verdict.label in GRADED_LABELS and verdict.completion_tokens > 0
    assert result.combined is not None


def test_the_generate_protocol_on_chat_gives_a_verdict_or_a_retryable_error_never_a_silent_tie(server_url):
    # The 270M base model often echoes the prompt instead of judging: that must fail visibly.
    judge = build_judge(spec(server_url, "generate", "chat"))
    (verdict,) = judge.judge_many([PAIR])
    assert isinstance(verdict, Verdict) or (isinstance(verdict, JudgeError) and verdict.retryable)


# --- speed: concurrency, waste, abandonment ----------------------------------------------------------

def questions(tag: str, n: int) -> list[Prompt]:
    return [Prompt(text=f"{tag} question {i}: what is {i} plus {i}?\nAnswer:") for i in range(n)]


def test_four_concurrent_calls_on_the_one_request_server_waste_nothing_in_about_the_sequential_time(llama_server):
    sequential = OpenAIBackend(model="seq", params={"base_url": llama_server.url, "concurrency": 1, "stream": False})
    started = time.monotonic()
    assert all(isinstance(sequential.complete([p], max_tokens=12)[0], Completion) for p in questions("seq", 4))
    sequential_s = time.monotonic() - started

    adaptive = OpenAIBackend(model="adaptive", params={"base_url": llama_server.url})  # the defaults
    llama_server.mark()
    started = time.monotonic()
    results = adaptive.complete(questions("adaptive", 4), max_tokens=12)
    adaptive_s = time.monotonic() - started
    log = llama_server.log_since_mark(until=lambda text: len(GENERATION_END.findall(text)) >= 4)
    assert all(isinstance(r, Completion) for r in results), results
    # The server declares one request at a time (llama-cpp-python): one in flight, none cut or redone.
    assert adaptive.endpoint_limit().limit == 1 and adaptive.endpoint_limit().ceiling == 1
    assert len(GENERATION_END.findall(log)) == 4 and "Disconnected from client" not in log
    assert adaptive_s < 1.5 * sequential_s + 2.0, (adaptive_s, sequential_s)


def test_an_abandoned_stream_stops_the_server_s_generation(llama_server):
    body = {"model": "m", "prompt": "Count from one to five hundred: one, two,", "max_tokens": 400,
            "stream": True, "temperature": 0}
    llama_server.mark()
    with httpx.Client(timeout=120) as client, client.stream("POST", f"{llama_server.url}/completions", json=body) as r:
        data = [line for line in itertools.islice(r.iter_lines(), 40) if line.startswith("data:")][:3]
    assert len(data) == 3  # tokens were flowing when the client left
    started = time.monotonic()
    quick = OpenAIBackend(model="m", params={"base_url": llama_server.url, "concurrency": 1})
    (answer,) = quick.complete(questions("after", 1), max_tokens=4)
    assert isinstance(answer, Completion)
    log = llama_server.log_since_mark(until=lambda text: "Disconnected from client" in text
                                      and GENERATION_END.search(text) is not None)
    assert "Disconnected from client" in log
    # The 400-token generation never ran to its end, and the next request did not wait for it.
    assert all(int(runs) < 100 for runs in GENERATION_END.findall(log)), GENERATION_END.findall(log)
    assert time.monotonic() - started < 60


def test_the_pair_criteria_protocol_stores_criteria_and_their_verdicts_or_fails_visibly(server_url):
    # A 270M base model may write junk criteria: the pipeline must then say so (a retryable parse
    # failure), never invent a verdict; when it writes usable ones, each is judged in both orders.
    judge = build_judge({**spec(server_url, "pair_criteria", "completion"), "max_new_tokens": 160})
    (result,) = judge_both_orders(judge, [PAIR])
    if result.combined is None:
        (error,) = {str(e) for e in result.errors}
        assert "usable criteria" in error and all(e.retryable for e in result.errors)
        return
    details = result.forward.extra["pair_criteria"]
    assert 3 <= len(details["criteria"]) <= 8
    assert all(row["kind"] in ("fatal", "core", "important", "highlight") for row in details["criteria"])
    assert result.forward.extra["scores_computed"] == 1 + 2 * len(details["criteria"])
    assert result.backward.extra["scores_computed"] == 0 and result.consistent


def complete_in_its_own_process(url: str, tag: str) -> bool:
    # What one pool process of a Celery worker does: its own backend, its own adaptive limit.
    backend = OpenAIBackend(model="worker", params={"base_url": url})
    (result,) = backend.complete(questions(tag, 1), max_tokens=12)
    return isinstance(result, Completion)


def test_four_worker_processes_on_the_one_request_server_cut_no_generation_short(llama_server):
    # llama-cpp-python cuts a running stream as soon as another request waits: four processes, each
    # allowed one request by its own limit, would throw most generations away.
    llama_server.mark()
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        answered = list(pool.map(complete_in_its_own_process, [llama_server.url] * 4, ["p0", "p1", "p2", "p3"]))
    log = llama_server.log_since_mark(until=lambda text: len(GENERATION_END.findall(text)) >= 4
                                      or "Disconnected from client" in text)
    assert all(answered)
    assert len(GENERATION_END.findall(log)) == 4 and "Disconnected from client" not in log
