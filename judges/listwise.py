"""Listwise judging: k = 2..8 answers to one prompt in one judge call (FIRST-style), several
permutations averaged against position bias, turned into pairwise evidence for every pair.

The candidates are shown labelled ``A``, ``B``, ... and the judge is asked for a ranking, best first.

- ``via="logprob"`` (FIRST: "Faster Improved Listwise Reranking with Single Token Decoding"): the
  ranking is read from the log-probabilities of the *first* label the judge would write, one
  forward pass and no decoding (transformers; OpenAI-compatible servers with ``logprobs``).
- ``via="generate"``: the ranking is generated and parsed ("C > A > B"), for backends without
  log-probabilities.

Position bias: each group is judged under ``permutations`` orders of its candidates (the labels
stay ``A``, ``B``, ... in display order, so candidates and labels are permuted together): evenly
spaced cyclic shifts (each candidate takes each position once when ``permutations == k``) or
seeded shuffles. A judge that always names label ``A`` then scores every candidate alike.

From scores to pairs (``GroupVerdict.pair_prob``):

- logprob: the first label's probability, averaged over permutations, is the probability that a
  candidate is ranked first. Under a Plackett-Luce model that is its worth ``w_i / sum(w)``, and
  Plackett-Luce's pairwise marginal is exactly Bradley-Terry: ``P(i beats j) = s_i / (s_i + s_j)``.
  So the pairwise evidence is BT-consistent with the ratings fitted downstream, and it needs only
  the one distribution FIRST reads (no second label, no decoding).
- generate: the share of permutations in which ``i`` was ranked above ``j`` (a candidate left out
  of a ranking shares the bottom; equal ranks count one half).

No Django imports; batch-first like every judge in this package.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from judges.base import Backend, Completion, ConfigurationError, JudgeError, LabelScores, Prompt, Rubric
from judges.prompts import (
    SEPARATOR,
    CountTokens,
    Rendered,
    exchange_block,
    reference_block,
    rubric_block,
    truncate_turns,
)

LISTWISE_VERSION = 1
LABELS = tuple("ABCDEFGH")
MIN_K, MAX_K = 2, len(LABELS)
Via = Literal["logprob", "generate"]
PermutationKind = Literal["cyclic", "shuffle"]


@dataclass(frozen=True)
class GroupTask:
    """``k`` answers to one prompt, in stored order; ``outputs[i]`` is candidate ``i``'s turns."""

    prompt_turns: tuple[str, ...]
    outputs: tuple[tuple[str, ...], ...]
    rubric: Rubric
    reference_turns: tuple[str, ...] | None = None
    key: str = ""

    def __post_init__(self) -> None:
        if not MIN_K <= len(self.outputs) <= MAX_K:
            raise ConfigurationError(f"a listwise group has {MIN_K} to {MAX_K} answers, got {len(self.outputs)}")
        n = len(self.prompt_turns)
        if n == 0 or any(len(o) != n for o in self.outputs):
            raise ConfigurationError("each answer needs as many assistant turns as the prompt has user turns")


@dataclass(frozen=True)
class Shown:
    """One permutation as judged: ``order[p]`` is the candidate shown at position ``p`` (label
    ``LABELS[p]``); ``label_probs`` the first label's probabilities (logprob) or ``ranking`` the
    parsed ranking as candidate indices best first (generate)."""

    order: tuple[int, ...]
    label_probs: dict[str, float] = field(default_factory=dict)
    ranking: tuple[int, ...] = ()
    raw: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"order": list(self.order), "label_probs": self.label_probs, "ranking": list(self.ranking),
                "raw": self.raw}


@dataclass(frozen=True)
class GroupVerdict:
    """What the judge said about a group, over all its permutations, in stored candidate order."""

    via: Via
    shown: tuple[Shown, ...]
    scores: tuple[float, ...]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    truncated: bool = False

    @property
    def calls(self) -> int:
        return len(self.shown)

    def pair_prob(self, i: int, j: int) -> float:
        """P(candidate i is better than candidate j)."""
        if self.via == "logprob":
            total = self.scores[i] + self.scores[j]
            return 0.5 if total <= 0 else self.scores[i] / total
        wins = [_above(s.ranking, i, j) for s in self.shown]
        return sum(wins) / len(wins)

    def as_dict(self) -> dict[str, Any]:
        return {"via": self.via, "version": LISTWISE_VERSION, "scores": list(self.scores),
                "permutations": [s.as_dict() for s in self.shown], "calls": self.calls}


def _above(ranking: Sequence[int], i: int, j: int) -> float:
    bottom = len(ranking)
    rank_i = ranking.index(i) if i in ranking else bottom
    rank_j = ranking.index(j) if j in ranking else bottom
    return 0.5 if rank_i == rank_j else float(rank_i < rank_j)


