"""A deterministic, offline backend FOR TESTS ONLY: it reads the responses out of our own prompts
(the ``<response_a>``/``<response_b>``/``<response>`` tags of ``judges.prompts``) and answers by a
simple rule, in whatever format the prompt asks for.

Params::

    preference  "longer" (default) | "shorter" | "first" (always the first slot: a maximally
                position-biased judge) | "hash" (a seeded hash of the two responses)
    seed        for "hash" (default 0)
    fail        {substring: "retryable" | "permanent"}: a prompt containing the substring fails
    replies     a list of texts that ``complete`` returns in turn (cycled) instead of its own
    confidence  how sharply length differences turn into probabilities (default 1.0)
    delay_s     seconds each backend call takes, like a slow model (default 0)
    hold        a file path: while that file exists, every backend call waits (polling), so a test can
                hold a worker in the middle of a judgment and let it go by deleting the file
    record      a file path: the backend appends one JSON line when it is built ("load", as a real
                backend loads its model) and one per call, each with the process id, its parent's and
                the model name, so tests can see which worker process loaded and ran which judge

A listwise prompt (``<response_A>``, ``<response_B>``, ... of ``judges.listwise``) gets first-label
probabilities by the same preferences ("first": label A always 0.8) and, from ``complete``, a
ranking line ("Ranking: C > A > B").

A pair-criteria prompt (``judges.prompts.render_pair_criteria``: "Write 3 to 8 criteria") gets
``FAKE_CRITERIA`` from ``complete``: one criterion of each weighted type, each labelled as the fake's.

``calls`` records every backend call as (method, number of prompts), so tests can count work.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from judges.base import Completion, ConfigurationError, JudgeError, LabelScores, Prompt, SequenceScores

PREFERENCES = ("longer", "shorter", "first", "hash")
FAKE_CRITERIA = (
    "Fake criteria (the fake backend's, the same for every pair):\n"
    "[core] FAKE: answers the question asked.\n"
    "[important] FAKE: gives enough detail.\n"
    "[highlight] FAKE: reads well."
)
T = TypeVar("T")


def _last_tag(text: str, tag: str) -> str | None:
    # The last occurrence: worked examples in completion-style prompts use the same tags first.
    found = re.findall(rf"<{tag}>\n(.*?)\n</{tag}>", text, flags=re.DOTALL)
    return found[-1] if found else None


def prompt_text(prompt: Prompt) -> str:
    return prompt.text if prompt.text is not None else "\n".join(m["content"] for m in prompt.messages)


def check_params(params: Mapping[str, Any], policy: Any = None) -> None:
    """``ConfigurationError`` unless ``FakeBackend`` takes these params (it reads no key, calls no host)."""
    try:
        FakeBackend(params=params)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"invalid fake backend params: {exc}") from None


class FakeBackend:
    def __init__(self, model: str = "fake", params: Mapping[str, Any] | None = None, **spec: Any):
        params = dict(params or {})
        self.preference = params.pop("preference", "longer")
        self.seed = int(params.pop("seed", 0))
        self.fail: dict[str, str] = dict(params.pop("fail", {}))
        self.replies: list[str] = list(params.pop("replies", []))
        self.confidence = float(params.pop("confidence", 1.0))
        self.delay_s = float(params.pop("delay_s", 0.0))
        self.hold = params.pop("hold", None)
        self.record = params.pop("record", None)
        self.model = model
        if params:
            raise ConfigurationError(f"unknown fake backend params: {sorted(params)}")
        if self.preference not in PREFERENCES:
            raise ConfigurationError(f"unknown fake preference {self.preference!r}")
        self.calls: list[tuple[str, int]] = []
        self.prompts: list[Prompt] = []
        self.max_tokens: list[int] = []  # the generation limit of each complete() call
        self._reply_index = 0
        self._note("load")

    def _note(self, event: str, prompts: int = 0) -> None:
        if self.record:
            line = {"event": event, "pid": os.getpid(), "ppid": os.getppid(), "model": self.model, "prompts": prompts}
            with open(self.record, "a", encoding="utf-8") as out:
                out.write(json.dumps(line) + "\n")

    def _work(self, method: str, prompts: int) -> None:
        """What every call does first: wait like a slow model, or while held; count the call."""
        time.sleep(self.delay_s)
        while self.hold and os.path.exists(self.hold):
            time.sleep(0.05)
        self.calls.append((method, prompts))
        self._note("call", prompts)

    # --- Backend protocol ------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def complete(self, prompts: list[Prompt], *, max_tokens: int) -> list[Completion | JudgeError]:
        self._work("complete", len(prompts))
        self.max_tokens.append(max_tokens)
        self.prompts.extend(prompts)
        return [self._guard(prompt, lambda p: self._completion(p, max_tokens)) for prompt in prompts]

    def label_logprobs(self, prompts: list[Prompt], labels: list[str]) -> list[LabelScores | JudgeError]:
        self._work("label_logprobs", len(prompts))
        self.prompts.extend(prompts)
        return [self._guard(prompt, lambda p: self._label_scores(p, labels)) for prompt in prompts]

    def continuation_logprobs(self, pairs: list[tuple[Prompt, str]]) -> list[SequenceScores | JudgeError]:
        """Every word of a continuation costs -1 nat, less when the prompt shares it: a longer answer
        has a lower total but, per word, an answer echoing the prompt's words scores higher."""
        self._work("continuation_logprobs", len(pairs))
        self.prompts.extend(prompt for prompt, _ in pairs)
        return [self._guard(prompt, lambda p, c=continuation: self._sequence(p, c)) for prompt, continuation in pairs]

    def _sequence(self, prompt: Prompt, continuation: str) -> SequenceScores:
        context = set(prompt_text(prompt).lower().split())
        words = continuation.lower().split()
        return SequenceScores(logprob=sum(-0.5 if w in context else -1.0 for w in words), tokens=len(words),
                              prompt_tokens=self.count_tokens(prompt_text(prompt)))

    # --- the rule ----------------------------------------------------------------------------------

    def _guard(self, prompt: Prompt, fn: Callable[[Prompt], T]) -> T | JudgeError:
        text = prompt_text(prompt)
        for needle, kind in self.fail.items():
            if needle in text:
                return JudgeError(f"fake failure on {needle!r}", retryable=kind == "retryable")
        return fn(prompt)

    def prob_first(self, text: str) -> float:
        """P(the first response is better) under the configured preference."""
        a, b = _last_tag(text, "response_a") or "", _last_tag(text, "response_b") or ""
        if self.preference == "first":
            return 0.8
        if self.preference == "hash":
            digest = hashlib.sha256(f"{self.seed}\0{a}\0{b}".encode()).digest()
            return 0.1 + 0.8 * digest[0] / 255
        diff = (len(a) - len(b)) / max(len(a), len(b), 1)
        if self.preference == "shorter":
            diff = -diff
        return 1.0 / (1.0 + math.exp(-4.0 * self.confidence * diff))

    def prob_good(self, text: str) -> float:
        """P(good) for one response: longer is better under "longer", and so on."""
        response = _last_tag(text, "response") or ""
        if self.preference == "hash":
            return 0.05 + 0.9 * hashlib.sha256(f"{self.seed}\0{response}".encode()).digest()[0] / 255
        size = len(response) if self.preference != "shorter" else 200 - min(len(response), 200)
        return 1.0 - math.exp(-self.confidence * (size + 1) / 50)

    def listwise_probs(self, text: str) -> list[float] | None:
        """First-place probabilities of a listwise prompt's candidates (``<response_A>``, ...), in
        display order, under the configured preference; None when the prompt is not listwise."""
        shown = []
        for label in "ABCDEFGH":
            response = _last_tag(text, f"response_{label}")
            if response is None:
                break
            shown.append(response)
        if not shown:
            return None
        if self.preference == "first":
            rest = 0.2 / max(len(shown) - 1, 1)
            return [0.8] + [rest] * (len(shown) - 1)
        if self.preference == "hash":
            weights = [0.05 + hashlib.sha256(f"{self.seed}\0{r}".encode()).digest()[0] / 255 for r in shown]
        else:
            longest = max(max(len(r) for r in shown), 1)
            sign = -1.0 if self.preference == "shorter" else 1.0
            weights = [math.exp(sign * 4.0 * self.confidence * len(r) / longest) for r in shown]
        total = sum(weights)
        return [w / total for w in weights]

    def _label_scores(self, prompt: Prompt, labels: list[str]) -> LabelScores:
        text = prompt_text(prompt)
        listwise = self.listwise_probs(text)
        if listwise is not None:
            probs = dict(zip("ABCDEFGH", listwise, strict=False))
            logprobs = {label: math.log(probs[label]) if probs.get(label) else -math.inf for label in labels}
            return LabelScores(logprobs=logprobs, prompt_tokens=self.count_tokens(text))
        p = self.prob_good(text) if _last_tag(text, "response") is not None else self.prob_first(text)
        probs = dict(zip(labels, (p, 1.0 - p), strict=False))
        logprobs = {label: math.log(probs.get(label, 0.0)) if probs.get(label) else -math.inf for label in labels}
        return LabelScores(logprobs=logprobs, prompt_tokens=self.count_tokens(text))

    def _completion(self, prompt: Prompt, max_tokens: int) -> Completion:
        text = prompt_text(prompt)
        if self.replies:
            reply = self.replies[self._reply_index % len(self.replies)]
            self._reply_index += 1
        elif "Write 3 to 8 criteria" in text and "Judge only this criterion" not in text:
            reply = FAKE_CRITERIA
        elif (listwise := self.listwise_probs(text)) is not None:
            ranked = sorted(range(len(listwise)), key=lambda i: -listwise[i])
            reply = "Ranked by length.\nRanking: " + " > ".join("ABCDEFGH"[i] for i in ranked)
        elif _last_tag(text, "response") is not None:
            reply = f"Judged by length.\nScore: {1 + round(9 * self.prob_good(text))}"
        else:
            reply = self._pair_reply(text)
        words = reply.split()
        if len(words) > max_tokens:
            reply, words = " ".join(words[:max_tokens]), words[:max_tokens]
        return Completion(reply, prompt_tokens=self.count_tokens(text), completion_tokens=len(words))

    def _pair_reply(self, text: str) -> str:
        p = self.prob_first(text)
        label = "A>>B" if p > 0.9 else "A>B" if p > 0.5 else "A=B" if p == 0.5 else "B>>A" if p < 0.1 else "B>A"
        # The per-criterion prompt lists the criteria for the case last (after any examples).
        criteria = re.findall(r"^Criteria to cover: (.*)\.$", text, flags=re.MULTILINE)
        if criteria:
            lines = "\n".join(f"{name}: [[{label}]]" for name in criteria[-1].split(", "))
            return f"Judged by length.\n{lines}"
        return f"Verdict: [[{label}]]\nJudged by length."  # verdict first, as the generate prompt asks
