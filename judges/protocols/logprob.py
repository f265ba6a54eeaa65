"""The logprob protocol: one forward pass per task, P(A) against P(B) as the judge's next token.

No generation, so it is the cheapest protocol and the only one that gives a calibrated-looking
probability; it suits base models and small judges that cannot follow an output format.
"""

from __future__ import annotations

from judges.base import JudgeError, LabelScores, PairTask, Verdict
from judges.parsing import label_for_winner, winner_from_prob
from judges.prompts import PAIR_LABELS, Rendered, render_pairwise
from judges.protocols.common import ProtocolJudge, call_on_ok, each, label_probability


class LogprobJudge(ProtocolJudge):
    protocol = "logprob"

    def _judge_many(self, tasks: list[PairTask]) -> list[Verdict | JudgeError]:
        rendered = each(tasks, self.render)
        scores = call_on_ok(rendered, lambda ok: self.backend.label_logprobs([r.prompt for r in ok], list(PAIR_LABELS)))
        return [
            item if isinstance(item, JudgeError) else self._verdict(item, r)  # type: ignore[arg-type]
            for item, r in zip(scores, rendered, strict=True)
        ]

    def render(self, task: PairTask) -> Rendered:
        return render_pairwise(
            task,
            style=self.options.prompt_style,
            mode="logprob",
            budget=self.options.max_output_tokens,
            count_tokens=self.count_tokens,
        )

    def _verdict(self, scores: LabelScores, rendered: Rendered) -> Verdict | JudgeError:
        try:
            prob_a, mass = label_probability(scores, *PAIR_LABELS)
        except JudgeError as exc:
            return exc
        winner = winner_from_prob(prob_a, self.options.tie_margin)
        return Verdict(
            winner=winner,
            prob_a=prob_a,
            label=label_for_winner(winner),
            raw=repr(scores.logprobs),
            prompt_tokens=scores.prompt_tokens,
            latency_s=scores.latency_s,
            truncated=rendered.truncated,
            cost_usd=scores.cost_usd,
            # How much of the next-token distribution fell on the two labels: a low mass means
            # the judge wanted to say something else and the probability is less trustworthy.
            extra={"label_mass": mass},
        )
