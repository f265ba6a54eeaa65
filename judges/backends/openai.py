"""Any OpenAI-compatible endpoint as a judge backend: vLLM, llama.cpp server, TGI, hosted APIs.

Chat prompts go to ``/chat/completions``, completion-style prompts to ``/completions``. Label
log-probabilities come from a one-token request with ``logprobs`` (``top_logprobs`` on chat), so
the server must offer them; one that does not is a permanent error (use a generating protocol).
That one-token request is the fast path: the ``logprob`` protocol costs one prompt pass and one
decoding step per verdict, where ``generate`` decodes a verdict line and perhaps a rationale.

Generations are streamed and timed out on silence, not on total time (``judges.backends.streaming``),
and every request goes through the endpoint's adaptive concurrency limit
(``judges.backends.concurrency``), shared by all threads and judges of the process that talk to the
same ``base_url`` and model. A server that declares its slots has them shared by every process of
the host too (``judges.backends.host_slots``): a Celery worker's pool processes together never send
it more requests than it runs at once.

Params (all optional)::

    base_url                   default "https://api.openai.com/v1"
    api_key_env                environment variable holding the API key (default OPENAI_API_KEY,
                               which may be unset for local servers; a named one must be set). Only
                               variables the ``SecretPolicy`` allows are read, never any other
    stream                     read generations as a server-sent event stream (default true); false
                               for a server that cannot stream (then ``first_token_timeout`` is the
                               whole request's limit and an abandoned request runs on at the server)
    first_token_timeout        seconds a request may wait for its first token: the queue allowance,
                               queueing plus prompt processing (default 600)
    timeout                    seconds of silence between tokens after the first before the stream
                               is closed, which stops the server's generation (default 60)
    concurrency                "adaptive" (default) or a whole number of requests in flight
    max_concurrency            the most requests in flight the adaptive limit may reach (default 16)
    initial_concurrency        where the adaptive limit starts (default: the slots the server
                               declares (``declared_slots``: llama.cpp's llama-server, llama-cpp-python's
                               server), which are then also its ceiling; else 1)
    max_retries                retries after the first try on 408/409/429/5xx/timeouts/connection
                               errors (default 4), with exponential backoff and jitter
    backoff_s, max_backoff_s   first backoff and its cap (defaults 1 and 30 seconds)
    max_retry_after_s          a Retry-After longer than this is not slept on: the item fails as
                               retryable, for the task queue to retry later (default 60)
    temperature                default 0 (a judge should be repeatable)
    top_logprobs               candidates per position for label scoring (default 20)
    chars_per_token            for ``count_tokens``, which estimates: the API offers no tokenizer
                               (default 4)
    price_per_million_input, price_per_million_output
                               USD per million tokens, for ``cost_usd``; else ``PRICES``, else 0
    extra_body                 extra JSON fields for every request (e.g. {"seed": 1})
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from judges.backends import host_slots
from judges.backends.concurrency import AdaptiveLimit, Sample, limit_for
from judges.backends.streaming import Streamed, StreamFailure, read_stream
from judges.base import Completion, ConfigurationError, JudgeError, LabelScores, Prompt, SequenceScores
from judges.policy import DEFAULT_KEY_ENV, SecretPolicy, settings_from_params
from judges.prompts import SEPARATOR

T = TypeVar("T")

# USD per million (input, output) tokens by served model name. Deliberately empty: hosted prices
# change and guessed numbers would mislead; set the price params on the judge spec instead.
PRICES: dict[str, tuple[float, float]] = {}

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
# The server saying it is full: the concurrency limit backs off (other retryable statuses do not).
OVERLOAD_STATUS = {429, 503}
DISCOVERY_TIMEOUT_S = 3.0
DEFAULT_API_KEY_ENV = DEFAULT_KEY_ENV
# Params that say where requests go and with which key: shown to staff and admin-scope tokens only.
PRIVATE_PARAMS = frozenset({"base_url", "api_key_env", "extra_body"})


@dataclass(frozen=True)
class Settings:
    base_url: str = "https://api.openai.com/v1"
    api_key_env: str | None = None
    stream: bool = True
    first_token_timeout: float = 600.0
    timeout: float = 60.0
    concurrency: int | str = "adaptive"
    max_concurrency: int = 16
    initial_concurrency: int | None = None
    max_retries: int = 4
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 60.0
    temperature: float = 0.0
    top_logprobs: int = 20
    chars_per_token: float = 4.0
    price_per_million_input: float | None = None
    price_per_million_output: float | None = None
    extra_body: dict[str, Any] = field(default_factory=dict)


def parse_settings(params: Mapping[str, Any]) -> Settings:
    settings = settings_from_params(Settings, params, backend="openai")
    numbers = (settings.timeout, settings.first_token_timeout, settings.max_concurrency, settings.top_logprobs,
               settings.chars_per_token, settings.initial_concurrency or 1)
    if not all(n > 0 for n in numbers) or settings.max_retries < 0:
        raise ConfigurationError(
            "timeout, first_token_timeout, max_concurrency, initial_concurrency, top_logprobs, chars_per_token "
            "must be positive")
    if settings.concurrency != "adaptive" and not (isinstance(settings.concurrency, int) and settings.concurrency >= 1):
        raise ConfigurationError(f"concurrency must be 'adaptive' or a positive whole number, "
                                 f"got {settings.concurrency!r:.40}")
    return settings


def check_params(params: Mapping[str, Any], policy: SecretPolicy) -> Settings:
    """The params' settings, or ``ConfigurationError``: also where requests would go and which key
    they would carry, against what the operator allows."""
    settings = parse_settings(params)
    policy.check_url(settings.base_url)
    if settings.api_key_env is not None:
        policy.check_key_env(settings.api_key_env)
    return settings


class OpenAIBackend:
    """``Backend`` over HTTP; see the module docstring for ``params``.

    ``sleep`` and ``rng`` (backoff jitter) are injectable so tests neither wait nor depend on
    global randomness.
    """

    def __init__(
        self,
        model: str = "",
        params: Mapping[str, Any] | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        policy: SecretPolicy | None = None,
        **spec: Any,
    ):
        self.model = model
        self._policy = policy or SecretPolicy()
        self.settings = check_params(params or {}, self._policy)
        self._sleep = sleep
        self._rng = rng or random.Random()
        headers = {"Content-Type": "application/json"}
        api_key = self._api_key()
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        # The socket read limit is the queue allowance: a request may wait that long for its first
        # byte; silence after the first token is caught by ``read_stream``.
        timeout = httpx.Timeout(self.settings.first_token_timeout, connect=min(10.0, self.settings.timeout))
        # One client shared by the worker threads: httpx clients are thread-safe and pool connections.
        self._client = httpx.Client(base_url=self.settings.base_url.rstrip("/"), headers=headers, timeout=timeout)
        self._limit: AdaptiveLimit | None = None

    def _api_key(self) -> str | None:
        name = self.settings.api_key_env
        if name is None:
            # The default variable only when the operator allows it: no key at all otherwise.
            allowed = DEFAULT_API_KEY_ENV in self._policy.key_envs
            return (os.environ.get(DEFAULT_API_KEY_ENV) or None) if allowed else None
        self._policy.check_key_env(name)  # checked in check_params too; this is the line that reads
        key = os.environ.get(name)
        if not key:
            raise ConfigurationError(f"environment variable {name} (api_key_env) is not set")
        return key

    def close(self) -> None:
        self._client.close()

    # --- Backend protocol ------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        return math.ceil(len(text) / self.settings.chars_per_token)

    def complete(self, prompts: list[Prompt], *, max_tokens: int) -> list[Completion | JudgeError]:
        return self._map(lambda prompt: self._complete_one(prompt, max_tokens), prompts)

    def label_logprobs(self, prompts: list[Prompt], labels: list[str]) -> list[LabelScores | JudgeError]:
        return self._map(lambda prompt: self._label_one(prompt, labels), prompts)

    # --- one request -----------------------------------------------------------------------------

    def continuation_logprobs(self, pairs: list[tuple[Prompt, str]]) -> list[SequenceScores | JudgeError]:
        # Chat endpoints do not score given text (no echo); the likelihood protocols need a local model.
        error = ConfigurationError("the openai backend cannot score given text; use the likelihood and pmi "
                                   "protocols with the transformers backend")
        return [error] * len(pairs)

    def _complete_one(self, prompt: Prompt, max_tokens: int) -> Completion:
        answer = self._request(prompt, max_tokens=max_tokens, stream=self.settings.stream)
        if isinstance(answer.data, Streamed):
            text = answer.data.text
        else:
            try:
                choice = answer.data["choices"][0]
                text = choice["message"]["content"] if prompt.is_chat else choice["text"]
                if not isinstance(text, str):
                    raise TypeError(f"content is {type(text).__name__}")
            except (KeyError, IndexError, TypeError) as exc:
                raise malformed(answer.data, exc) from exc
        cost = self._cost(answer.prompt_tokens, answer.completion_tokens)
        return Completion(text, answer.prompt_tokens, answer.completion_tokens, answer.total_s, cost)

    def _label_one(self, prompt: Prompt, labels: list[str]) -> LabelScores:
        top = self.settings.top_logprobs
        extra = {"logprobs": True, "top_logprobs": top} if prompt.is_chat else {"logprobs": top}
        # One token: nothing to stream, and an abandoned request costs the server one prompt pass.
        answer = self._request(prompt, max_tokens=1, extra=extra, stream=False)
        candidates = top_candidates(answer.data, chat=prompt.is_chat)  # type: ignore[arg-type]
        return LabelScores(
            logprobs=label_logprobs_from(candidates, labels),
            prompt_tokens=answer.prompt_tokens,
            latency_s=answer.total_s,
            cost_usd=self._cost(answer.prompt_tokens, answer.completion_tokens),
        )

    def _request(
        self, prompt: Prompt, *, max_tokens: int, stream: bool, extra: Mapping[str, Any] | None = None
    ) -> Answer:
        body: dict[str, Any] = {"model": self.model, "max_tokens": max_tokens, "temperature": self.settings.temperature}
        if prompt.is_chat:
            path, body["messages"] = "/chat/completions", list(prompt.messages)
        else:
            # A base model continuing a few-shot document goes on to invent the next example after
            # the separator, which nobody reads (``cut_at_separator``): stop there, not at max_tokens.
            path, body["prompt"], body["stop"] = "/completions", prompt.text, [SEPARATOR]
        body.update(self.settings.extra_body)
        body.update(extra or {})
        if stream:
            body["stream"] = True
        return self._post(path, body, estimated_prompt_tokens=self._prompt_tokens(prompt))

    def _prompt_tokens(self, prompt: Prompt) -> int:
        if not prompt.is_chat:
            return self.count_tokens(prompt.text or "")
        return sum(self.count_tokens(str(m.get("content", ""))) for m in prompt.messages)

    def _post(self, path: str, body: dict[str, Any], *, estimated_prompt_tokens: int) -> Answer:
        """POST through the endpoint's concurrency limit, with retries; raises ``JudgeError``
        classified retryable or permanent. A failed try's stream is closed before the next try
        starts, so a retry never runs beside the work it replaces."""
        limit = self.endpoint_limit()
        for attempt in range(self.settings.max_retries + 1):
            limit.acquire()
            sample, timed_out = Sample("error"), False
            try:
                with self._host_slot():
                    answer = self._post_once(path, body, estimated_prompt_tokens)
                sample = Sample("ok", answer.first_token_s, answer.total_s, answer.prompt_tokens,
                                answer.completion_tokens)
                return answer
            except Failed as failure:
                if not failure.error.retryable:
                    raise failure.error from None
                error, wait, timed_out = failure.error, failure.retry_after, failure.timed_out
                # The whole endpoint pauses for a Retry-After, but never longer than we would sleep on one.
                pause = None if wait is None else min(wait, self.settings.max_retry_after_s)
                sample = Sample(failure.outcome, retry_after_s=pause)
            finally:
                limit.release(sample, timed_out=timed_out)
            if attempt == self.settings.max_retries:
                break
            delay = self._backoff(attempt) if wait is None else wait
            if delay > self.settings.max_retry_after_s:
                break
            self._sleep(delay)
        raise error

    def _post_once(self, path: str, body: dict[str, Any], estimated_prompt_tokens: int) -> Answer:
        started = time.monotonic()
        try:
            with self._client.stream("POST", path, json=body) as response:
                if not response.is_success:
                    response.read()
                    raise status_failure(path, response)
                if body.get("stream") and response.headers.get("content-type", "").startswith("text/event-stream"):
                    streamed = read_stream(response, chat="messages" in body, started=started,
                                           first_token_s=self.settings.first_token_timeout,
                                           idle_s=self.settings.timeout)
                    return Answer.from_stream(streamed, estimated_prompt_tokens)
                response.read()
                data = decode(response)
        except StreamFailure as exc:
            raise stream_failure(path, exc) from exc
        except httpx.TimeoutException as exc:
            # The socket read limit is the queue allowance: the server did not answer in time.
            error = JudgeError(f"{path}: timed out ({exc!r})", retryable=True,
                               public="the judge endpoint timed out")
            raise Failed(error, outcome="overload", timed_out=True) from exc
        except httpx.TransportError as exc:
            raise Failed(JudgeError(f"{path}: connection failed ({exc!r})", retryable=True,
                                    public="could not connect to the judge endpoint")) from exc
        except JudgeError as exc:  # a malformed body
            raise Failed(exc) from exc
        total = time.monotonic() - started
        prompt_tokens, completion_tokens = usage(data)
        return Answer(data, prompt_tokens, completion_tokens, total, total)

    def endpoint_limit(self) -> AdaptiveLimit:
        """This process's concurrency limit for the endpoint, made on first use (so that building a
        backend stays offline) from the settings and what the server declares."""
        if self._limit is None:
            self._limit = limit_for(self.settings.base_url, self.model, self._make_limit)
        return self._limit

    def _host_slot(self) -> AbstractContextManager:
        """One of the slots the server declared, shared with the other processes of this host (the
        other pool processes of a Celery worker), so that together they never send it more."""
        slots = host_slots.slots_for(self.settings.base_url)
        return slots.hold() if slots else nullcontext()

    def _make_limit(self) -> AdaptiveLimit:
        settings = self.settings
        if settings.concurrency != "adaptive":
            fixed = int(settings.concurrency)
            return AdaptiveLimit(start=fixed, ceiling=fixed, adaptive=False)
        if settings.initial_concurrency:
            return AdaptiveLimit(start=settings.initial_concurrency, ceiling=settings.max_concurrency)
        slots = declared_slots(self._client, settings.base_url)
        if slots:
            host_slots.declare(settings.base_url, slots)
        # Requests beyond a server's declared slots only queue there: its slots are the ceiling too.
        ceiling = min(settings.max_concurrency, slots) if slots else settings.max_concurrency
        return AdaptiveLimit(start=slots or 1, ceiling=ceiling)

    def _backoff(self, attempt: int) -> float:
        """Exponential with "equal jitter": half fixed, half random, so retrying clients spread out."""
        ceiling = min(self.settings.max_backoff_s, self.settings.backoff_s * 2**attempt)
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def _cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        per_input, per_output = PRICES.get(self.model, (0.0, 0.0))
        if self.settings.price_per_million_input is not None:
            per_input = self.settings.price_per_million_input
        if self.settings.price_per_million_output is not None:
            per_output = self.settings.price_per_million_output
        return (prompt_tokens * per_input + completion_tokens * per_output) / 1e6

    def _map(self, fn: Callable[[Prompt], T], prompts: list[Prompt]) -> list[T | JudgeError]:
        """``fn`` on every prompt, at most ``max_concurrency`` at a time; errors stay in their slot."""

        def guarded(prompt: Prompt) -> T | JudgeError:
            try:
                return fn(prompt)
            except JudgeError as exc:
                return exc

        if not prompts:
            return []
        # Threads wait at the endpoint's limit; there are as many as the limit could ever allow.
        workers = min(self.endpoint_limit().ceiling, len(prompts))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="judge-http") as pool:
            return list(pool.map(guarded, prompts))


# --- response reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One successful request: the decoded body (or the collected stream) and its accounting."""

    data: dict | Streamed
    prompt_tokens: int
    completion_tokens: int
    first_token_s: float
    total_s: float

    @classmethod
    def from_stream(cls, streamed: Streamed, estimated_prompt_tokens: int) -> Answer:
        # Streams carry usage only where the server adds it; else the prompt is estimated and each
        # content chunk counted as a token (llama.cpp's servers send one token per chunk).
        prompt_tokens, completion_tokens = usage({"usage": streamed.usage})
        return cls(streamed, prompt_tokens or estimated_prompt_tokens, completion_tokens or streamed.chunks,
                   streamed.first_token_s or streamed.total_s, streamed.total_s)


