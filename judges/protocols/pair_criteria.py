"""The pair-criteria protocol (Open Rubric System): the judge writes 3-8 criteria for the pair, typed
fatal / core / important / highlight; each criterion is then judged in both presentation orders,
and code aggregates (``judges.pair_criteria``): a fatal criterion decides alone, else the 5/2/1
weighted mean; a criterion counts for a side only when both orders name it.

Calls per pair: one generation (the criteria, written once from the stored order) and two per
criterion (``via="logprob"``, default: one forward pass each, "A or B" narrowed to the criterion;
``via="generate"``: a graded verdict each). Both presentation orders of a pair, as
``judges.both_orders`` asks for them, share that work: the second order's verdict is the same
verdict seen from the other side, and carries no calls of its own.

Every verdict keeps the criteria, the rejected lines and the per-criterion verdicts in
``extra["pair_criteria"]`` (stored order), for the match page.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

from judges.base import Completion, Criterion, CriterionResult, JudgeError, LabelScores, PairTask, Verdict, Winner
from judges.both_orders import unswap
from judges.pair_criteria import PairCriterion, ParsedCriteria, aggregate, both_orders_winner, parse_pair_criteria
from judges.parsing import label_for_winner, label_winner, parse_verdict_first, winner_from_prob
from judges.prompts import PAIR_CRITERIA_EXAMPLE, PAIR_LABELS, Rendered, render_pair_criteria, render_pairwise
from judges.protocols.common import ProtocolJudge, call_on_ok, each, label_probability

CRITERIA_MAX_NEW_TOKENS = 256  # eight lines of at most ~30 tokens
MAX_RAW_CHARS = 4000
_FLIP: dict[str, Winner] = {"a": "b", "b": "a", "tie": "tie"}


class Cell(NamedTuple):
    """One criterion judged in one presentation order: its winner there, and what it cost."""

    winner: Winner
    prob_a: float | None
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cost_usd: float


class PairCriteriaJudge(ProtocolJudge):
    protocol = "pair_criteria"
    default_max_new_tokens = CRITERIA_MAX_NEW_TOKENS

    def _judge_many(self, tasks: list[PairTask]) -> list[Verdict | JudgeError]:
        stored: dict[tuple, PairTask] = {}
        for task in tasks:
            stored.setdefault(_pair_key(task), task if task.order == "ab" else task.swapped())
        verdicts = dict(zip(stored, self._judge_pairs(list(stored.values())), strict=True))
        results: list[Verdict | JudgeError] = []
        charged: set[tuple] = set()
        for task in tasks:
            key = _pair_key(task)
            verdict = verdicts[key]
            if isinstance(verdict, Verdict):
                verdict = _seen_from(task, verdict, charge=key not in charged)
                charged.add(key)
            results.append(verdict)
        return results

    def _judge_pairs(self, pairs: list[PairTask]) -> list[Verdict | JudgeError]:
        """Each pair (stored order): write its criteria, judge each in both orders, aggregate."""
        rendered = each(pairs, self._render_criteria)
        written = self.complete_all(rendered)
        parsed = [w if isinstance(w, JudgeError) else _parse(self.answer_text(w)) for w in written]
        cells = [(i, criterion, order) for i, p in enumerate(parsed) if isinstance(p, ParsedCriteria)
                 for criterion in p.accepted for order in ("ab", "ba")]
        answers = self._judge_cells(pairs, cells)
        per_pair: dict[int, list] = {}
        for (i, criterion, order), answer in zip(cells, answers, strict=True):
            per_pair.setdefault(i, []).append((criterion, order, answer))
        return [
            p if isinstance(p, JudgeError) else self._verdict(written[i], p, per_pair.get(i, []))
            for i, p in enumerate(parsed)
        ]

    def _render_criteria(self, task: PairTask) -> Rendered:
        return render_pair_criteria(task, style=self.options.prompt_style, budget=self.options.max_output_tokens,
                                    count_tokens=self.count_tokens)

    def _judge_cells(self, pairs: list[PairTask], cells: list) -> list:
        """One batched backend call for every (pair, criterion, order): a winner in that order, or an error."""
        mode = "logprob" if self.options.via == "logprob" else "generate"

        def render(cell) -> Rendered:
            i, criterion, order = cell
            task = pairs[i] if order == "ab" else pairs[i].swapped()
            focus = Criterion(criterion.kind, criterion.text)
            return render_pairwise(task, style=self.options.prompt_style, mode=mode,
                                   budget=self.options.max_output_tokens, count_tokens=self.count_tokens, focus=focus)

        rendered = each(cells, render)
        if mode == "logprob":
            scores = call_on_ok(rendered, lambda ok: self.backend.label_logprobs([r.prompt for r in ok],
                                                                                 list(PAIR_LABELS)))
            return [s if isinstance(s, JudgeError) else self._by_prob(s) for s in scores]
        # A generated criterion verdict may be up to ~12 tokens; the reasons after it are not needed.
        completions = call_on_ok(rendered, lambda ok: self.backend.complete([r.prompt for r in ok], max_tokens=16))
        return [c if isinstance(c, JudgeError) else self._by_label(c) for c in completions]

    def _by_prob(self, scores: LabelScores) -> Cell | JudgeError:
        try:
            prob_a, _ = label_probability(scores, *PAIR_LABELS)
        except JudgeError as exc:
            return exc
        return Cell(winner_from_prob(prob_a, self.options.tie_margin), prob_a, scores.prompt_tokens, 0,
                    scores.latency_s, scores.cost_usd)

    def _by_label(self, completion: Completion) -> Cell | JudgeError:
        try:
            winner = label_winner(parse_verdict_first(self.answer_text(completion)))
        except JudgeError as exc:
            return exc
        return Cell(winner, None, completion.prompt_tokens, completion.completion_tokens, completion.latency_s,
                    completion.cost_usd)

    def _verdict(self, written: Completion, parsed: ParsedCriteria, judged: list) -> Verdict | JudgeError:
        outcomes: list[tuple[PairCriterion, Winner]] = []
        rows, results, cells = [], [], []
        for criterion in parsed.accepted:
            both = {order: answer for c, order, answer in judged if c is criterion}
            failed = [a for a in both.values() if isinstance(a, JudgeError)]
            if failed:
                return failed[0]
            first, second = both["ab"], both["ba"]
            cells += [first, second]
            forward, backward = first.winner, _FLIP[second.winner]  # the second order, in the stored order
            winner = both_orders_winner(forward, backward)
            outcomes.append((criterion, winner))
            prob = None if first.prob_a is None or second.prob_a is None else (first.prob_a + 1 - second.prob_a) / 2
            rows.append({"kind": criterion.kind, "text": criterion.text, "weight": criterion.weight,
                         "forward": forward, "backward": backward, "winner": winner, "prob_a": prob})
            results.append(CriterionResult(f"[{criterion.kind}] {criterion.text}", winner, prob, criterion.weight,
                                           label_for_winner(winner)))
        result = aggregate(outcomes, tie_margin=self.options.tie_margin)
        details = {"criteria": rows, "rejected": [{"line": line, "reason": why} for line, why in parsed.rejected],
                   "decided_by": result.decided_by, "via": self.options.via}
        return Verdict(
            winner=result.winner, prob_a=result.prob_a, label=label_for_winner(result.winner),
            criteria=tuple(results), rationale=_rationale(result.decided_by, outcomes),
            raw=written.text[:MAX_RAW_CHARS],
            prompt_tokens=written.prompt_tokens + sum(c.prompt_tokens for c in cells),
            completion_tokens=written.completion_tokens + sum(c.completion_tokens for c in cells),
            latency_s=written.latency_s + sum(c.latency_s for c in cells),
            cost_usd=written.cost_usd + sum(c.cost_usd for c in cells),
            extra={"pair_criteria": details, "scores_computed": 1 + len(cells)},
        )


def _parse(answer: str) -> ParsedCriteria | JudgeError:
    try:
        return parse_pair_criteria(answer, copied=[text for _, text in PAIR_CRITERIA_EXAMPLE])
    except JudgeError as exc:
        return exc


def _pair_key(task: PairTask) -> tuple:
    """The same for both presentation orders of one stored pair."""
    first, second = (task.output_a_turns, task.output_b_turns) if task.order == "ab" else (
        task.output_b_turns, task.output_a_turns)
    return (task.key, task.prompt_turns, task.reference_turns, first, second, task.rubric)


def _seen_from(task: PairTask, verdict: Verdict, *, charge: bool) -> Verdict:
    """The stored-order verdict in ``task``'s presentation order; only the first task of a pair
    carries its calls and tokens (both orders were judged together, once)."""
    shown = verdict if task.order == "ab" else unswap(verdict)
    if charge:
        return shown
    return replace(shown, prompt_tokens=0, completion_tokens=0, latency_s=0.0, cost_usd=0.0,
                   extra={**shown.extra, "scores_computed": 0})


def _rationale(decided_by: str, outcomes: list[tuple[PairCriterion, Winner]]) -> str:
    won = {side: sum(1 for _, w in outcomes if w == side) for side in ("a", "b", "tie")}
    return (f"Decided by {decided_by}. Of {len(outcomes)} criteria (each judged in both orders), the match's "
            f"first output won {won['a']}, its second {won['b']}; {won['tie']} tied or the orders disagreed.")
