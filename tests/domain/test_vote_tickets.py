"""One ticket per voter and battle (issue 13, item 6), and a bound on what anonymous voters make us write."""

import random
import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from arena import voting
from arena.models import BattleTicket, HumanVote
from tests import factories

pytestmark = pytest.mark.django_db

ALICE = voting.Voter(session_key="alice-session", ip="10.0.0.1")
BOB = voting.Voter(session_key="bob-session", ip="10.0.0.1")
PAIR = voting.BattleFilter(models=("m1", "m2"))


@pytest.fixture(autouse=True)
def voting_settings(settings):
    settings.ARENA_VOTE_MIN_SECONDS = 0
    settings.ARENA_VOTE_TICKETS_PER_HOUR_IP = 1000
    from django.core.cache import cache

    cache.clear()
    return settings


@pytest.fixture
def arena():
    return factories.prompts_with_outputs({"m1": 3, "m2": 5, "m3": 8}, prompts=2)


def battle(ticket: BattleTicket) -> tuple[int, frozenset]:
    return ticket.prompt_id, frozenset((ticket.output_left_id, ticket.output_right_id))


def test_asking_again_and_again_for_one_pair_never_makes_a_second_ticket_for_a_battle(arena):
    tickets = [voting.issue_ticket(voter=ALICE, battle_filter=PAIR, rng=random.Random(seed)) for seed in range(20)]
    # Two prompts: two battles of m1 and m2, so two tickets, each shown again and again.
    assert len({t.token for t in tickets}) == 2 == BattleTicket.objects.count()
    assert len({battle(t) for t in tickets}) == 2


def test_a_new_battle_comes_first_then_the_oldest_held_one_is_shown_again(arena):
    first = voting.issue_ticket(voter=ALICE, battle_filter=PAIR)
    second = voting.issue_ticket(voter=ALICE, battle_filter=PAIR)
    assert battle(first) != battle(second)
    again = voting.issue_ticket(voter=ALICE, battle_filter=PAIR)
    assert again.token == first.token and again.issued_at > first.issued_at
    assert voting.issue_ticket(voter=ALICE, battle_filter=PAIR).token == second.token


def test_a_voted_battle_is_never_issued_again_and_the_voter_runs_out_cleanly(arena):
    for _ in range(2):
        ticket = voting.issue_ticket(voter=ALICE, battle_filter=PAIR)
        voting.record_vote(token=ticket.token, choice="a", voter=ALICE)
    with pytest.raises(voting.NoBattle):
        voting.issue_ticket(voter=ALICE, battle_filter=PAIR)
    assert HumanVote.objects.count() == 2 == BattleTicket.objects.count()


def test_an_expired_ticket_shown_again_takes_a_vote(arena, settings):
    settings.ARENA_VOTE_TICKET_SECONDS = 60
    tickets = [voting.issue_ticket(voter=ALICE, battle_filter=PAIR) for _ in range(2)]
    BattleTicket.objects.update(issued_at=timezone.now() - timedelta(hours=2))
    with pytest.raises(voting.VoteRejected, match="expired"):
        voting.record_vote(token=tickets[0].token, choice="a", voter=ALICE)
    shown = voting.issue_ticket(voter=ALICE, battle_filter=PAIR)
    assert shown.token == tickets[0].token
    voting.record_vote(token=shown.token, choice="a", voter=ALICE)
    assert BattleTicket.objects.count() == 2


def test_held_tickets_outside_the_filter_are_not_shown(arena):
    voting.issue_ticket(voter=ALICE, battle_filter=PAIR)
    voting.issue_ticket(voter=ALICE, battle_filter=PAIR)
    other = voting.issue_ticket(voter=ALICE, battle_filter=voting.BattleFilter(models=("m1", "m3")))
    names = {other.output_left.competitor.name, other.output_right.competitor.name}
    assert names == {"m1", "m3"}


def test_each_voter_holds_their_own_tickets(arena, django_user_model):
    alice = voting.issue_ticket(voter=ALICE, battle_filter=PAIR, rng=random.Random(1))
    bob = voting.issue_ticket(voter=BOB, battle_filter=PAIR, rng=random.Random(1))
    assert battle(alice) == battle(bob) and alice.token != bob.token
    user = django_user_model.objects.create(username="carol")
    in_one_session = voting.Voter(session_key="carol-1", user_id=user.pk)
    in_another = voting.Voter(session_key="carol-2", user_id=user.pk)
    tokens = {voting.issue_ticket(voter=v, battle_filter=PAIR).token for v in [in_one_session, in_another] * 3}
    assert len(tokens) == 2  # a logged-in voter's tickets follow them across sessions


