"""The generate protocol: the judge writes a short rationale and a graded verdict (Arena-Hard style
scale A>>B, A>B, A=B, B>A, B>>A), parsed from its text. No probability: ``prob_a`` stays ``None``."""

from __future__ import annotations

from judges.base import Completion, JudgeError, PairTask, Verdict
from judges.parsing import label_winner, parse_graded
from judges.prompts import Rendered, render_pairwise
from judges.protocols.common import ProtocolJudge, call_on_ok, each, rationale_of


class GenerateJudge(ProtocolJudge):
    protocol = "generate"

    def _judge_many(self, tasks: list[PairTask]) -> list[Verdict | JudgeError]:
        rendered = each(tasks, self.render)
        completions = call_on_ok(
            rendered,
            lambda ok: self.backend.complete([r.prompt for r in ok], max_tokens=self.options.max_new_tokens),
        )
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
        )
