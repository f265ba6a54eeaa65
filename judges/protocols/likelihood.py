"""Likelihood protocols for base models: no instruction to follow, only how probable each output is.

A base model such as the default Gemma 3 270M cannot follow "which response is better?"; what it can
do is assign probabilities to text. Each output is scored alone (like ``pointwise``, so no position
bias and each distinct output once per batch):

- ``likelihood``: the mean per-token log-likelihood of the output given the conversation,
  ``mean log p(y | x)``. Fluent, on-topic text scores high; it also favours bland, generic text.
- ``pmi``: the mean per-token pointwise mutual information of the output with the prompt,
  ``mean [log p(y | x) - log p(y)]``: how much more probable the prompt makes the output than it is
  on its own, which discounts text that is likely anywhere (boilerplate) and rewards answers that
  are specific to the question.

Multi-turn outputs are scored turn by turn, each assistant turn conditioned on the whole history
before it, and the token-weighted mean is taken. ``prob_a = sigmoid(SCALE * (s_a - s_b))``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from judges.base import JudgeError, PairTask, Prompt, SequenceScores, Verdict
from judges.parsing import label_for_winner, sigmoid, winner_from_prob
from judges.prompts import truncate_turns
from judges.protocols.common import ProtocolJudge, call_on_ok

# Differences of mean per-token log-likelihood are a few tenths of a nat: a 0.2 nat/token gap
# reads as prob_a = 0.73 and a 0.6 gap as 0.95.
SCALE = 5.0
NO_CONTEXT = "Assistant:"

Scored = tuple[float, int]  # (mean score per token, tokens scored)


def conversation_contexts(prompt_turns: Sequence[str], output_turns: Sequence[str]) -> list[str]:
    """The text before each assistant turn: every earlier user and assistant turn, then "Assistant:"."""
    contexts, history = [], []
    for user, assistant in zip(prompt_turns, output_turns, strict=True):
        history.append(f"User: {user}")
        contexts.append("\n\n".join(history) + "\n\nAssistant:")
        history.append(f"Assistant: {assistant}")
    return contexts


class LikelihoodJudge(ProtocolJudge):
    protocol: ClassVar[str] = "likelihood"
    pmi: ClassVar[bool] = False

    def _judge_many(self, tasks: list[PairTask]) -> list[Verdict | JudgeError]:
        keys: dict[tuple, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        for task in tasks:
            for outputs in (task.output_a_turns, task.output_b_turns):
                keys.setdefault((task.prompt_turns, outputs), (task.prompt_turns, outputs))
        scores = dict(zip(keys, self.score_outputs(list(keys.values())), strict=True))
        return [self._verdict(scores[(t.prompt_turns, t.output_a_turns)], scores[(t.prompt_turns, t.output_b_turns)])
                for t in tasks]

    def score_outputs(self, items: list[tuple[tuple[str, ...], tuple[str, ...]]]) -> list[Scored | JudgeError]:
        """Mean per-token score of each (prompt turns, output turns), in one backend batch."""
        calls: list[tuple[Prompt, str]] = []
        spans: list[tuple[int, int] | JudgeError] = []
        for prompt_turns, output_turns in items:
            if not prompt_turns or len(prompt_turns) != len(output_turns):
                spans.append(JudgeError("an output needs one assistant turn per user turn", retryable=False))
                continue
            shown, _ = truncate_turns(output_turns, self.options.max_output_tokens, self.count_tokens)
            start = len(calls)
            for context, turn in zip(conversation_contexts(prompt_turns, shown), shown, strict=True):
                calls.append((Prompt(text=context), " " + turn))
                if self.pmi:
                    calls.append((Prompt(text=NO_CONTEXT), " " + turn))
            spans.append((start, len(calls)))
        answers = call_on_ok(calls, self.backend.continuation_logprobs) if calls else []
        return [span if isinstance(span, JudgeError) else self._mean(answers[span[0]:span[1]]) for span in spans]

    def _mean(self, answers: Sequence[SequenceScores | JudgeError]) -> Scored | JudgeError:
        for answer in answers:
            if isinstance(answer, JudgeError):
                return answer
        step = 2 if self.pmi else 1
        total, tokens = 0.0, 0
        for at in range(0, len(answers), step):
            conditional = answers[at]
            assert isinstance(conditional, SequenceScores)
            total += conditional.logprob
            if self.pmi:
                unconditional = answers[at + 1]
                assert isinstance(unconditional, SequenceScores)
                total -= unconditional.logprob
            tokens += conditional.tokens
        if tokens == 0:
            return JudgeError("an output with no tokens cannot be scored", retryable=False)
        return total / tokens, tokens

    def _verdict(self, a: Scored | JudgeError, b: Scored | JudgeError) -> Verdict | JudgeError:
        for scored in (a, b):
            if isinstance(scored, JudgeError):
                return scored
        assert not isinstance(a, JudgeError) and not isinstance(b, JudgeError)
        prob_a = sigmoid(SCALE * (a[0] - b[0]))
        winner = winner_from_prob(prob_a, self.options.tie_margin)
        return Verdict(
            winner=winner, prob_a=prob_a, label=label_for_winner(winner),
            raw=f"score_a={a[0]:.4f} score_b={b[0]:.4f}",
            extra={"score_a": a[0], "score_b": b[0], "tokens_a": a[1], "tokens_b": b[1]},
        )


class PmiJudge(LikelihoodJudge):
    protocol: ClassVar[str] = "pmi"
    pmi: ClassVar[bool] = True
