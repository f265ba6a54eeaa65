"""Any OpenAI-compatible endpoint as a judge backend: vLLM, llama.cpp server, TGI, hosted APIs.

Chat prompts go to ``/chat/completions``, completion-style prompts to ``/completions``. Label
log-probabilities come from a one-token request with ``logprobs`` (``top_logprobs`` on chat), so
the server must offer them; one that does not is a permanent error (use a generating protocol).

Params (all optional)::

    base_url                   default "https://api.openai.com/v1"
    api_key_env                environment variable holding the API key (default OPENAI_API_KEY,
                               which may be unset for local servers; a named one must be set). Only
                               variables the ``SecretPolicy`` allows are read, never any other
    timeout                    seconds per HTTP request (default 60)
    max_concurrency            requests in flight per batch (default 4)
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
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from judges.base import Completion, ConfigurationError, JudgeError, LabelScores, Prompt, SequenceScores
from judges.policy import DEFAULT_KEY_ENV, SecretPolicy, settings_from_params

T = TypeVar("T")

# USD per million (input, output) tokens by served model name. Deliberately empty: hosted prices
# change and guessed numbers would mislead; set the price params on the judge spec instead.
PRICES: dict[str, tuple[float, float]] = {}

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
DEFAULT_API_KEY_ENV = DEFAULT_KEY_ENV
# Params that say where requests go and with which key: shown to staff and admin-scope tokens only.
PRIVATE_PARAMS = frozenset({"base_url", "api_key_env", "extra_body"})


@dataclass(frozen=True)
class Settings:
    base_url: str = "https://api.openai.com/v1"
    api_key_env: str | None = None
    timeout: float = 60.0
    max_concurrency: int = 4
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
    numbers = (settings.timeout, settings.max_concurrency, settings.top_logprobs, settings.chars_per_token)
    if not all(n > 0 for n in numbers) or settings.max_retries < 0:
        raise ConfigurationError("timeout, max_concurrency, top_logprobs, chars_per_token must be positive")
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
        timeout = httpx.Timeout(self.settings.timeout, connect=min(10.0, self.settings.timeout))
        # One client shared by the worker threads: httpx clients are thread-safe and pool connections.
        self._client = httpx.Client(base_url=self.settings.base_url.rstrip("/"), headers=headers, timeout=timeout)

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
        data, latency = self._request(prompt, max_tokens=max_tokens)
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] if prompt.is_chat else choice["text"]
            if not isinstance(text, str):
                raise TypeError(f"content is {type(text).__name__}")
        except (KeyError, IndexError, TypeError) as exc:
            raise malformed(data, exc) from exc
        prompt_tokens, completion_tokens = usage(data)
        return Completion(text, prompt_tokens, completion_tokens, latency, self._cost(prompt_tokens, completion_tokens))

    def _label_one(self, prompt: Prompt, labels: list[str]) -> LabelScores:
        top = self.settings.top_logprobs
        extra = {"logprobs": True, "top_logprobs": top} if prompt.is_chat else {"logprobs": top}
        data, latency = self._request(prompt, max_tokens=1, extra=extra)
        candidates = top_candidates(data, chat=prompt.is_chat)
        prompt_tokens, completion_tokens = usage(data)
        return LabelScores(
            logprobs=label_logprobs_from(candidates, labels),
            prompt_tokens=prompt_tokens,
            latency_s=latency,
            cost_usd=self._cost(prompt_tokens, completion_tokens),
        )

    def _request(
        self, prompt: Prompt, *, max_tokens: int, extra: Mapping[str, Any] | None = None
    ) -> tuple[dict, float]:
        body: dict[str, Any] = {"model": self.model, "max_tokens": max_tokens, "temperature": self.settings.temperature}
        if prompt.is_chat:
            path, body["messages"] = "/chat/completions", list(prompt.messages)
        else:
            path, body["prompt"] = "/completions", prompt.text
        body.update(self.settings.extra_body)
        body.update(extra or {})
        started = time.monotonic()
        data = self._post(path, body)
        return data, time.monotonic() - started

    def _post(self, path: str, body: dict[str, Any]) -> dict:
        """POST with retries; raises ``JudgeError`` classified retryable or permanent."""
        for attempt in range(self.settings.max_retries + 1):
            try:
                response = self._client.post(path, json=body)
            except httpx.TimeoutException as exc:
                error, wait = JudgeError(f"{path}: timed out ({exc!r})", retryable=True,
                                         public="the judge endpoint timed out"), None
            except httpx.TransportError as exc:
                error, wait = JudgeError(f"{path}: connection failed ({exc!r})", retryable=True,
                                         public="could not connect to the judge endpoint"), None
            else:
                if response.is_success:
                    return decode(response)
                # The body is for the worker log and staff only: an endpoint may echo the key back.
                status = f"the judge endpoint answered HTTP {response.status_code}"
                detail = f"{path}: HTTP {response.status_code}: {response.text[:300]}"
                if response.status_code not in RETRYABLE_STATUS:
                    raise JudgeError(detail, retryable=False, public=status)
                error = JudgeError(detail, retryable=True, public=status)
                wait = retry_after(response)
            if attempt == self.settings.max_retries:
                break
            delay = self._backoff(attempt) if wait is None else wait
            if delay > self.settings.max_retry_after_s:
                break
            self._sleep(delay)
        raise error

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
        workers = min(self.settings.max_concurrency, len(prompts))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="judge-http") as pool:
            return list(pool.map(guarded, prompts))


# --- response reading ------------------------------------------------------------------------------


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
