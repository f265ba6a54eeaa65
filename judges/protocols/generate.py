"""The generate protocol: the judge writes a short rationale and a graded verdict (Arena-Hard style
scale A>>B, A>B, A=B, B>A, B>>A), parsed from its text. No probability: ``prob_a`` stays ``None``."""

from __future__ import annotations

from judges.base import Completion, JudgeError, PairTask, Verdict
from judges.parsing import parse_graded
from judges.prompts import Rendered, render_pairwise
from judges.protocols.common import ProtocolJudge, each


class GenerateJudge(ProtocolJudge):
    protocol = "generate"

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
            label = parse_graded(answer)
        except JudgeError as exc:
            return exc
        return self.graded_verdict(label, answer, completion, rendered)
