"""Judging protocols: how pairwise tasks become backend calls and backend answers become verdicts.

- ``logprob``: one forward pass, P(A) vs P(B) as the next token; no generation.
- ``generate``: a short rationale and a graded verdict (A>>B .. B>>A), parsed from text.
- ``per_criterion``: a verdict per rubric criterion, combined by the rubric's weights.
- ``pointwise``: each output scored alone (cached), the pair decided by the score difference.
- ``listwise``: k answers in one call, read from the first label's probabilities or a generated
  ranking, over several permutations (``judges.listwise``); a pair is a group of two.
- ``pair_criteria``: the judge writes 3-8 typed criteria for the pair, judges each in both orders, and
  code aggregates them (a fatal criterion decides alone, else weights 5/2/1; ``judges.pair_criteria``).
- ``likelihood`` / ``pmi``: each output's mean per-token log-likelihood given the prompt (or its
  pointwise mutual information with the prompt); for base models that cannot follow instructions.
"""

from judges.protocols.common import JudgeOptions, ProtocolJudge
from judges.protocols.generate import GenerateJudge
from judges.protocols.likelihood import LikelihoodJudge, PmiJudge
from judges.protocols.listwise import ListwiseProtocolJudge
from judges.protocols.logprob import LogprobJudge
from judges.protocols.pair_criteria import PairCriteriaJudge
from judges.protocols.per_criterion import PerCriterionJudge
from judges.protocols.pointwise import PointwiseJudge

PROTOCOLS: dict[str, type[ProtocolJudge]] = {
    "logprob": LogprobJudge,
    "generate": GenerateJudge,
    "per_criterion": PerCriterionJudge,
    "pointwise": PointwiseJudge,
    "likelihood": LikelihoodJudge,
    "pmi": PmiJudge,
    "listwise": ListwiseProtocolJudge,
    "pair_criteria": PairCriteriaJudge,
}

__all__ = [
    "PROTOCOLS",
    "GenerateJudge",
    "JudgeOptions",
    "LikelihoodJudge",
    "ListwiseProtocolJudge",
    "LogprobJudge",
    "PairCriteriaJudge",
    "PerCriterionJudge",
    "PmiJudge",
    "PointwiseJudge",
    "ProtocolJudge",
]
