"""Anchor screens: judge each candidate anchor against the models on a few prompts, rank the anchors by
informativeness ("Mediocrity is the key for LLM as a Judge Anchor Selection": the share of (prompt, pair
of models) cases where the two models get different verdicts against the anchor; about 10 prompts
predict the full value with r > 0.86).

A screen is one small anchor tournament per candidate, named ``anchor screen <tag>: <candidate>``, on
the same sample of prompts that every model answered; they are opened through the one front door
(``lifecycle.open_tournament``), so each has its estimate before anything runs (``start=False`` keeps
them as drafts: the cost is shown first). ``quality.screened_anchors`` reads the finished ones back, and the
anchor suggestion uses them.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

from django.db.models import Count

from . import estimates, lifecycle
from .models import Prompt, Tournament
from .quality import SCREEN_PREFIX

SCREEN_PROMPTS = 10


def screen_anchors(*, models: Sequence[str], judge: str | int, prompts: int = SCREEN_PROMPTS, dataset: str = "",
                   seed: int = 0, start: bool = False) -> list[tuple[Tournament, estimates.Estimate]]:
    """One anchor tournament per candidate on ``prompts`` prompts every model answered (drafts unless
    ``start``). Raises TournamentError for a bad request, before anything is created."""
    chosen = _sample(models, prompts, dataset, seed)
    tag = hashlib.sha256(repr((sorted(models), str(judge), chosen)).encode()).hexdigest()[:8]
    return [lifecycle.open_tournament(name=f"{SCREEN_PREFIX} {tag}: {candidate}", schedule="anchor",
                                      models=list(models), judge=judge, anchor=candidate, start=start,
                                      prompts=lifecycle.PromptSelection(ids=chosen))
            for candidate in sorted(models)]


def _sample(models: Sequence[str], prompts: int, dataset: str, seed: int) -> list[str]:
    answered = (Prompt.objects.filter(outputs__competitor__name__in=list(models))
                .annotate(n=Count("outputs__competitor", distinct=True)).filter(n=len(set(models))))
    if dataset:
        answered = answered.filter(dataset__name=dataset)
    ids = sorted(answered.values_list("external_id", flat=True))
    return sorted(random.Random(seed).sample(ids, min(prompts, len(ids))))