class Failed(Exception):
    """A try that failed: the ``JudgeError`` to raise if no retry succeeds, and what it tells the
    concurrency limit (``outcome``: "overload", "interrupted" or "error")."""

    def __init__(self, error: JudgeError, *, outcome: str = "error", retry_after: float | None = None,
                 timed_out: bool = False):
        super().__init__(str(error))
        self.error, self.outcome, self.retry_after, self.timed_out = error, outcome, retry_after, timed_out


def status_failure(path: str, response: httpx.Response) -> Failed:
    code = response.status_code
    # The body is for the worker log and staff only: an endpoint may echo the key back.
    error = JudgeError(f"{path}: HTTP {code}: {response.text[:300]}", retryable=code in RETRYABLE_STATUS,
                       public=f"the judge endpoint answered HTTP {code}")
    outcome = "overload" if code in OVERLOAD_STATUS else "error"
    return Failed(error, outcome=outcome, retry_after=retry_after(response))


def stream_failure(path: str, exc: StreamFailure) -> Failed:
    error = JudgeError(f"{path}: {exc}", retryable=True, public="the judge endpoint's stream failed")
    if exc.kind == "interrupted":
        return Failed(error, outcome="interrupted")
    if exc.kind in ("first_token", "idle"):
        return Failed(error, outcome="overload", timed_out=True)
    return Failed(error)


