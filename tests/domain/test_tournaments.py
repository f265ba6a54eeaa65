"""Tournaments and judging through the domain functions, with the deterministic fake judge."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.utils import timezone

from arena import judging
from arena.lifecycle import create_tournament
from arena.models import JudgeCacheEntry, Judgment, Match, Tournament
from arena.tournaments import TournamentError
from tests import factories

pytestmark = pytest.mark.django_db

# The fake judge prefers longer answers, so these lengths fix every winner.
MODELS = {"small": 5, "medium": 20, "large": 60, "huge": 120}


@pytest.fixture
def competitors():
    return factories.prompts_with_outputs(MODELS, prompts=3)


def test_anchor_tournament_pits_everyone_against_the_anchor_on_every_prompt(competitors):
    anchor = competitors[1]
    tournament = create_tournament(name="t", judge_config=factories.fake_judge(), competitors=competitors,
                                   schedule="anchor", anchor=anchor)
    matches = tournament.matches.all()
    assert matches.count() == 3 * 3
    assert all(anchor.pk in (m.competitor_a_id, m.competitor_b_id) for m in matches)
    assert tournament.status == "running" == Tournament.objects.get(pk=tournament.pk).status  # refreshed


def test_round_robin_tournament_has_every_pair_on_every_prompt(competitors):
    tournament = create_tournament(name="rr", judge_config=factories.fake_judge(), competitors=competitors,
                                   schedule="round_robin")
    assert tournament.matches.count() == 3 * 6


def test_a_judged_match_stores_both_orders_the_combined_verdict_and_accounting(competitors):
    small, large = competitors[0], competitors[2]
    tournament = create_tournament(name="t", judge_config=factories.fake_judge(), competitors=[small, large],
                                   schedule="anchor", anchor=small)
    match = tournament.matches.first()
    outcome = factories.judge(match_ids=[match.pk])
    assert outcome.done == [match.pk]
    judgment = Judgment.objects.get(match=match)
    large_is_a = match.competitor_a_id == large.pk
    assert judgment.winner == ("a" if large_is_a else "b")
    assert judgment.forward and judgment.backward
    assert judgment.forward["winner"] != judgment.backward["winner"]  # the same answer, shown in the other slot
    assert judgment.consistent is True
    assert judgment.prompt_tokens > 0
    assert Match.objects.get(pk=match.pk).status == "done"


def test_bracket_tournament_plays_down_to_one_winner_per_prompt(competitors):
    tournament = create_tournament(name="b", judge_config=factories.fake_judge(), competitors=competitors,
                                   schedule="bracket")
    assert tournament.matches.filter(round=1).count() == 3 * 2
    factories.judge_all(tournament)
    finals = tournament.matches.filter(round=2)
    assert finals.count() == 3
    huge = competitors[3]
    for final in finals.select_related("judgment"):
        winner = final.competitor_a_id if final.judgment.score_a >= 0.5 else final.competitor_b_id
        assert winner == huge.pk
    assert Tournament.objects.get(pk=tournament.pk).status == "finished"


def test_a_match_is_judged_once_even_if_enqueued_twice(competitors):
    tournament = create_tournament(name="t", judge_config=factories.fake_judge(), competitors=competitors[:2],
                                   schedule="anchor", anchor=competitors[0])
    ids = list(tournament.matches.values_list("pk", flat=True))
    factories.judge(match_ids=ids)
    second = factories.judge(match_ids=ids)
    assert second.done == []
    assert Judgment.objects.count() == len(ids)
    with pytest.raises(IntegrityError):
        Judgment.objects.create(match_id=ids[0], judge_config=tournament.judge_config, winner="a", score_a=1,
                                forward={})


def test_a_match_held_by_a_dead_worker_is_judged_after_its_lease(competitors, settings):
    tournament = create_tournament(name="t", judge_config=factories.fake_judge(), competitors=competitors[:2],
                                   schedule="anchor", anchor=competitors[0])
    match = tournament.matches.first()
    assert judging.claim_matches([match.pk]) == [match.pk]  # a worker claims it, then dies
    assert factories.judge(match_ids=[match.pk]).done == []  # still leased
    Match.objects.filter(pk=match.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    assert factories.judge(match_ids=[match.pk]).done == [match.pk]
    assert Match.objects.get(pk=match.pk).attempts == 2


def test_identical_comparisons_are_served_from_the_judge_cache(competitors):
    config = factories.fake_judge()
    first = create_tournament(name="one", judge_config=config, competitors=competitors[:2], schedule="anchor",
                              anchor=competitors[0])
    factories.judge_all(first)
    cached = JudgeCacheEntry.objects.count()
    assert cached > 0
    second = create_tournament(name="two", judge_config=config, competitors=competitors[:2], schedule="anchor",
                               anchor=competitors[0])
    factories.judge_all(second)
    assert JudgeCacheEntry.objects.count() == cached
    again = Judgment.objects.filter(match__tournament=second)
    assert again.count() == second.matches.count()
    assert all(j.prompt_tokens == 0 and j.forward["extra"]["cached"] for j in again)


def test_retryable_judge_errors_put_the_match_back_and_permanent_ones_fail_it(competitors):
    flaky = factories.fake_judge(name="flaky", fail={"Question": "retryable"})
    tournament = create_tournament(name="t", judge_config=flaky, competitors=competitors[:2], schedule="anchor",
                                   anchor=competitors[0])
    ids = list(tournament.matches.values_list("pk", flat=True))
    outcome = factories.judge(match_ids=ids)
    assert sorted(outcome.retry) == sorted(ids)
    assert set(Match.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"pending"}
    last = factories.judge(match_ids=ids, final_attempt=True)
    assert sorted(last.failed) == sorted(ids)
    assert set(Match.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"failed"}
    assert not Judgment.objects.exists()


def test_bad_tournament_requests_are_refused(competitors):
    judge = factories.fake_judge()
    with pytest.raises(TournamentError, match="needs an anchor"):
        create_tournament(name="x", judge_config=judge, competitors=competitors, schedule="anchor")
    with pytest.raises(TournamentError, match="unknown schedule 'swiss'"):
        create_tournament(name="x", judge_config=judge, competitors=competitors, schedule="swiss")
    with pytest.raises(TournamentError, match="at least two"):
        create_tournament(name="x", judge_config=judge, competitors=competitors[:1], schedule="round_robin")


def test_adaptive_tournament_plays_rounds_of_new_informative_pairs(settings):
    settings.ARENA_ADAPTIVE_ROUNDS = 3
    competitors = factories.prompts_with_outputs(MODELS, prompts=6)
    tournament = create_tournament(name="ad", judge_config=factories.fake_judge(), competitors=competitors,
                                   schedule="adaptive")
    assert tournament.matches.count() == len(competitors)
    factories.judge_all(tournament)
    played = list(tournament.matches.values_list("round", "prompt_id", "competitor_a_id", "competitor_b_id"))
    assert {r for r, *_ in played} == {1, 2, 3}
    assert all(sum(1 for r, *_ in played if r == n) <= len(competitors) for n in (1, 2, 3))
    slots = [(p, min(a, b), max(a, b)) for _, p, a, b in played]
    assert len(slots) == len(set(slots))  # never the same pair on the same prompt twice
    assert Tournament.objects.get(pk=tournament.pk).status == "finished"


def test_failed_matches_can_be_run_again_and_succeed(competitors):
    tournament = create_tournament(name="t", judge_config=factories.fake_judge(), competitors=competitors,
                                   schedule="anchor", anchor=competitors[0])
    ids = list(tournament.matches.values_list("pk", flat=True))
    factories.judge(match_ids=ids[:3])
    # The endpoint was down for the rest: they ran out of retries.
    Match.objects.filter(pk__in=ids[3:]).update(status="failed", last_error="timeout")
    out = StringIO()
    call_command("rejudge", "t", "--failed", stdout=out)
    assert out.getvalue().startswith(f"{len(ids) - 3} failed match(es)")
    assert sorted(factories.judge(match_ids=ids).done) == sorted(ids[3:])
    assert Judgment.objects.filter(match__tournament=tournament).count() == len(ids)


def test_rejudging_under_another_judge_reuses_the_stored_outputs(competitors):
    first = create_tournament(name="t", judge_config=factories.fake_judge(), competitors=competitors,
                              schedule="round_robin")
    factories.judge_all(first)
    other = factories.fake_judge(name="shorter", preference="shorter")
    out = StringIO()
    call_command("rejudge", "t", "--judge", "shorter", stdout=out)
    second = Tournament.objects.get(judge_config=other)
    assert second.matches.count() == first.matches.count()
    assert set(second.matches.values_list("output_a_id", "output_b_id")) == set(
        first.matches.values_list("output_a_id", "output_b_id"))
    factories.judge_all(second)
    flipped = {(j.match.prompt_id, j.match.competitor_a_id): j.winner for j in Judgment.objects.filter(
        match__tournament=second).select_related("match")}
    original = {(j.match.prompt_id, j.match.competitor_a_id): j.winner for j in Judgment.objects.filter(
        match__tournament=first).select_related("match")}
    assert all(flipped[key] != original[key] for key in original)
    with pytest.raises(CommandError, match="no judge configuration 'nope'"):
        call_command("rejudge", "t", "--judge", "nope")
