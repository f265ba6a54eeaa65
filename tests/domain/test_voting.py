"""Blind battles and votes: tickets, integrity checks, pair choice, the admin's guard."""

import random
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from arena import voting
from arena.models import BattleTicket, HumanVote, LeaderboardSnapshot
from tests import factories

pytestmark = pytest.mark.django_db

ALICE = voting.Voter(session_key="alice-session", ip="10.0.0.1")
BOB = voting.Voter(session_key="bob-session", ip="10.0.0.2")
ANY = voting.BattleFilter()


@pytest.fixture(autouse=True)
def voting_settings(settings):
    settings.ARENA_VOTE_MIN_SECONDS = 2
    settings.ARENA_VOTES_PER_MINUTE_SESSION = 1000
    settings.ARENA_VOTES_PER_MINUTE_IP = 1000
    from django.core.cache import cache

    cache.clear()
    return settings


@pytest.fixture
def arena():
    return factories.prompts_with_outputs({"m1": 3, "m2": 5, "m3": 8}, prompts=2)


def shown_long_ago(ticket: BattleTicket, seconds: float = 10) -> BattleTicket:
    BattleTicket.objects.filter(pk=ticket.pk).update(issued_at=timezone.now() - timedelta(seconds=seconds))
    ticket.refresh_from_db()
    return ticket


def test_a_battle_is_two_outputs_of_different_competitors_on_one_prompt(arena):
    for seed in range(20):
        ticket = voting.issue_ticket(voter=ALICE, battle_filter=ANY, rng=random.Random(seed))
        left, right = ticket.output_left, ticket.output_right
        assert left.pk != right.pk and left.competitor_id != right.competitor_id
        assert left.prompt_id == right.prompt_id == ticket.prompt_id


def test_a_vote_records_the_left_output_as_a_and_marks_the_leaderboards_stale(arena):
    LeaderboardSnapshot.objects.create(key="k", params={}, payload={})
    ticket = shown_long_ago(voting.issue_ticket(voter=ALICE, battle_filter=ANY))
    outcome = voting.record_vote(token=ticket.token, choice="b", voter=ALICE)
    vote = HumanVote.objects.get()
    assert (vote.output_a_id, vote.output_b_id, vote.winner) == (ticket.output_left_id, ticket.output_right_id, "b")
    assert vote.session_key == "alice-session" and vote.ticket_id == ticket.pk
    assert outcome.ticket.used_at is not None
    assert LeaderboardSnapshot.objects.get().stale


def test_a_ticket_takes_one_vote(arena):
    ticket = shown_long_ago(voting.issue_ticket(voter=ALICE, battle_filter=ANY))
    voting.record_vote(token=ticket.token, choice="a", voter=ALICE)
    with pytest.raises(voting.VoteRejected, match="one vote") as rejected:
        voting.record_vote(token=ticket.token, choice="b", voter=ALICE)
    assert rejected.value.status == 409
    assert list(HumanVote.objects.values_list("winner", flat=True)) == ["a"]


def test_a_vote_faster_than_the_minimum_time_is_rejected_and_changes_nothing(arena):
    ticket = voting.issue_ticket(voter=ALICE, battle_filter=ANY)
    with pytest.raises(voting.VoteRejected, match="too fast"):
        voting.record_vote(token=ticket.token, choice="a", voter=ALICE)
    assert not HumanVote.objects.exists()
    ticket.refresh_from_db()
    assert ticket.used_at is None
    # Once the voter has had time to read, the same ticket still takes its vote.
    voting.record_vote(token=shown_long_ago(ticket).token, choice="a", voter=ALICE)


def test_expired_unknown_and_someone_elses_tickets_are_rejected(arena, settings):
    ticket = shown_long_ago(voting.issue_ticket(voter=ALICE, battle_filter=ANY))
    with pytest.raises(voting.VoteRejected, match="someone else"):
        voting.record_vote(token=ticket.token, choice="a", voter=BOB)
    with pytest.raises(voting.VoteRejected, match="unknown"):
        voting.record_vote(token="made-up", choice="a", voter=ALICE)
    with pytest.raises(voting.VoteRejected, match="unknown choice"):
        voting.record_vote(token=ticket.token, choice="left", voter=ALICE)
    settings.ARENA_VOTE_TICKET_SECONDS = 5
    with pytest.raises(voting.VoteRejected, match="expired"):
        voting.record_vote(token=ticket.token, choice="a", voter=ALICE)
    assert not HumanVote.objects.exists()


