"""The vote page hands out one ticket per voter and battle, bounds anonymous writes per address, and
costs no more queries than before; the dashboard lists the newest tournaments (issue 13)."""

import re

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client

from arena.lifecycle import create_tournament
from arena.models import BattleTicket, HumanVote, Output
from tests import factories

pytestmark = pytest.mark.django_db
# The cache in the query counts is Redis in production (no SQL); the tests' default is the database
# cache, whose every read is a query, so the counts are taken with a local-memory cache.
LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture(autouse=True)
def arena(settings):
    settings.CACHES = LOCAL_CACHE
    settings.ARENA_VOTE_MIN_SECONDS = 0
    cache.clear()
    competitors = factories.prompts_with_outputs({"m1": 3, "m2": 5, "m3": 8}, prompts=2)
    Output.objects.update(turns=["An answer that does not say who wrote it."])
    return competitors


def ticket_of(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return re.search(r'name="ticket" value="([^"]+)"', response.content.decode()).group(1)


def test_reloading_the_page_for_one_pair_never_hands_out_a_second_ticket_for_a_battle(client):
    tokens = [ticket_of(client.get("/vote/", {"model": ["m1", "m2"]})) for _ in range(10)]
    assert len(set(tokens)) == 2 == BattleTicket.objects.count()  # two prompts: two battles of m1 and m2
    for token in set(tokens):
        assert client.post("/vote/", {"ticket": token, "choice": "a"}).status_code == 302
    done = client.get("/vote/", {"model": ["m1", "m2"]})
    assert done.status_code == 404 and "no battle left" in done.content.decode()
    again = client.post("/vote/", {"ticket": tokens[0], "choice": "b"})
    assert again.status_code == 409 and HumanVote.objects.count() == 2


def test_cookieless_requests_from_one_address_are_bounded_and_write_nothing_past_the_limit(settings):
    settings.ARENA_VOTE_TICKETS_PER_HOUR_IP = 4  # each cookieless visitor costs a session and a ticket
    assert all(ticket_of(Client().get("/vote/")) for _ in range(2))
    sessions, tickets = Session.objects.count(), BattleTicket.objects.count()
    refused = Client().get("/vote/")
    assert refused.status_code == 429 and "too many new battles" in refused.content.decode()
    assert (Session.objects.count(), BattleTicket.objects.count()) == (sessions, tickets)
    # Another address is not affected.
    assert ticket_of(Client(REMOTE_ADDR="10.2.3.4").get("/vote/"))


def test_a_visitor_past_the_limit_still_votes_on_the_battle_they_hold(settings):
    settings.ARENA_VOTE_TICKETS_PER_HOUR_IP = 2
    visitor = Client()
    token = ticket_of(visitor.get("/vote/"))
    assert Client().get("/vote/").status_code == 429
    assert ticket_of(visitor.get("/vote/")) == token
    assert visitor.post("/vote/", {"ticket": token, "choice": "tie"}).status_code == 302


def test_a_vote_or_a_reveal_without_a_session_writes_no_session():
    assert Client().post("/vote/", {"ticket": "nope", "choice": "a"}).status_code == 404
    assert Client().get("/vote/voted/nope/").status_code == 404
    assert not Session.objects.exists()


# --- query counts: the same as before issue 13 (measured on main with the same data) ---------------------

def test_the_vote_pages_cost_no_more_queries_than_before(client, django_assert_num_queries):
    with django_assert_num_queries(15):  # a new session: session row, candidates, pair statistics, ticket
        token = ticket_of(client.get("/vote/"))
    with django_assert_num_queries(6):
        ticket_of(client.get("/vote/"))
    with django_assert_num_queries(7):
        assert client.post("/vote/", {"ticket": token, "choice": "a"}).status_code == 302
    with django_assert_num_queries(5):
        assert client.get(f"/vote/voted/{token}/").status_code == 200
    with django_assert_num_queries(4):
        assert client.get("/vote/filters/").status_code == 200


def test_showing_a_held_ticket_again_costs_no_more_queries_than_a_new_one(client, django_assert_num_queries):
    for _ in range(6):  # 2 prompts x 3 pairs: every battle held
        ticket_of(client.get("/vote/"))
    with django_assert_num_queries(5):
        ticket_of(client.get("/vote/"))
    assert BattleTicket.objects.count() == 6


def test_the_other_pages_cost_no_more_queries_than_before(client, arena, django_assert_max_num_queries):
    tournament = create_tournament(name="cup", judge_config=factories.fake_judge(), competitors=arena,
                                   schedule="round_robin")
    factories.judge_all(tournament)
    pages = {"/": 8, "/leaderboard/": 1, "/leaderboard/?format=csv": 0, "/models/m1/": 6,
             f"/tournaments/{tournament.pk}/": 9, "/tournaments/": 4, "/judges/": 2}
    for path, queries in pages.items():
        client.get(path)  # the first request computes the snapshots
        # The tournament page's 9 include issue 14's quality section: whether humans voted on its
        # models and their board (two reads, whatever the size).
        # At most: a leaderboard read notes itself (one UPDATE) only every few minutes.
        with django_assert_max_num_queries(queries):
            assert client.get(path).status_code == 200, path


# --- the dashboard lists the newest tournaments ------------------------------------------------------------

def test_the_dashboard_lists_the_newest_twenty_tournaments(client, arena):
    judge = factories.fake_judge()
    for i in range(25):
        create_tournament(name=f"cup-{i:02}", judge_config=judge, competitors=arena, schedule="round_robin",
                          start=False)
    page = client.get("/").content.decode()
    shown = re.findall(r">(cup-\d\d)</a>", page)
    assert shown == [f"cup-{i:02}" for i in range(24, 4, -1)]
