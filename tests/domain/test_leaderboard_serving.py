"""How leaderboards are served: stored snapshots, background recomputes, bounded storage, a failing cache.

The concurrency test needs real transactions and row locks, so it runs on PostgreSQL only (CI runs the
suite on PostgreSQL as well as SQLite).
"""

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from arena import leaderboards
from arena.leaderboards import snapshots
from arena.models import LeaderboardSnapshot, Output

CLOSED_REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                            "LOCATION": "redis://127.0.0.1:1/0"}}


def battles(a: str, b: str, wins: int, losses: int) -> list[dict]:
    return ([{"model_a": a, "model_b": b, "winner": "model_a"}] * wins
            + [{"model_a": a, "model_b": b, "winner": "model_b"}] * losses)


@pytest.fixture(autouse=True)
def empty_cache():
    """Tests wipe the database, not the cache: a cached leaderboard must not outlive its test's data."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def rated(api):
    assert api.post_rows("battles", battles("alpha", "beta", 6, 3) + battles("beta", "gamma", 4, 4)).status_code == 201


@pytest.mark.django_db
def test_with_redis_down_pages_and_api_answer_from_the_database(api, rated, client, settings):
    settings.CACHES = CLOSED_REDIS
    response = api.get("leaderboard")
    assert response.status_code == 200 and len(response.json()["models"]) == 3
    assert client.get("/").status_code == 200
    assert client.get("/leaderboard/").status_code == 200
    # A write still succeeds: the stale flag in the database is the truth, the cache failure is logged.
    assert api.post_rows("battles", battles("gamma", "alpha", 2, 1)).status_code == 201
    assert LeaderboardSnapshot.objects.get().stale
    again = api.get("leaderboard")
    assert again.status_code == 200 and again.json()["updating"] is True


@pytest.mark.django_db
def test_mark_stale_with_the_cache_down_marks_the_database(rated, api, settings):
    api.get("leaderboard")
    settings.CACHES = CLOSED_REDIS
    leaderboards.mark_stale()
    assert LeaderboardSnapshot.objects.get().stale


@pytest.mark.django_db
def test_an_unknown_category_is_refused_and_stores_nothing(api, rated):
    response = api.get("leaderboard", category="no-such-category")
    assert response.status_code == 400 and "unknown category" in response.json()["detail"]
    assert not LeaderboardSnapshot.objects.exists()


@pytest.mark.django_db
def test_stale_snapshots_nobody_read_lately_wait_for_their_next_read(api, rated, settings):
    api.get("leaderboard")
    api.get("leaderboard", anchor="beta")
    LeaderboardSnapshot.objects.filter(params__anchor="beta").update(
        read_at=timezone.now() - timedelta(seconds=settings.ARENA_LEADERBOARD_READ_WINDOW_SECONDS + 60))
    api.post_rows("battles", battles("gamma", "alpha", 1, 1))
    assert leaderboards.recompute_stale() == 1  # only the one read recently
    assert LeaderboardSnapshot.objects.get(params__anchor="beta").stale
    assert not LeaderboardSnapshot.objects.get(params__anchor="").stale


@pytest.mark.django_db
def test_results_that_arrive_during_a_recompute_leave_the_snapshot_stale(api, rated):
    api.get("leaderboard")
    # new results were marked after the recompute below started
    LeaderboardSnapshot.objects.update(stale=True, marked_at=timezone.now() + timedelta(minutes=1))
    leaderboards.recompute_leaderboard(query=leaderboards.LeaderboardQuery())
    assert LeaderboardSnapshot.objects.get().stale


@pytest.mark.django_db
def test_results_during_a_recompute_of_a_snapshot_stale_already_leave_it_stale(api, rated, monkeypatch):
    api.get("leaderboard")
    leaderboards.mark_stale()  # stale and marked before the recompute starts
    first_mark = LeaderboardSnapshot.objects.get().marked_at
    leaderboards.mark_stale()  # more results in the same burst: nothing to write
    assert LeaderboardSnapshot.objects.get().marked_at == first_mark
    compute = snapshots.compute_payload

    def compute_while_results_arrive(query):
        payload = compute(query)
        leaderboards.mark_stale()
        return payload

    monkeypatch.setattr(snapshots, "compute_payload", compute_while_results_arrive)
    leaderboards.recompute_leaderboard(query=leaderboards.LeaderboardQuery())
    assert LeaderboardSnapshot.objects.get().stale
    monkeypatch.setattr(snapshots, "compute_payload", compute)
    leaderboards.recompute_leaderboard(query=leaderboards.LeaderboardQuery())
    assert not LeaderboardSnapshot.objects.get().stale


@pytest.mark.django_db
def test_the_judge_filter_and_prior_must_name_things_that_exist(api, rated):
    assert "unknown judge configuration" in api.get("leaderboard", judge="nobody").json()["detail"]
    assert api.get("leaderboard", prior=11).status_code == 400
    assert api.get("leaderboard", prior=2, method="elo").status_code == 400


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_requests_share_one_computation(api, rated, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    computed = []
    original = leaderboards.compute_payload

    def counting(query):
        computed.append(query)
        return original(query)

    # Counting calls of the real computation (not replacing it) is the only way to see it ran once.
    monkeypatch.setattr(snapshots, "compute_payload", counting)
    answers = []

    def ask():
        try:
            answers.append(leaderboards.get_leaderboard(leaderboards.LeaderboardQuery(anchor="gamma")))
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 4 and len(computed) == 1
    assert all(answer["models"] == answers[0]["models"] for answer in answers)


@pytest.mark.django_db
def test_the_dashboard_polls_only_while_something_runs(api, rated, client):
    client.get("/api/v1/leaderboard")
    assert 'hx-trigger="every 5s"' not in client.get("/").content.decode()
    api.post_rows("battles", battles("gamma", "alpha", 1, 0))  # the snapshot is now being recomputed
    assert 'hx-trigger="every 5s"' in client.get("/").content.decode()
    leaderboards.recompute_stale()
    assert 'hx-trigger="every 5s"' not in client.get("/").content.decode()


@pytest.mark.django_db
def test_a_vote_between_two_outputs_of_one_model_cannot_break_the_fit(api, rated):
    from arena.models import HumanVote
    from tests import factories

    factories.prompts_with_outputs({"alpha": 3, "beta": 5}, prompts=1)
    output = Output.objects.filter(competitor__name="alpha").first()
    # Such a vote can no longer be stored (constraint vote_two_outputs); the leaderboards stay sound.
    with pytest.raises(IntegrityError), transaction.atomic():
        HumanVote.objects.create(prompt=output.prompt, output_a=output, output_b=output, winner="a")
    assert api.get("leaderboard", source="human").status_code == 200
    assert api.get("leaderboard").status_code == 200


@pytest.mark.django_db
def test_the_leaderboard_says_which_intervals_it_shows_and_uses_the_sandwich_only_at_scale(api, rated, client,
                                                                                          monkeypatch, settings):
    from arena.ratings import board

    assert "95% bootstrap intervals" in client.get("/leaderboard/").content.decode()
    assert api.get("leaderboard").json()["interval"] == "bootstrap"
    # As if these 17 battles were a million: the automatic choice turns to the sandwich.
    monkeypatch.setattr(board, "SANDWICH_FROM_BATTLES", 10)
    monkeypatch.setattr(board, "SANDWICH_MIN_MODEL_BATTLES", 1)
    leaderboards.recompute_leaderboard(query=leaderboards.LeaderboardQuery())
    assert "95% sandwich (asymptotic) intervals" in client.get("/leaderboard/").content.decode()
    assert "95% sandwich intervals" in client.get("/").content.decode()
    assert api.get("leaderboard").json()["interval"] == "sandwich"
    # The bootstrap on request, at any size.
    settings.ARENA_LEADERBOARD_INTERVALS = "bootstrap"
    leaderboards.recompute_leaderboard(query=leaderboards.LeaderboardQuery())
    assert api.get("leaderboard").json()["interval"] == "bootstrap"
