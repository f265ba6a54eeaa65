"""The judge interface: plain data in, plain data out, batch-first.

A *task* is one pairwise comparison in one presentation order; a *verdict* is what a judge said
about it. Backends only know how to complete text or score next-token labels; protocols
(``judges.protocols``) turn tasks into backend calls and backend answers into verdicts.
No Django imports anywhere in this package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from judges.checks import Check

Winner = Literal["a", "b", "tie"]
Order = Literal["ab", "ba"]


class JudgeError(Exception):
    """A judgment that failed. ``retryable`` separates transient trouble (timeouts, 5xx, rate
    limits, unparsable output) from permanent trouble (bad configuration, 4xx, missing model).

    Never turn one of these into a tie: the caller retries or records the failure.
    """

    def __init__(self, message: str, *, retryable: bool, public: str = ""):
        super().__init__(message)
        self.retryable = retryable
        self.public = public

    def summary(self) -> str:
        """What anyone may read about this failure: the class and a short message of ours. The full
        message can quote a remote endpoint's answer (which may echo a key) or name a configured
        URL or variable, so it goes to the worker log and to staff only."""
        return f"{type(self).__name__}: {self.public or self.default_public()}"

    def default_public(self) -> str:
        if self.retryable:
            return "a transient failure (timeout, rate limit, server error or an unreadable reply)"
        return "a permanent failure (the request was refused or the judge cannot run it)"


class ConfigurationError(JudgeError):
    def __init__(self, message: str, *, public: str = ""):
        super().__init__(message, retryable=False, public=public)

    def default_public(self) -> str:
        return "the judge configuration cannot run here; staff can see why"


@dataclass(frozen=True)
class Criterion:
    name: str
    description: str
    weight: float = 1.0


@dataclass(frozen=True)
class Rubric:
    name: str
    version: int
    criteria: tuple[Criterion, ...]
    instructions: str = ""


@dataclass(frozen=True)
class PairTask:
    """One comparison as the judge sees it: ``output_a`` is shown first.

    ``prompt_turns`` are the user turns; ``output_*_turns`` the assistant turns (same length for a
    multi-turn conversation). ``order`` records whether the stored pair was swapped to make this
    task ("ba" means output_a here is the stored pair's second output).
    """

    prompt_turns: tuple[str, ...]
    output_a_turns: tuple[str, ...]
    output_b_turns: tuple[str, ...]
    rubric: Rubric
    reference_turns: tuple[str, ...] | None = None
    order: Order = "ab"
    key: str = ""
    # Verifiable checks (judges.checks) run on this pair before any judge call; never shown to a model.
    checks: tuple[Check, ...] = ()

    def swapped(self) -> PairTask:
        return PairTask(
            prompt_turns=self.prompt_turns,
            output_a_turns=self.output_b_turns,
            output_b_turns=self.output_a_turns,
            rubric=self.rubric,
            reference_turns=self.reference_turns,
            order="ba" if self.order == "ab" else "ab",
            key=self.key,
            checks=self.checks,
        )


@dataclass(frozen=True)
class CriterionResult:
    name: str
    winner: Winner
    prob_a: float | None = None
    weight: float = 1.0
    label: str | None = None


@dataclass(frozen=True)
class Verdict:
    """What the judge said about one task, in that task's presentation order."""

    winner: Winner
    prob_a: float | None = None
    label: str | None = None
    criteria: tuple[CriterionResult, ...] = ()
    rationale: str = ""
    raw: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    truncated: bool = False
    cost_usd: float = 0.0
    extra: dict = field(default_factory=dict)


# --- what backends offer to protocols -----------------------------------------------------------

Message = dict  # {"role": "system"|"user"|"assistant", "content": str}


@dataclass(frozen=True)
class Prompt:
    """Either chat messages (a chat model applies its template) or plain completion text."""

    messages: tuple[Message, ...] = ()
    text: str | None = None

    @property
    def is_chat(self) -> bool:
        return self.text is None


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0


@dataclass(frozen=True)
class LabelScores:
    """Log-probabilities of candidate labels as the next token(s) after a prompt."""

    logprobs: dict[str, float]
    prompt_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0


@dataclass(frozen=True)
class SequenceScores:
    """Summed log-probability of a continuation's tokens after a prompt, and how many there were."""

    logprob: float
    tokens: int
    prompt_tokens: int = 0
    latency_s: float = 0.0


class Backend(Protocol):
    """A model that protocols drive. Every method is batch-first; results align with inputs.

    A failed item comes back as a ``JudgeError`` in its slot instead of failing the batch.
    """

    def complete(self, prompts: list[Prompt], *, max_tokens: int) -> list[Completion | JudgeError]: ...

    def label_logprobs(self, prompts: list[Prompt], labels: list[str]) -> list[LabelScores | JudgeError]: ...

    def count_tokens(self, text: str) -> int: ...

    def continuation_logprobs(self, pairs: list[tuple[Prompt, str]]) -> list[SequenceScores | JudgeError]: ...


class Judge(Protocol):
    def judge_many(self, tasks: list[PairTask]) -> list[Verdict | JudgeError]: ...
