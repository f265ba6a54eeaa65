"""The listwise protocol as a judge configuration's protocol (see ``judges.listwise``).

``judge_groups`` judges groups of 2..8 answers to one prompt (the groupwise tournament schedule);
``judge_many`` judges plain pairs as groups of two, so a listwise judge also plays every pairwise
schedule (its permutations then do what both orders do for the other protocols).

Spec options: ``via`` (``logprob``, default, or ``generate``), ``permutations`` (default 2),
``permutation_kind`` (``cyclic``, default, or ``shuffle``), ``seed`` and ``group_size`` (2..8,
default 4: how many answers the groupwise schedule puts in one group).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from judges.base import Backend, ConfigurationError, JudgeError, PairTask, Rubric, Verdict
from judges.listwise import MAX_K, MIN_K, GroupTask, GroupVerdict, ListwiseJudge, ListwiseOptions
from judges.parsing import label_for_winner, winner_from_prob
from judges.prompts import DEFAULT_RUBRIC
from judges.protocols.common import JudgeOptions, ProtocolJudge

LISTWISE_SPEC_KEYS = ("permutations", "permutation_kind", "seed", "group_size")
DEFAULT_GROUP_SIZE = 4


@dataclass(frozen=True)
class ListwiseSettings:
    permutations: int = 2
    permutation_kind: str = "cyclic"
    seed: int = 0
    group_size: int = DEFAULT_GROUP_SIZE


def listwise_settings(spec: Mapping[str, Any]) -> ListwiseSettings:
    """The listwise keys of a judge spec, validated (``ConfigurationError`` names the bad one)."""
    values = {key: spec[key] for key in LISTWISE_SPEC_KEYS if key in spec}
    for key in ("permutations", "seed", "group_size"):
        if key in values and (isinstance(values[key], bool) or not isinstance(values[key], int)):
            raise ConfigurationError(f"{key} must be an integer, got {values[key]!r}")
    settings = ListwiseSettings(**values)
    if settings.permutation_kind not in ("cyclic", "shuffle"):
        raise ConfigurationError(f"permutation_kind must be 'cyclic' or 'shuffle', got {settings.permutation_kind!r}")
    if not 1 <= settings.permutations <= 24:
        raise ConfigurationError(f"permutations must be from 1 to 24, got {settings.permutations}")
    if not MIN_K <= settings.group_size <= MAX_K:
        raise ConfigurationError(f"group_size must be from {MIN_K} to {MAX_K}, got {settings.group_size}")
    if not 0 <= settings.seed <= 2**31:
        raise ConfigurationError("seed must be from 0 to 2**31")
    return settings


class ListwiseProtocolJudge(ProtocolJudge):
    protocol = "listwise"

    def __init__(self, backend: Backend, *, options: JudgeOptions | None = None, rubric: Rubric = DEFAULT_RUBRIC,
                 settings: ListwiseSettings | None = None):
        super().__init__(backend, options=options or JudgeOptions(via="logprob"), rubric=rubric)
        self.settings = settings or ListwiseSettings()
        self.core = ListwiseJudge(backend, options=ListwiseOptions(
            via=self.options.via, permutations=self.settings.permutations,
            permutation_kind=self.settings.permutation_kind,  # type: ignore[arg-type]
            seed=self.settings.seed, prompt_style=self.options.prompt_style,
            max_output_tokens=self.options.max_output_tokens, max_new_tokens=self.options.max_new_tokens))

    def judge_groups(self, tasks: Sequence[GroupTask]) -> list[GroupVerdict | JudgeError]:
        return self.core.judge_groups(tasks)

    def _judge_many(self, tasks: list[PairTask]) -> list[Verdict | JudgeError]:
        groups = [GroupTask(t.prompt_turns, (t.output_a_turns, t.output_b_turns), t.rubric, t.reference_turns, t.key)
                  for t in tasks]
        return [g if isinstance(g, JudgeError) else pair_verdict(g, 0, 1, self.options.tie_margin)
                for g in self.judge_groups(groups)]


def pair_verdict(group: GroupVerdict, i: int, j: int, tie_margin: float, *, share: bool = True,
                 names: Sequence[str] = ()) -> Verdict:
    """The pairwise evidence a group verdict gives about candidates ``i`` (as A) and ``j`` (as B).

    ``share``: whether this pair carries the group's accounting (tokens, latency, calls); a group's
    cost is charged to one of its pairs so that sums over matches stay right.
    """
    prob_a = group.pair_prob(i, j)
    winner = winner_from_prob(prob_a, tie_margin)
    listwise = {**group.as_dict(), "pair": [i, j], "group": list(names), "charged": share}
    return Verdict(
        winner=winner, prob_a=prob_a, label=label_for_winner(winner),
        raw="\n".join(s.raw for s in group.shown if s.raw),
        prompt_tokens=group.prompt_tokens if share else 0,
        completion_tokens=group.completion_tokens if share else 0,
        latency_s=group.latency_s if share else 0.0,
        cost_usd=group.cost_usd if share else 0.0,
        truncated=group.truncated,
        extra={"listwise": listwise, "scores_computed": group.calls if share else 0},
    )