# --- permutations ------------------------------------------------------------------------------------

def permutations(k: int, n: int, *, kind: PermutationKind = "cyclic", seed: int = 0) -> list[tuple[int, ...]]:
    """``n`` display orders of ``k`` candidates, the first the stored order.

    Cyclic: shifts spaced ``k / n`` apart, so with ``n == k`` each candidate is shown once in each
    position and a constant position preference cancels exactly. Shuffle: seeded random orders.
    """
    if n < 1 or (kind == "cyclic" and n > k):
        raise ConfigurationError(f"permutations must be 1..k ({k}) for cyclic shifts, got {n}")
    if kind == "cyclic":
        shifts = [round(step * k / n) % k for step in range(n)]
        return [tuple((p + shift) % k for p in range(k)) for shift in shifts]
    if kind != "shuffle":
        raise ConfigurationError(f"permutation kind must be 'cyclic' or 'shuffle', got {kind!r}")
    rng = random.Random(seed)
    orders = [tuple(range(k))]
    while len(orders) < n:
        order = list(range(k))
        rng.shuffle(order)
        orders.append(tuple(order))
    return orders


# --- prompts -------------------------------------------------------------------------------------------

LISTWISE_SYSTEM = (
    "You rank answers written by AI assistants for the same user, best first. Weigh substance over "
    "style and length: extra text only counts when it helps. The order the answers are shown in is "
    "random, so ignore position. A response that states wrong facts or ignores the request is worse "
    "than a short correct one."
)
LISTWISE_ASK = (
    "Rank all {k} responses from best to worst. Reply with their letters only, best first, separated "
    "by '>', for example: {example}"
)
_EXAMPLE_QUESTION = "What is the capital of Australia?"
_EXAMPLE_ANSWERS = ("Sydney is the capital of Australia.", "Australia's capital is Canberra.", "Canberra.")
_EXAMPLE_RANKING = "B > C > A"


def _tag(position: int) -> str:
    return f"response_{LABELS[position]}"


def render_listwise(
    task: GroupTask, order: Sequence[int], *, style: str, budget: int | None, count_tokens: CountTokens
) -> Rendered:
    """The prompt for one permutation: the candidate ``order[p]`` shown as ``[LABELS[p]]``."""
    k = len(order)
    cut_any = False
    shown: dict[str, tuple[str, ...]] = {}
    for position, candidate in enumerate(order):
        turns, cut = truncate_turns(task.outputs[candidate], budget, count_tokens)
        shown[_tag(position)] = turns
        cut_any = cut_any or cut
    example = " > ".join(LABELS[p] for p in reversed(range(k)))
    ask = LISTWISE_ASK.format(k=k, example=example)
    blocks = [rubric_block(task.rubric), reference_block(task.reference_turns),
              exchange_block(task.prompt_turns, shown), ask]
    if style == "chat":
        user = "\n\n".join(b for b in blocks if b)
        return Rendered(Prompt(messages=({"role": "system", "content": LISTWISE_SYSTEM},
                                         {"role": "user", "content": user})), cut_any)
    worked = exchange_block((_EXAMPLE_QUESTION,), {_tag(p): (a,) for p, a in enumerate(_EXAMPLE_ANSWERS)})
    header = "\n\n".join([LISTWISE_SYSTEM, blocks[0], LISTWISE_ASK.format(k="the", example=_EXAMPLE_RANKING)])
    case = "\n\n".join(b for b in (blocks[1], blocks[2], "Ranking:") if b)
    text = f"\n{SEPARATOR}\n".join([header, f"{worked}\n\nRanking: {_EXAMPLE_RANKING}", case])
    return Rendered(Prompt(text=text), cut_any)


_RANK_LINE = re.compile(r"^.*[A-H]\s*>\s*[A-H].*$", re.MULTILINE)
_LETTER = re.compile(r"(?<![A-Za-z])([A-H])(?![A-Za-z])")


def parse_ranking(text: str, k: int) -> tuple[int, ...]:
    """Positions best first from a generated ranking ("C > A > B"); the last ranking line counts.
    A reply naming no valid label is a retryable ``JudgeError``, never a silent tie."""
    lines = _RANK_LINE.findall(text)
    source = lines[-1] if lines else text.strip().splitlines()[0] if text.strip() else ""
    positions: list[int] = []
    for letter in _LETTER.findall(source):
        position = LABELS.index(letter)
        if position < k and position not in positions:
            positions.append(position)
    if not positions:
        raise JudgeError(f"no ranking of labels A..{LABELS[k - 1]} in the judge's reply: {text[:200]!r}",
                         retryable=True)
    return tuple(positions)