LLAMA_CPP_PYTHON_TITLE = "llama.cpp Python API"


def declared_slots(client: httpx.Client, base_url: str) -> int | None:
    """The requests a server can run at once, where it says so: llama.cpp's ``llama-server`` at
    ``/props`` (``total_slots``) or ``/slots`` (one entry per slot); llama-cpp-python's server, which
    names itself in its OpenAPI title, runs one request at a time behind a global lock (and cuts a
    running stream short as soon as a second request waits), so it declares one. None for servers
    that declare nothing (vLLM, hosted APIs): the limit finds out.

    Only GETs that do not queue behind the model: llama-cpp-python's ``/v1/models`` takes the model
    lock, and asking it would interrupt a running stream."""
    root = base_url.rstrip("/").removesuffix("/v1")
    reads = (
        ("/props", lambda d: d.get("total_slots")),
        ("/slots", len),
        ("/openapi.json", lambda d: 1 if LLAMA_CPP_PYTHON_TITLE in str(d.get("info", {}).get("title", "")) else None),
    )
    for path, read in reads:
        try:
            response = client.get(root + path, timeout=DISCOVERY_TIMEOUT_S)
            slots = read(response.json()) if response.is_success else None
        except (httpx.HTTPError, ValueError, TypeError, AttributeError):
            continue
        if isinstance(slots, int) and not isinstance(slots, bool) and slots > 0:
            return slots
    return None