def test_votes_over_the_per_session_rate_are_rejected(arena, settings):
    settings.ARENA_VOTES_PER_MINUTE_SESSION = 2
    tickets = [shown_long_ago(voting.issue_ticket(voter=ALICE, battle_filter=ANY)) for _ in range(3)]
    for ticket in tickets[:2]:
        voting.record_vote(token=ticket.token, choice="tie", voter=ALICE)
    with pytest.raises(voting.VoteRejected, match="too many votes") as rejected:
        voting.record_vote(token=tickets[2].token, choice="tie", voter=ALICE)
    assert rejected.value.status == 429 and HumanVote.objects.count() == 2


def test_a_voter_never_meets_a_pair_they_judged_and_runs_out_cleanly(arena):
    # 2 prompts x 3 pairs of competitors: six battles, then none.
    seen = set()
    for _ in range(6):
        ticket = shown_long_ago(voting.issue_ticket(voter=ALICE, battle_filter=ANY))
        key = (ticket.prompt_id, frozenset((ticket.output_left_id, ticket.output_right_id)))
        assert key not in seen
        seen.add(key)
        voting.record_vote(token=ticket.token, choice="a", voter=ALICE)
    with pytest.raises(voting.NoBattle):
        voting.issue_ticket(voter=ALICE, battle_filter=ANY)
    # Another voter still gets battles.
    assert voting.issue_ticket(voter=BOB, battle_filter=ANY)


def test_filters_limit_battles_to_the_chosen_models_dataset_and_category(arena):
    factories.prompts_with_outputs({"m1": 3, "m2": 5}, prompts=1, dataset="other", category="math")
    only = voting.BattleFilter(models=("m1", "m3"))
    for seed in range(10):
        ticket = voting.issue_ticket(voter=ALICE, battle_filter=only, rng=random.Random(seed))
        names = {ticket.output_left.competitor.name, ticket.output_right.competitor.name}
        assert names == {"m1", "m3"}
    math = voting.BattleFilter(category="math")
    assert voting.issue_ticket(voter=ALICE, battle_filter=math).prompt.category == "math"
    with pytest.raises(voting.NoBattle):
        voting.issue_ticket(voter=ALICE, battle_filter=voting.BattleFilter(dataset="nope"))


def test_pair_choice_favours_pairs_with_few_human_votes(arena):
    m1, m2, m3 = arena
    outputs = {o.competitor_id: o for o in factories.Output.objects.filter(prompt__external_id="set-0")}
    HumanVote.objects.bulk_create([HumanVote(prompt_id=outputs[m1.pk].prompt_id, output_a=outputs[m1.pk],
                                             output_b=outputs[m2.pk], winner="a")] * 50)
    rng = random.Random(0)
    counts = {}
    for _ in range(300):
        a, b = voting.choose_pair(voter=BOB, battle_filter=ANY, rng=rng)
        pair = frozenset((a.competitor_id, b.competitor_id))
        counts[pair] = counts.get(pair, 0) + 1
    assert counts.get(frozenset((m1.pk, m2.pk)), 0) < counts[frozenset((m1.pk, m3.pk))] / 5


def test_the_admin_cannot_save_an_impossible_vote(arena):
    outputs = list(factories.Output.objects.select_related("prompt").order_by("prompt_id", "competitor_id"))
    same_prompt = [o for o in outputs if o.prompt_id == outputs[0].prompt_id]
    other_prompt = next(o for o in outputs if o.prompt_id != outputs[0].prompt_id)
    cases = {
        "one output twice": (same_prompt[0], same_prompt[0]),
        "outputs of another prompt": (same_prompt[0], other_prompt),
    }
    for why, (a, b) in cases.items():
        with pytest.raises(ValidationError):
            HumanVote(prompt=a.prompt, output_a=a, output_b=b, winner="a").full_clean()
        assert why
    twin = factories.Output(competitor=same_prompt[0].competitor, prompt=other_prompt.prompt, turns=["x"])
    twin.pk = -1  # never saved: only its competitor and prompt matter to the check
    with pytest.raises(ValidationError, match="different competitors"):
        HumanVote(prompt=other_prompt.prompt, output_a=other_prompt, output_b=twin, winner="a").clean()
    HumanVote(prompt=a.prompt, output_a=same_prompt[0], output_b=same_prompt[1], winner="a").full_clean()
