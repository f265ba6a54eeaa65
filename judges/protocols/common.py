"""What every protocol shares: options, per-item error slots, and turning backend answers into verdicts."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from judges.base import Backend, Completion, JudgeError, LabelScores, PairTask, Rubric, Verdict
from judges.length_rule import apply_length_rule
from judges.parsing import cut_at_separator, label_winner
from judges.prompts import DEFAULT_RUBRIC, Mode, Style

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_MAX_OUTPUT_TOKENS = 2048
DEFAULT_MAX_NEW_TOKENS = 512  # for protocols that reason before their verdicts (per_criterion, pointwise)


@dataclass(frozen=True)
class JudgeOptions:
    """Protocol settings from the judge spec (backend params live with the backend).

    ``max_output_tokens``: budget each output is cut to before judging (``None``: no cut).
    ``max_new_tokens``: generation limit for protocols that generate (``None``: the protocol's own,
    ``ProtocolJudge.default_max_new_tokens``).
    ``tie_margin``: a probability within ``0.5 ± tie_margin`` counts as a tie.
    ``via``: how ``per_criterion`` and ``pointwise`` ask the model, ``generate`` or ``logprob``.
    ``length_rule_chars``: WildBench's rule, a weak win by an answer this many characters longer is a
    tie (``judges.length_rule``); ``None``: off.
    """

    prompt_style: Style = "chat"
    max_output_tokens: int | None = DEFAULT_MAX_OUTPUT_TOKENS
    max_new_tokens: int | None = None
    tie_margin: float = 0.0
    via: Mode = "generate"
    length_rule_chars: int | None = None


class ProtocolJudge:
    """A ``Judge``: ``judge_many(tasks)`` returns one ``Verdict`` or ``JudgeError`` per task, in order."""

    protocol: ClassVar[str] = ""
    default_max_new_tokens: ClassVar[int] = DEFAULT_MAX_NEW_TOKENS

    def __init__(self, backend: Backend, *, options: JudgeOptions | None = None, rubric: Rubric = DEFAULT_RUBRIC):
        self.backend = backend
        self.options = options or JudgeOptions()
        # The rubric of the judge configuration, for callers building tasks; prompts use task.rubric.
        self.rubric = rubric

    def judge_many(self, tasks: Sequence[PairTask]) -> list[Verdict | JudgeError]:
        if not tasks:
            return []
        try:
            verdicts = self._judge_many(list(tasks))
        except JudgeError as exc:
            # A failure of the whole batch (model not loadable, bad config) lands in every slot.
            return [exc] * len(tasks)
        chars = self.options.length_rule_chars
        if chars is None:
            return verdicts
        return [apply_length_rule(task, verdict, chars) if isinstance(verdict, Verdict) else verdict
                for task, verdict in zip(tasks, verdicts, strict=True)]

    def _judge_many(self, tasks: list[PairTask]) -> list[Verdict | JudgeError]:
        raise NotImplementedError

    def count_tokens(self, text: str) -> int:
        return self.backend.count_tokens(text)

    @property
    def max_new_tokens(self) -> int:
        return self.options.max_new_tokens or self.default_max_new_tokens

    def complete_all(self, rendered: list) -> list:
        """One generation batch for every prompt that rendered; render errors keep their slots."""
        return call_on_ok(
            rendered,
            lambda ok: self.backend.complete([r.prompt for r in ok], max_tokens=self.max_new_tokens),
        )

    def graded_verdict(self, label: str, answer: str, completion: Completion, rendered, **more) -> Verdict:
        """A verdict from a generated graded label, with the completion's accounting."""
        return Verdict(
            winner=label_winner(label),
            label=label,
            rationale=rationale_of(answer),
            raw=completion.text,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            latency_s=completion.latency_s,
            truncated=rendered.truncated,
            cost_usd=completion.cost_usd,
            **more,
        )

    def answer_text(self, completion: Completion) -> str:
        """The part of a completion that is the judge's answer (see ``cut_at_separator``)."""
        if self.options.prompt_style == "completion":
            return cut_at_separator(completion.text)
        return completion.text


def each(items: Sequence[T], fn: Callable[[T], R]) -> list[R | JudgeError]:
    """``fn`` on every item, a ``JudgeError`` staying in its item's slot."""
    results: list[R | JudgeError] = []
    for item in items:
        try:
            results.append(fn(item))
        except JudgeError as exc:
            results.append(exc)
    return results


def call_on_ok(
    items: Sequence[T | JudgeError], call: Callable[[list[T]], list[R | JudgeError]]
) -> list[R | JudgeError]:
    """One batched backend ``call`` on the items that are not already errors, results scattered back."""
    ok = [i for i, item in enumerate(items) if not isinstance(item, JudgeError)]
    answers = call([items[i] for i in ok]) if ok else []  # type: ignore[misc]
    if len(answers) != len(ok):
        raise JudgeError(f"backend returned {len(answers)} results for {len(ok)} prompts", retryable=False)
    results: list[R | JudgeError] = list(items)  # type: ignore[arg-type]
    for i, answer in zip(ok, answers, strict=True):
        results[i] = answer
    return results


def label_probability(scores: LabelScores, first: str, second: str) -> tuple[float, float]:
    """P(first) renormalised over the two labels, and the probability mass the two labels had.

    A backend reports labels it did not see among its top candidates as ``-inf`` or leaves them
    out; when neither label shows up there is no verdict, which is an error, not a coin flip.
    """
    p_first = math.exp(scores.logprobs.get(first, -math.inf))
    p_second = math.exp(scores.logprobs.get(second, -math.inf))
    mass = p_first + p_second
    if not mass > 0:
        raise JudgeError(f"neither {first!r} nor {second!r} among the judge's next-token candidates", retryable=True)
    return p_first / mass, mass


def rationale_of(text: str) -> str:
    """The reasoning beside the verdict line, for display: after it when the verdict comes first
    (the generate protocol), else before the final one."""
    lowered = text.lstrip().lower()
    if lowered.startswith("verdict") or lowered.startswith("[["):
        _, _, rest = text.strip().partition("\n")
        rest = rest.strip()
        return rest[len("reasoning:"):].strip() if rest.lower().startswith("reasoning:") else rest
    for marker in ("verdict", "score"):
        at = lowered.rfind(marker)
        if at > 0:
            return text.lstrip()[:at].strip().removesuffix("**").strip()
    return text.strip()
