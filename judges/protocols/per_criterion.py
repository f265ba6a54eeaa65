"""The per-criterion protocol: a verdict per rubric criterion, combined by the rubric's weights in code.

``via="generate"`` (default): one generation per task with a ``name: [[label]]`` line per criterion;
the overall label is the weighted mean of the criterion scores (A>>B = 2 .. B>>A = -2) mapped back
onto the scale, and the winner is its sign.

``via="logprob"``: one forward pass per (task, criterion), the prompt narrowed to that criterion;
``prob_a`` is the weighted mean of the criterion probabilities. Costs one pass per criterion but
works with base models that cannot write the multi-line format.
"""

from __future__ import annotations

from judges.base import Completion, Criterion, CriterionResult, JudgeError, LabelScores, PairTask, Verdict
from judges.parsing import (
    LABEL_SCORES,
    label_for_winner,
    label_from_score,
    label_winner,
    parse_criteria,
    winner_from_prob,
)
from judges.prompts import PAIR_LABELS, Rendered, render_criteria, render_pairwise
from judges.protocols.common import ProtocolJudge, call_on_ok, each, label_probability

Cell = tuple[Rendered | JudgeError, LabelScores | JudgeError]


def _weighted_mean(values: list[float], weights: list[float]) -> float:
    return sum(v * w for v, w in zip(values, weights, strict=True)) / sum(weights)


class PerCriterionJudge(ProtocolJudge):
    protocol = "per_criterion"

    def _judge_many(self, tasks: list[PairTask]) -> list[Verdict | JudgeError]:
        if self.options.via == "logprob":
            return self._by_logprob(tasks)
        return self._by_generation(tasks)

    # --- via generation ------------------------------------------------------------------------

    def _by_generation(self, tasks: list[PairTask]) -> list[Verdict | JudgeError]:
        rendered = each(tasks, self._render_joint)
        completions = self.complete_all(rendered)
        return [
            item if isinstance(item, JudgeError) else self._joint_verdict(item, r, task)  # type: ignore[arg-type]
            for item, r, task in zip(completions, rendered, tasks, strict=True)
        ]

    def _render_joint(self, task: PairTask) -> Rendered:
        return render_criteria(
            task,
            style=self.options.prompt_style,
            budget=self.options.max_output_tokens,
            count_tokens=self.count_tokens,
        )

    def _joint_verdict(self, completion: Completion, rendered: Rendered, task: PairTask) -> Verdict | JudgeError:
        answer = self.answer_text(completion)
        criteria = task.rubric.criteria
        try:
            labels = parse_criteria(answer, [c.name for c in criteria])
        except JudgeError as exc:
            return exc
        results = tuple(
            CriterionResult(c.name, label_winner(labels[c.name]), weight=c.weight, label=labels[c.name])
            for c in criteria
        )
        score = _weighted_mean([LABEL_SCORES[labels[c.name]] for c in criteria], [c.weight for c in criteria])
        label = label_from_score(score)
        return self.graded_verdict(label, answer, completion, rendered, criteria=results,
                                   extra={"weighted_score": score})

    # --- via next-token probabilities -----------------------------------------------------------

    def _by_logprob(self, tasks: list[PairTask]) -> list[Verdict | JudgeError]:
        cells = [(i, criterion) for i, task in enumerate(tasks) for criterion in task.rubric.criteria]
        rendered = each(cells, lambda cell: self._render_focused(tasks[cell[0]], cell[1]))
        scores = call_on_ok(rendered, lambda ok: self.backend.label_logprobs([r.prompt for r in ok], list(PAIR_LABELS)))
        per_task: list[list[Cell]] = [[] for _ in tasks]
        for (i, _), prompt, answer in zip(cells, rendered, scores, strict=True):
            per_task[i].append((prompt, answer))
        return [self._focused_verdict(task, per_task[i]) for i, task in enumerate(tasks)]

    def _render_focused(self, task: PairTask, criterion: Criterion) -> Rendered:
        return render_pairwise(
            task,
            style=self.options.prompt_style,
            mode="logprob",
            budget=self.options.max_output_tokens,
            count_tokens=self.count_tokens,
            focus=criterion,
        )

    def _focused_verdict(self, task: PairTask, cells: list[Cell]) -> Verdict | JudgeError:
        results: list[CriterionResult] = []
        prompt_tokens, latency, cost, truncated = 0, 0.0, 0.0, False
        for criterion, (rendered, scores) in zip(task.rubric.criteria, cells, strict=True):
            for item in (rendered, scores):
                if isinstance(item, JudgeError):
                    return item
            try:
                prob_a, _ = label_probability(scores, *PAIR_LABELS)
            except JudgeError as exc:
                return exc
            winner = winner_from_prob(prob_a, self.options.tie_margin)
            results.append(CriterionResult(criterion.name, winner, prob_a, criterion.weight, label_for_winner(winner)))
            prompt_tokens += scores.prompt_tokens
            latency += scores.latency_s
            cost += scores.cost_usd
            truncated = truncated or rendered.truncated
        prob_a = _weighted_mean([r.prob_a for r in results], [r.weight for r in results])  # type: ignore[misc]
        winner = winner_from_prob(prob_a, self.options.tie_margin)
        return Verdict(
            winner=winner,
            prob_a=prob_a,
            label=label_for_winner(winner),
            criteria=tuple(results),
            raw=repr({r.name: r.prob_a for r in results}),
            prompt_tokens=prompt_tokens,
            latency_s=latency,
            truncated=truncated,
            cost_usd=cost,
        )
