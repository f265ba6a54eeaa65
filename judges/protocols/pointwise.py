"""The pointwise protocol: each output is scored on its own and the pair decided by the difference.

Scores (``via``):

- ``logprob`` (default for this protocol): P(good) = P("Yes") / (P("Yes") + P("No")) as the next token;
  its strength is ``logit(P(good))``.
- ``generate``: a 1-10 grade parsed from a ``Score: N`` line; its strength is the grade itself.

``prob_a = sigmoid(strength_a - strength_b)``: a Bradley-Terry reading of two independent scores.
For P(good) it is exactly the odds ratio; for grades it means a one-point gap gives 0.73 and a
three-point gap 0.95. Equal scores give 0.5, a tie.

Neither output sees the other, so there is no position bias by construction, and every score is
cached under a key of (spec fingerprint, prompt, reference, output, rubric): an output meeting
N-1 others is scored once, and a batch scores each distinct output once even when it appears in
many of its tasks (both orders of a pair included).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from judges.base import Backend, Completion, JudgeError, LabelScores, PairTask, Rubric, Verdict
from judges.cache import Score, ScoreCache, score_key
from judges.parsing import label_for_winner, logit, parse_score, sigmoid, winner_from_prob
from judges.prompts import DEFAULT_RUBRIC, POINTWISE_LABELS, Rendered, render_pointwise
from judges.protocols.common import JudgeOptions, ProtocolJudge, call_on_ok, each, label_probability


@dataclass(frozen=True)
class Item:
    """One output to score: what its key and prompt are built from."""

    prompt_turns: tuple[str, ...]
    output_turns: tuple[str, ...]
    reference_turns: tuple[str, ...] | None
    rubric: Rubric


def strength(score: Score) -> float:
    return logit(score.value) if score.kind == "probability" else score.value


class PointwiseJudge(ProtocolJudge):
    protocol = "pointwise"

    def __init__(
        self,
        backend: Backend,
        *,
        options: JudgeOptions | None = None,
        rubric: Rubric = DEFAULT_RUBRIC,
        score_cache: ScoreCache | None = None,
        fingerprint: str = "",
    ):
        super().__init__(backend, options=options or JudgeOptions(via="logprob"), rubric=rubric)
        self.score_cache = score_cache if score_cache is not None else ScoreCache()
        # Scores from different judge specs must never mix: the fingerprint is part of every key.
        self.fingerprint = fingerprint

    def _judge_many(self, tasks: list[PairTask]) -> list[Verdict | JudgeError]:
        items: dict[str, Item] = {}
        pairs = []
        for task in tasks:
            keys = tuple(self._key(task, outputs, items) for outputs in (task.output_a_turns, task.output_b_turns))
            pairs.append(keys)
        known: dict[str, Score | JudgeError] = dict(self.score_cache.get_many(list(items)))
        fresh = self.score_items({key: item for key, item in items.items() if key not in known})
        self.score_cache.put_many({key: s for key, s in fresh.items() if isinstance(s, Score)})
        known.update(fresh)
        # A fresh score's tokens and cost are billed to the first verdict that uses it, so sums
        # over verdicts equal what the backend really spent.
        unbilled = set(fresh)
        verdicts: list[Verdict | JudgeError] = []
        for key_a, key_b in pairs:
            billed = [key for key in dict.fromkeys((key_a, key_b)) if key in unbilled]
            unbilled.difference_update(billed)
            verdicts.append(self._verdict(known[key_a], known[key_b], [known[k] for k in billed]))
        return verdicts

    def _key(self, task: PairTask, outputs: tuple[str, ...], items: dict[str, Item]) -> str:
        item = Item(task.prompt_turns, outputs, task.reference_turns, task.rubric)
        key = score_key(
            fingerprint=self.fingerprint,
            prompt_turns=item.prompt_turns,
            reference_turns=item.reference_turns,
            output_turns=item.output_turns,
            rubric=item.rubric,
        )
        items.setdefault(key, item)
        return key

    def score_items(self, items: dict[str, Item]) -> dict[str, Score | JudgeError]:
        """Score every item in one backend batch."""
        if not items:
            return {}
        keys = list(items)
        rendered = each([items[k] for k in keys], self.render)
        if self.options.via == "generate":
            answers = self.complete_all(rendered)
        else:
            answers = call_on_ok(
                rendered, lambda ok: self.backend.label_logprobs([r.prompt for r in ok], list(POINTWISE_LABELS))
            )
        return {key: self._score(answer, r) for key, answer, r in zip(keys, answers, rendered, strict=True)}

    def render(self, item: Item) -> Rendered:
        return render_pointwise(
            item.prompt_turns,
            item.output_turns,
            rubric=item.rubric,
            reference_turns=item.reference_turns,
            style=self.options.prompt_style,
            mode="generate" if self.options.via == "generate" else "logprob",
            budget=self.options.max_output_tokens,
            count_tokens=self.count_tokens,
        )

    def _score(
        self, answer: Completion | LabelScores | JudgeError, rendered: Rendered | JudgeError
    ) -> Score | JudgeError:
        if isinstance(answer, JudgeError):
            return answer
        assert isinstance(rendered, Rendered)  # an error in rendering never reaches the backend
        try:
            if isinstance(answer, LabelScores):
                p_good, _ = label_probability(answer, *POINTWISE_LABELS)
                return Score(
                    p_good,
                    "probability",
                    raw=repr(answer.logprobs),
                    truncated=rendered.truncated,
                    prompt_tokens=answer.prompt_tokens,
                    latency_s=answer.latency_s,
                    cost_usd=answer.cost_usd,
                )
            grade = parse_score(self.answer_text(answer))
        except JudgeError as exc:
            return exc
        return Score(
            grade,
            "graded",
            raw=answer.text,
            truncated=rendered.truncated,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            latency_s=answer.latency_s,
            cost_usd=answer.cost_usd,
        )

    def _verdict(
        self, score_a: Score | JudgeError, score_b: Score | JudgeError, billed: Sequence[Score | JudgeError]
    ) -> Verdict | JudgeError:
        for score in (score_a, score_b):
            if isinstance(score, JudgeError):
                return score
        assert isinstance(score_a, Score) and isinstance(score_b, Score)
        spent = [s for s in billed if isinstance(s, Score)]
        prob_a = sigmoid(strength(score_a) - strength(score_b))
        winner = winner_from_prob(prob_a, self.options.tie_margin)
        return Verdict(
            winner=winner,
            prob_a=prob_a,
            label=label_for_winner(winner),
            raw=f"score_a={score_a.value:g} score_b={score_b.value:g}",
            prompt_tokens=sum(s.prompt_tokens for s in spent),
            completion_tokens=sum(s.completion_tokens for s in spent),
            latency_s=sum((s.latency_s for s in spent), 0.0),
            truncated=score_a.truncated or score_b.truncated,
            cost_usd=sum((s.cost_usd for s in spent), 0.0),
            extra={"score_a": score_a.value, "score_b": score_b.value, "scores_computed": len(spent)},
        )
