"""The OpenAI-compatible backend against a stub HTTP server (a real socket on 127.0.0.1, no mocks):
error classification, retries, Retry-After, timeouts, garbage, usage and cost, logprob reading.
The round trip against a real llama.cpp server is in test_openai_llama_server.py."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from judges.backends.openai import OpenAIBackend, label_logprobs_from
from judges.base import Completion, ConfigurationError, JudgeError, LabelScores, Prompt
from judges.policy import SecretPolicy

CHAT = Prompt(messages=({"role": "user", "content": "Which is better?"},))
TEXT = Prompt(text="Better response:")


@dataclass
class Reply:
    status: int = 200
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    # A server-sent event stream instead of a body: (seconds to wait, line to send) pairs.
    events: list[tuple[float, str]] | None = None


def chat_reply(content: str = "Verdict: [[A>B]]", *, usage=(12, 5)) -> Reply:
    body = {
        "choices": [{"message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1]},
    }
    return Reply(body=body)


class Stub:
    """Serves scripted replies in order (the last one repeats) and records every request."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.slots: int | None = None  # what GET /props declares; None: 404
        self.sent = 0  # stream lines written
        self.hung_up = threading.Event()  # the client closed a stream before its end

    def next_reply(self) -> Reply:
        with self.lock:
            return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