# --- the judge -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ListwiseOptions:
    via: Via = "logprob"
    permutations: int = 2
    permutation_kind: PermutationKind = "cyclic"
    seed: int = 0
    prompt_style: str = "chat"
    max_output_tokens: int | None = 2048
    max_new_tokens: int = 64


class ListwiseJudge:
    """Judges groups: ``judge_groups(tasks)`` returns a ``GroupVerdict`` or ``JudgeError`` per group.

    Every permutation of every group goes to the backend in one batch.
    """

    def __init__(self, backend: Backend, *, options: ListwiseOptions | None = None):
        self.backend = backend
        self.options = options or ListwiseOptions()

    def judge_groups(self, tasks: Sequence[GroupTask]) -> list[GroupVerdict | JudgeError]:
        if not tasks:
            return []
        o = self.options
        plans = [permutations(len(t.outputs), min(o.permutations, len(t.outputs)) if o.permutation_kind == "cyclic"
                              else o.permutations, kind=o.permutation_kind, seed=o.seed) for t in tasks]
        rendered = [[render_listwise(t, order, style=o.prompt_style, budget=o.max_output_tokens,
                                     count_tokens=self.backend.count_tokens) for order in plan]
                    for t, plan in zip(tasks, plans, strict=True)]
        flat = [r.prompt for group in rendered for r in group]
        try:
            if o.via == "logprob":
                answers: list[Any] = self.backend.label_logprobs(flat, list(LABELS[: max(len(t.outputs)
                                                                                           for t in tasks)]))
            else:
                answers = self.backend.complete(flat, max_tokens=o.max_new_tokens)
        except JudgeError as exc:
            return [exc] * len(tasks)
        results: list[GroupVerdict | JudgeError] = []
        start = 0
        for task, plan, group in zip(tasks, plans, rendered, strict=True):
            mine = answers[start:start + len(plan)]
            start += len(plan)
            results.append(self._verdict(task, plan, group, mine))
        return results

    def _verdict(self, task: GroupTask, plan, rendered, answers) -> GroupVerdict | JudgeError:
        errors = [a for a in answers if isinstance(a, JudgeError)]
        if errors:
            return errors[0]
        k = len(task.outputs)
        try:
            shown = tuple(self._shown(order, answer, k) for order, answer in zip(plan, answers, strict=True))
        except JudgeError as exc:
            return exc
        scores = _scores(shown, k) if self.options.via == "logprob" else _borda(shown, k)
        tokens = [(getattr(a, "prompt_tokens", 0), getattr(a, "completion_tokens", 0)) for a in answers]
        return GroupVerdict(
            via=self.options.via, shown=shown, scores=scores,
            prompt_tokens=sum(p for p, _ in tokens), completion_tokens=sum(c for _, c in tokens),
            latency_s=sum(a.latency_s for a in answers), cost_usd=sum(a.cost_usd for a in answers),
            truncated=any(r.truncated for r in rendered),
        )

    def _shown(self, order: tuple[int, ...], answer: LabelScores | Completion, k: int) -> Shown:
        if isinstance(answer, LabelScores):
            return Shown(order, label_probs=first_label_probs(answer, k))
        positions = parse_ranking(answer.text, k)
        return Shown(order, ranking=tuple(order[p] for p in positions), raw=answer.text)


def first_label_probs(scores: LabelScores, k: int) -> dict[str, float]:
    """The first label's distribution renormalised over the ``k`` labels in play."""
    probs = {label: math.exp(scores.logprobs.get(label, -math.inf)) for label in LABELS[:k]}
    mass = sum(probs.values())
    if not mass > 0:
        raise JudgeError(f"none of the labels A..{LABELS[k - 1]} among the judge's next-token candidates",
                         retryable=True)
    return {label: p / mass for label, p in probs.items()}


def _scores(shown: Sequence[Shown], k: int) -> tuple[float, ...]:
    """Each candidate's first-place probability, averaged over the permutations it was judged in."""
    totals = [0.0] * k
    for s in shown:
        for position, candidate in enumerate(s.order):
            totals[candidate] += s.label_probs[LABELS[position]]
    return tuple(t / len(shown) for t in totals)


def _borda(shown: Sequence[Shown], k: int) -> tuple[float, ...]:
    """For display only with generated rankings: mean share of the others each candidate beat."""
    if k < 2:
        return (1.0,) * k
    return tuple(sum(_above(s.ranking, i, j) for s in shown for j in range(k) if j != i) / (len(shown) * (k - 1))
                 for i in range(k))
