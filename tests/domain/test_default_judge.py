"""The real default judge (Gemma 3 270M on the CPU) deciding a match through the arena."""

import pytest

from arena.lifecycle import create_tournament
from arena.models import JudgeCacheEntry, JudgeConfig, Judgment
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_the_default_judge_decides_a_match_and_the_arena_keeps_every_number():
    competitors = factories.prompts_with_outputs({"brief": 3, "thorough": 25}, prompts=1)
    tournament = create_tournament(name="real", judge_config=JudgeConfig.objects.get(name="default"),
                                   competitors=competitors, schedule="round_robin")
    match = tournament.matches.get()
    assert factories.judge(match_ids=[match.pk]).done == [match.pk]
    judgment = Judgment.objects.get(match=match)
    assert judgment.winner in {"a", "b", "tie"} and 0.0 <= judgment.prob_a <= 1.0
    assert judgment.forward["prob_a"] is not None and judgment.backward["prob_a"] is not None
    # Pairwise logprob asks in both orders and records whether they agreed.
    assert judgment.consistent in {True, False}
    assert judgment.prompt_tokens > 0 and judgment.latency_s > 0
    # Each order's verdict is stored once, so judging the same pair again costs nothing.
    assert JudgeCacheEntry.objects.exclude(fingerprint__startswith="score:").count() == 2