@pytest.fixture
def stub() -> Iterator[tuple[Stub, str]]:
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            with state.lock:
                state.requests.append(
                    {"path": self.path, "body": json.loads(self.rfile.read(length)), "headers": dict(self.headers)}
                )
            reply = state.next_reply()
            time.sleep(reply.delay_s)
            if reply.events is not None:
                self.stream(reply.events)
                return
            raw = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        def stream(self, events: list[tuple[float, str]]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            try:
                for delay, line in events:
                    time.sleep(delay)
                    self.wfile.write(f"{line}\n\n".encode())
                    self.wfile.flush()
                    with state.lock:
                        state.sent += 1
            except (BrokenPipeError, ConnectionResetError):
                state.hung_up.set()

        def do_GET(self) -> None:
            slots = state.slots
            raw = json.dumps({"total_slots": slots}).encode()
            self.send_response(200 if slots else 404)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def backend_for(url: str, sleeps: list[float] | None = None, *, policy: SecretPolicy | None = None,
                **params) -> OpenAIBackend:
    recorded = sleeps if sleeps is not None else []
    settings = {"base_url": url, "backoff_s": 0.01, "max_retries": 2, "timeout": 5, **params}
    return OpenAIBackend(model="judge-model", params=settings, sleep=recorded.append, policy=policy)


def test_a_chat_completion_comes_back_with_usage_and_cost_from_the_price_params(stub):
    state, url = stub
    state.replies = [chat_reply(usage=(1000, 500))]
    backend = backend_for(url, price_per_million_input=2.0, price_per_million_output=8.0)
    (completion,) = backend.complete([CHAT], max_tokens=64)
    assert isinstance(completion, Completion)
    assert completion.text == "Verdict: [[A>B]]"
    assert (completion.prompt_tokens, completion.completion_tokens) == (1000, 500)
    assert completion.cost_usd == pytest.approx((1000 * 2.0 + 500 * 8.0) / 1e6)
    request = state.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "judge-model" and request["body"]["max_tokens"] == 64
    assert request["body"]["temperature"] == 0.0


def test_a_completion_style_prompt_goes_to_the_completions_endpoint(stub):
    state, url = stub
    state.replies = [Reply(body={"choices": [{"text": " A"}], "usage": {"prompt_tokens": 3, "completion_tokens": 1}})]
    (completion,) = backend_for(url).complete([TEXT], max_tokens=4)
    assert completion.text == " A" and completion.cost_usd == 0.0
    assert state.requests[0]["path"] == "/v1/completions"
    assert state.requests[0]["body"]["prompt"] == "Better response:"
    assert state.requests[0]["body"]["stop"] == ["====="]  # the few-shot separator ends the answer


def test_rate_limits_are_retried_honouring_retry_after(stub):
    state, url = stub
    state.replies = [Reply(429, {"error": "slow down"}, {"Retry-After": "0.05"}), chat_reply()]
    sleeps: list[float] = []
    (completion,) = backend_for(url, sleeps).complete([CHAT], max_tokens=8)
    assert isinstance(completion, Completion)
    assert sleeps == [0.05] and len(state.requests) == 2


def test_server_errors_are_retried_with_growing_jittered_backoff_then_fail_as_retryable(stub):
    state, url = stub
    state.replies = [Reply(503, {"error": "overloaded"})]
    sleeps: list[float] = []
    (result,) = backend_for(url, sleeps, max_retries=3, backoff_s=1.0).complete([CHAT], max_tokens=8)
    assert isinstance(result, JudgeError) and result.retryable and "503" in str(result)
    assert len(state.requests) == 4
    assert [0.5 <= sleeps[0] <= 1.0, 1.0 <= sleeps[1] <= 2.0, 2.0 <= sleeps[2] <= 4.0] == [True] * 3


def test_a_retry_after_beyond_the_limit_is_not_slept_on_but_left_to_the_task_queue(stub):
    state, url = stub
    state.replies = [Reply(429, {"error": "quota"}, {"Retry-After": "3600"})]
    sleeps: list[float] = []
    (result,) = backend_for(url, sleeps).complete([CHAT], max_tokens=8)
    assert isinstance(result, JudgeError) and result.retryable
    assert sleeps == [] and len(state.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_other_client_errors_are_permanent_and_not_retried(stub, status):
    state, url = stub
    state.replies = [Reply(status, {"error": {"message": "bad request: unknown model"}})]
    (result,) = backend_for(url).complete([CHAT], max_tokens=8)
    assert isinstance(result, JudgeError) and not result.retryable
    assert str(status) in str(result) and len(state.requests) == 1


def test_no_answer_within_the_queue_allowance_is_retried_and_then_a_retryable_error(stub):
    state, url = stub
    state.replies = [Reply(delay_s=1.0, body={})]
    started = time.monotonic()
    (result,) = backend_for(url, first_token_timeout=0.2, max_retries=1).complete([CHAT], max_tokens=8)
    assert isinstance(result, JudgeError) and result.retryable and "timed out" in str(result)
    assert len(state.requests) == 2 and time.monotonic() - started < 3


@pytest.mark.parametrize("body", [b"<html>gateway</html>", {"choices": []}, {"choices": [{"message": {}}]}, [1, 2]])
def test_a_garbage_success_response_is_a_retryable_error(stub, body):
    state, url = stub
    state.replies = [Reply(200, body)]
    (result,) = backend_for(url).complete([CHAT], max_tokens=8)
    assert isinstance(result, JudgeError) and result.retryable and "malformed" in str(result)


def test_a_refused_connection_is_retryable():
    backend = OpenAIBackend(
        model="m",
        params={"base_url": "http://127.0.0.1:9/v1", "max_retries": 1, "backoff_s": 0.01},
        sleep=lambda s: None,
    )
    (result,) = backend.complete([CHAT], max_tokens=8)
    assert isinstance(result, JudgeError) and result.retryable


def test_one_failing_item_does_not_fail_its_batch_and_order_is_kept(stub):
    state, url = stub
    state.replies = [chat_reply("first"), Reply(400, {"error": "no"}), chat_reply("third")]
    results = backend_for(url, concurrency=1).complete([CHAT, CHAT, CHAT], max_tokens=8)
    assert [r.text if isinstance(r, Completion) else "error" for r in results] == ["first", "error", "third"]


def test_a_fixed_concurrency_runs_that_many_requests_at_once(stub):
    state, url = stub
    state.replies = [Reply(body=chat_reply().body, delay_s=0.3)]
    started = time.monotonic()
    results = backend_for(url, concurrency=4).complete([CHAT] * 4, max_tokens=8)
    assert all(isinstance(r, Completion) for r in results)
    assert time.monotonic() - started < 1.0  # sequential would take 1.2 s


def test_chat_label_logprobs_read_top_logprobs_of_the_first_token(stub):
    state, url = stub
    top = [{"token": "A", "logprob": -0.5}, {"token": " B", "logprob": -1.5}, {"token": "The", "logprob": -3.0}]
    state.replies = [Reply(body={"choices": [{"message": {"content": "A"}, "logprobs": {"content": [
        {"token": "A", "logprob": -0.5, "top_logprobs": top}]}}], "usage": {"prompt_tokens": 40}})]  # fmt: skip
    (scores,) = backend_for(url).label_logprobs([CHAT], ["A", "B"])
    assert isinstance(scores, LabelScores)
    assert scores.logprobs == {"A": -0.5, "B": -1.5} and scores.prompt_tokens == 40
    body = state.requests[0]["body"]
    assert (body["logprobs"], body["top_logprobs"], body["max_tokens"]) == (True, 20, 1)


def test_completion_label_logprobs_use_the_legacy_logprobs_field(stub):
    state, url = stub
    state.replies = [
        Reply(body={"choices": [{"text": " B", "logprobs": {"top_logprobs": [{" B": -0.2, " A": -2.0}]}}]})
    ]
    (scores,) = backend_for(url).label_logprobs([TEXT], ["A", "B"])
    assert scores.logprobs == {"A": -2.0, "B": -0.2}
    assert state.requests[0]["body"]["logprobs"] == 20


def test_a_server_without_logprobs_is_a_permanent_error(stub):
    state, url = stub
    state.replies = [chat_reply("A")]
    (result,) = backend_for(url).label_logprobs([CHAT], ["A", "B"])
    assert isinstance(result, JudgeError) and not result.retryable and "logprobs" in str(result)


def test_label_spellings_are_summed_and_an_unseen_label_gets_the_smallest_candidate_as_a_bound():
    scores = label_logprobs_from({"A": math.log(0.3), " A": math.log(0.1), "\u2581Yes": -1.0, "x": -6.0}, ["A", "B"])
    assert scores["A"] == pytest.approx(math.log(0.4))
    assert scores["B"] == -6.0
    assert label_logprobs_from({"x": -1.0}, ["A", "B"]) == {"A": -math.inf, "B": -math.inf}


def test_the_api_key_comes_from_the_named_environment_variable(stub, monkeypatch):
    state, url = stub
    state.replies = [chat_reply()]
    monkeypatch.setenv("ARENA_TEST_KEY", "sk-test")
    allowed = SecretPolicy(key_envs=frozenset({"ARENA_TEST_KEY"}))
    backend_for(url, api_key_env="ARENA_TEST_KEY", policy=allowed).complete([CHAT], max_tokens=8)
    assert state.requests[0]["headers"]["Authorization"] == "Bearer sk-test"
    monkeypatch.delenv("ARENA_TEST_KEY")
    with pytest.raises(ConfigurationError, match="ARENA_TEST_KEY"):
        backend_for(url, api_key_env="ARENA_TEST_KEY", policy=allowed)


def test_a_variable_the_policy_does_not_allow_is_never_read_nor_sent(stub, monkeypatch):
    state, url = stub
    state.replies = [chat_reply()]
    monkeypatch.setenv("SECRET_KEY", "the-django-secret")
    with pytest.raises(ConfigurationError, match="ARENA_JUDGE_KEY_ENVS") as refused:
        backend_for(url, api_key_env="SECRET_KEY")  # the default policy: OPENAI_API_KEY only
    assert "SECRET_KEY" not in refused.value.summary() and state.requests == []


def test_the_default_key_is_not_read_when_the_policy_leaves_it_out(stub, monkeypatch):
    state, url = stub
    state.replies = [chat_reply()]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-default")
    backend_for(url, policy=SecretPolicy(key_envs=frozenset())).complete([CHAT], max_tokens=8)
    assert "Authorization" not in state.requests[0]["headers"]
    backend_for(url).complete([CHAT], max_tokens=8)
    assert state.requests[1]["headers"]["Authorization"] == "Bearer sk-default"


def test_a_host_outside_the_allowed_hosts_is_refused_before_any_request(stub):
    state, url = stub
    state.replies = [chat_reply()]
    with pytest.raises(ConfigurationError, match="ARENA_JUDGE_ALLOWED_HOSTS"):
        backend_for(url, policy=SecretPolicy(hosts=frozenset({"gpu-host"})))
    backend_for(url, policy=SecretPolicy(hosts=frozenset({"127.0.0.1"}))).complete([CHAT], max_tokens=8)
    assert len(state.requests) == 1
    with pytest.raises(ConfigurationError, match="http"):
        backend_for("file:///etc/passwd")


def test_an_endpoint_error_body_stays_out_of_the_public_summary(stub, monkeypatch):
    state, url = stub
    state.replies = [Reply(status=401, body={"error": "Incorrect API key provided: sk-abc***xyz"})]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-abcdefxyz")
    (error,) = backend_for(url).complete([CHAT], max_tokens=8)
    assert isinstance(error, JudgeError) and "sk-abc" in str(error)  # the full message, for the log and staff
    assert error.summary() == "JudgeError: the judge endpoint answered HTTP 401"


def test_param_types_are_checked_by_name():
    with pytest.raises(ConfigurationError, match="timeout must be a number, got str"):
        OpenAIBackend(model="m", params={"timeout": "soon"})
    with pytest.raises(ConfigurationError, match="extra_body must be an object"):
        OpenAIBackend(model="m", params={"extra_body": [1]})
    with pytest.raises(ConfigurationError, match="max_retries must be an integer, got bool"):
        OpenAIBackend(model="m", params={"max_retries": True})


def test_without_a_key_no_authorization_header_is_sent(stub, monkeypatch):
    state, url = stub
    state.replies = [chat_reply()]
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    backend_for(url).complete([CHAT], max_tokens=8)
    assert "Authorization" not in state.requests[0]["headers"]


def test_unknown_params_are_a_configuration_error():
    with pytest.raises(ConfigurationError, match="max_concurency"):
        OpenAIBackend(model="m", params={"max_concurency": 3})


# --- streaming ------------------------------------------------------------------------------------


def token(text: str, finish: str | None = None) -> tuple[float, str]:
    return 0.0, "data: " + json.dumps({"choices": [{"delta": {"content": text}, "finish_reason": finish}]})


def test_a_streamed_answer_is_assembled_with_keep_alives_ignored_and_tokens_counted(stub):
    state, url = stub
    state.replies = [Reply(events=[(0.0, ": ping"), token("Verdict: "), token("[[A>B]]"), token("", "stop"),
                                   (0.0, "data: [DONE]")])]
    (completion,) = backend_for(url).complete([CHAT], max_tokens=8)
    assert isinstance(completion, Completion) and completion.text == "Verdict: [[A>B]]"
    assert completion.completion_tokens == 2 and completion.prompt_tokens > 0
    assert state.requests[0]["body"]["stream"] is True


def test_a_stream_silent_after_its_first_token_is_closed_and_retried_as_a_timeout(stub):
    state, url = stub
    stall = [token("Verdict"), (0.3, ": ping"), (0.3, ": ping"), (0.3, ": ping"), token(" [[A>B]]", "stop")]
    state.replies = [Reply(events=stall)]
    (result,) = backend_for(url, timeout=0.5, max_retries=1).complete([CHAT], max_tokens=8)
    assert isinstance(result, JudgeError) and result.retryable and "no token for 0.5 s" in str(result)
    assert len(state.requests) == 2
    assert state.hung_up.wait(timeout=10)  # the server saw the client go: it can stop generating


def test_waiting_for_the_first_token_is_allowed_up_to_the_queue_allowance_not_the_idle_limit(stub):
    state, url = stub
    queued = [(0.3, ": ping"), (0.3, ": ping"), (0.3, ": ping"), token("[[A=B]]", "stop")]
    state.replies = [Reply(events=queued)]
    (completion,) = backend_for(url, timeout=0.5, first_token_timeout=5).complete([CHAT], max_tokens=8)
    assert isinstance(completion, Completion) and completion.text == "[[A=B]]"


def test_a_stream_the_server_cut_short_is_retried_and_the_endpoint_limit_halves(stub):
    state, url = stub
    state.replies = [Reply(events=[token("Ver"), (0.0, "data: [DONE]")]), Reply(events=[token("[[B>A]]", "stop")])]
    backend = backend_for(url, initial_concurrency=4)
    (completion,) = backend.complete([CHAT], max_tokens=8)
    assert completion.text == "[[B>A]]" and len(state.requests) == 2
    limit = backend.endpoint_limit()
    assert limit.limit == 2 and limit.counts["interrupted"] == 1


def test_the_adaptive_limit_starts_at_the_slots_the_server_declares(stub):
    state, url = stub
    state.slots = 3
    assert backend_for(url).endpoint_limit().limit == 3


def test_a_server_declaring_nothing_starts_at_one_request_at_a_time(stub):
    _, url = stub
    assert backend_for(url).endpoint_limit().limit == 1
    assert backend_for(url + "/other", concurrency=5).endpoint_limit().limit == 5


def test_a_rate_limit_pauses_the_endpoint_for_its_retry_after(stub):
    state, url = stub
    state.replies = [Reply(429, {"error": "slow down"}, {"Retry-After": "0.4"}), chat_reply()]
    started = time.monotonic()
    (completion,) = backend_for(url).complete([CHAT], max_tokens=8)  # the injected sleep does not wait
    assert isinstance(completion, Completion) and time.monotonic() - started >= 0.4
    assert backend_for(url).endpoint_limit().counts["overload"] == 1
