"""The generate protocol: the judge writes a graded verdict (Arena-Hard style scale A>>B, A>B, A=B,
B>A, B>>A) first, then optionally a short rationale, parsed from its text. No probability:
``prob_a`` stays ``None``.

Verdict first, because decoding is what a judge call costs: the decision takes about ten tokens,
so the default budget (``GENERATE_MAX_NEW_TOKENS``) leaves room for two sentences of reasons and
no more, and a rationale cut off by the budget still leaves a whole verdict. ``max_new_tokens`` of
about 12 asks for the verdict alone.
"""

from __future__ import annotations

from judges.base import Completion, JudgeError, PairTask, Verdict
from judges.parsing import parse_verdict_first
from judges.prompts import Rendered, render_pairwise
from judges.protocols.common import ProtocolJudge, each

# "Verdict: [[A>>B]]" is 8-12 tokens in common tokenizers; two short sentences of reasons about 60.
GENERATE_MAX_NEW_TOKENS = 80


class GenerateJudge(ProtocolJudge):
    protocol = "generate"
    default_max_new_tokens = GENERATE_MAX_NEW_TOKENS

    def _judge_many(self, tasks: list[PairTask]) -> list[Verdict | JudgeError]:
        rendered = each(tasks, self.render)
        completions = self.complete_all(rendered)
        return [
            item if isinstance(item, JudgeError) else self._verdict(item, r)  # type: ignore[arg-type]
            for item, r in zip(completions, rendered, strict=True)
        ]

    def render(self, task: PairTask) -> Rendered:
        return render_pairwise(
            task,
            style=self.options.prompt_style,
            mode="generate",
            budget=self.options.max_output_tokens,
            count_tokens=self.count_tokens,
        )

    def _verdict(self, completion: Completion, rendered: Rendered) -> Verdict | JudgeError:
        answer = self.answer_text(completion)
        try:
            label = parse_verdict_first(answer)
        except JudgeError as exc:
            return exc
        return self.graded_verdict(label, answer, completion, rendered)