def test_the_database_refuses_a_second_ticket_for_a_battle_whichever_side_each_output_is_on(arena,
                                                                                              django_user_model):
    ticket = voting.issue_ticket(voter=ALICE, battle_filter=PAIR)
    user = django_user_model.objects.create(username="dave")
    by_user = voting.issue_ticket(voter=voting.Voter(session_key="s", user_id=user.pk), battle_filter=PAIR)
    for original, owner in ((ticket, {"session_key": ALICE.session_key}),
                            (by_user, {"session_key": "other-session", "user": user})):
        with pytest.raises(IntegrityError), transaction.atomic():
            BattleTicket.objects.create(token="dup", prompt_id=original.prompt_id,
                                        output_left_id=original.output_right_id,
                                        output_right_id=original.output_left_id, **owner)


def test_new_tickets_for_anonymous_voters_are_bounded_per_address_and_an_hour(arena, settings):
    settings.ARENA_VOTE_TICKETS_PER_HOUR_IP = 3
    voters = [voting.Voter(session_key=f"s{i}", ip="10.9.9.9") for i in range(4)]
    held = [voting.issue_ticket(voter=voter, battle_filter=PAIR) for voter in voters[:3]]
    with pytest.raises(voting.VoteRejected, match="too many new battles") as refused:
        voting.issue_ticket(voter=voters[3], battle_filter=PAIR)
    assert refused.value.status == 429 and BattleTicket.objects.count() == 3
    # Past the limit a voter still gets the battle they hold (no new row); another address is not affected.
    assert voting.issue_ticket(voter=voters[0], battle_filter=PAIR).token == held[0].token
    assert voting.issue_ticket(voter=voting.Voter(session_key="elsewhere", ip="10.1.1.1"), battle_filter=PAIR)
    assert BattleTicket.objects.count() == 4


def test_logged_in_voters_are_not_bounded_by_their_address(arena, settings, django_user_model):
    settings.ARENA_VOTE_TICKETS_PER_HOUR_IP = 1
    users = [django_user_model.objects.create(username=f"u{i}") for i in range(3)]
    for user in users:
        voting.issue_ticket(voter=voting.Voter(session_key=f"u{user.pk}", ip="10.9.9.9", user_id=user.pk),
                            battle_filter=PAIR)
    assert BattleTicket.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_of_one_voter_share_one_ticket_per_battle(arena):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises the whole database)")
    one_battle = voting.BattleFilter(models=("m1", "m2"), dataset="set")
    factories.Prompt.objects.filter(external_id="set-1").delete()
    tokens, errors = [], []
    start = threading.Barrier(8)

    def ask(seed: int) -> None:
        start.wait()
        try:
            tokens.append(voting.issue_ticket(voter=ALICE, battle_filter=one_battle, rng=random.Random(seed)).token)
        except Exception as exc:  # any failure is the test's answer, reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(tokens) == 8
    assert len(set(tokens)) == 1 == BattleTicket.objects.count()


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_one_ticket_per_voter_and_battle_and_every_vote(arena):
    """Repeated page loads before this release made duplicate tickets: the migration that adds the
    constraint keeps the voted one (else the latest) and deletes the rest, and no vote is lost."""
    executor = MigrationExecutor(connection)
    executor.migrate([("arena", "0009_quality_family")])
    old = executor.loader.project_state([("arena", "0009_quality_family")]).apps
    Ticket, Vote = old.get_model("arena", "BattleTicket"), old.get_model("arena", "HumanVote")
    outputs = list(factories.Output.objects.filter(prompt__external_id="set-0").order_by("pk")[:2])
    now = timezone.now()

    def ticket(token: str, left, right, session_key: str = "s", **extra):
        return Ticket.objects.create(token=token, prompt_id=left.prompt_id, output_left_id=left.pk,
                                     output_right_id=right.pk, session_key=session_key, issued_at=now, **extra)

    a, b = outputs
    voted_twice = [ticket("v1", a, b, used_at=now), ticket("v2", b, a, used_at=now), ticket("open", a, b)]
    for t in voted_twice[:2]:
        Vote.objects.create(prompt_id=a.prompt_id, output_a_id=t.output_left_id, output_b_id=t.output_right_id,
                            winner="a", ticket=t, session_key="s")
    ticket("other-session", a, b, session_key="t")
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert sorted(BattleTicket.objects.values_list("token", flat=True)) == ["other-session", "v1"]
    assert HumanVote.objects.count() == 2
    assert HumanVote.objects.filter(ticket__token="v1").count() == 1