def malformed(data: Any, exc: Exception) -> JudgeError:
    # A 200 with an unexpected body is usually a proxy or an overloaded server: worth a retry.
    return JudgeError(f"malformed response ({exc!r}): {str(data)[:300]}", retryable=True,
                      public="the judge endpoint's answer was not a completion")


def decode(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError as exc:
        raise malformed(response.text, exc) from exc
    if not isinstance(data, dict):
        raise malformed(data, TypeError("not a JSON object"))
    return data


def usage(data: Mapping[str, Any]) -> tuple[int, int]:
    counts = data.get("usage") or {}
    return int(counts.get("prompt_tokens") or 0), int(counts.get("completion_tokens") or 0)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if the server sent one."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def top_candidates(data: Mapping[str, Any], *, chat: bool) -> dict[str, float]:
    """The first generated position's candidate tokens and log-probabilities."""
    try:
        logprobs = data["choices"][0].get("logprobs")
        if not logprobs:
            raise JudgeError("the server returned no logprobs; use a generating protocol with it", retryable=False)
        if chat:
            return {c["token"]: float(c["logprob"]) for c in logprobs["content"][0]["top_logprobs"]}
        return {token: float(lp) for token, lp in logprobs["top_logprobs"][0].items()}
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        raise malformed(data, exc) from exc


def label_logprobs_from(candidates: Mapping[str, float], labels: list[str]) -> dict[str, float]:
    """Each label's log-probability, summing its spellings (" A", "A", SentencePiece "▁A").

    A label outside the top candidates gets the smallest candidate log-probability, an upper bound
    on its true value, rather than -inf, which would turn "A 30%, B unseen" into certainty. When
    no label is among the candidates, all are -inf and the protocol reports no verdict.
    """
    sums: dict[str, float] = {}
    for token, logprob in candidates.items():
        label = token.replace("\u2581", " ").strip()
        if label in labels:
            sums[label] = float(logsumexp([sums[label], logprob])) if label in sums else logprob
    if not sums:
        return dict.fromkeys(labels, -math.inf)
    floor = min(candidates.values())
    return {label: sums.get(label, floor) for label in labels}


def logsumexp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))
