"""Tournament verbs through the REST API and the pages: an illegal transition is a 409 naming the
state, a bad budget or option a 422 naming it, a name-or-id a 4xx naming it; and 16 parallel starts
give one 200."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from arena import lifecycle
from arena.models import JudgeConfig, Match, Tournament
from tests import factories

pytestmark = pytest.mark.django_db

MODELS = {"small": 5, "medium": 20, "large": 60, "extra": 90}


@pytest.fixture
def arena():
    factories.prompts_with_outputs(MODELS, prompts=2)
    return factories.fake_judge()


def post(api, path: str, body=None):
    return api.post_raw(path, json.dumps(body if body is not None else {}))


def created(api, **overrides) -> int:
    body = {"name": "cup", "schedule": "round_robin", "models": ["small", "medium", "large"], "judge": "fake",
            **overrides}
    response = post(api, "tournaments", body)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def state(tournament_id: int) -> tuple:
    row = Tournament.objects.get(pk=tournament_id)
    return row.status, row.budget, sorted(row.matches.values_list("pk", "status"))


@pytest.mark.parametrize("path", ["retry-failed", "pause", "resume"])
def test_a_verb_the_drafts_state_does_not_allow_is_a_409_naming_the_state(api, arena, path):
    draft = created(api, start=False)
    response = post(api, f"tournaments/{draft}/{path}")
    assert response.status_code == 409 and "is draft" in response.json()["detail"]
    assert path in response.json()["detail"]
    assert state(draft) == ("draft", {}, [])
    assert post(api, f"tournaments/{draft}/start").json()["status"] == "running"


def test_retry_failed_on_a_finished_tournament_never_leaves_it_running_forever(api, arena):
    tournament = created(api)
    for _ in range(3):
        factories.judge(match_ids=list(Match.objects.pending().values_list("pk", flat=True)))
    response = post(api, f"tournaments/{tournament}/retry-failed")
    assert response.status_code == 200 and response.json()["status"] == "finished"


@pytest.mark.parametrize("path", ["retry-failed", "models"])
def test_retry_and_new_models_do_not_run_a_spent_tournament_past_its_budget(api, arena, path):
    tournament = created(api, budget={"calls": 2})
    ids = list(Match.objects.order_by("pk").values_list("pk", flat=True))
    Match.objects.filter(pk=ids[-1]).update(status="failed")
    factories.judge(match_ids=ids[:1])
    assert state(tournament)[0] == "budget_exhausted"
    body = {"models": ["extra"]} if path == "models" else None
    response = post(api, f"tournaments/{tournament}/{path}", body)
    assert response.status_code == 200 and response.json()["status"] == "budget_exhausted"
    assert factories.judge(match_ids=list(Match.objects.pending().values_list("pk", flat=True))).done == []
    assert api.get(f"tournaments/{tournament}").json()["spent"]["judge_calls"] == 2


def test_a_misspelt_budget_cap_on_resume_is_a_422_naming_it_and_keeps_the_budget(api, arena):
    tournament = created(api, budget={"calls": 2})
    factories.judge(match_ids=list(Match.objects.order_by("pk").values_list("pk", flat=True))[:1])
    before = state(tournament)
    response = post(api, f"tournaments/{tournament}/resume", {"budget": {"call": 100}})
    assert response.status_code == 422 and "'call'" in json.dumps(response.json())
    assert state(tournament) == before == ("budget_exhausted", {"calls": 2}, before[2])


@pytest.mark.parametrize("budget", [{"calls": 10**400}, {"tokens": 1.5}, {"usd": "1"}, {"usd": -1}, {"calls": 0}])
def test_a_budget_out_of_range_is_a_422_and_creates_nothing(api, arena, budget):
    response = post(api, "tournaments", {"name": "cup", "schedule": "round_robin", "models": ["small", "large"],
                                         "judge": "fake", "budget": budget})
    assert response.status_code == 422, response.content
    assert next(iter(budget)) in json.dumps(response.json())
    assert not Tournament.objects.exists()


@pytest.mark.parametrize("change", [{"brackets_per_prompt": 10**400, "schedule": "single_elimination"},
                                    {"brackets_per_prompt": 0}, {"seed": 10**400}, {"seed": -1}])
def test_a_numeric_tournament_option_out_of_range_is_a_422_naming_it(api, arena, change):
    response = post(api, "tournaments", {"name": "cup", "schedule": "round_robin", "models": ["small", "large"],
                                         "judge": "fake", **change})
    assert response.status_code == 422, response.content
    assert next(iter(change)) in json.dumps(response.json()) and len(response.content) < 2000
    assert not Tournament.objects.exists()


@pytest.mark.parametrize("judge", ["²", "١٢", 10**30, "9" * 400, "0"])
def test_a_judge_that_is_neither_a_name_nor_an_id_is_a_4xx_naming_it(api, arena, judge):
    response = post(api, "tournaments", {"name": "cup", "schedule": "round_robin", "models": ["small", "large"],
                                         "judge": judge})
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert ("no judge configuration" in detail or detail.startswith("judge is 400 characters")) and len(detail) < 200
    assert not Tournament.objects.exists()


def test_a_judge_is_found_by_id_or_by_its_latest_version(api, arena):
    newer = JudgeConfig.objects.create(name="fake", version=2, backend="fake", model="fake-longer-wins",
                                       protocol="logprob", rubric=arena.rubric)
    by_name = created(api, name="by name")
    by_id = created(api, name="by id", judge=str(arena.pk))
    assert Tournament.objects.get(pk=by_name).judge_config_id == newer.pk
    assert Tournament.objects.get(pk=by_id).judge_config_id == arena.pk


@pytest.mark.parametrize(("options", "name"), [
    ({"tie_margin": 10**400}, "tie_margin"), ({"tie_margin": 0.5}, "tie_margin"),
    ({"max_new_tokens": 10**400}, "max_new_tokens"), ({"max_output_tokens": 0}, "max_output_tokens"),
    ({"max_new_tokens": 2.5}, "max_new_tokens"), ({"tie_margin": "0.1"}, "tie_margin"),
])
def test_a_numeric_judge_option_out_of_range_is_a_422_naming_it(api, arena, options, name):
    response = post(api, "judges", {"name": "big", "backend": "fake", "model": "m", "protocol": "logprob",
                                    "rubric": "test", "options": options})
    assert response.status_code == 422, response.content
    assert f"options.{name}" in json.dumps(response.json()) and len(response.content) < 2000
    assert not JudgeConfig.objects.filter(name="big").exists()


def test_the_pages_show_a_refusal_with_the_apis_status(client, django_user_model, arena):
    client.force_login(django_user_model.objects.create(username="staff", is_staff=True))
    tournament, _ = lifecycle.open_tournament(name="t", schedule="round_robin", models=["small", "large"],
                                              judge="fake", start=False)
    page = client.get(reverse("tournament", args=[tournament.pk])).content.decode()
    assert ">Start</button>" in page and ">Pause</button>" not in page and ">Retry failed</button>" not in page
    refused = client.post(reverse("tournament-action", args=[tournament.pk, "retry-failed"]))
    assert refused.status_code == 409 and "is draft: retry-failed is only for" in refused.content.decode()
    assert client.post(reverse("tournament-action", args=[tournament.pk, "bogus"])).status_code == 404
    assert client.post(reverse("tournament-action", args=[tournament.pk, "start"])).status_code == 302
    assert Tournament.objects.get(pk=tournament.pk).status == "running"


def test_the_admin_schedules_only_drafts_and_cannot_set_a_status(admin_client, arena):
    running, _ = lifecycle.open_tournament(name="running", schedule="round_robin", models=["small", "large"],
                                           judge="fake")
    matches = running.matches.count()
    response = admin_client.post("/admin/arena/tournament/", {"action": "schedule_matches",
                                                              "_selected_action": [running.pk]}, follow=True)
    assert "is running already: start is only for draft" in response.content.decode()
    assert running.matches.count() == matches
    admin_client.post("/admin/arena/tournament/", {"action": "retry_failed_matches", "_selected_action": [running.pk]})
    assert Tournament.objects.get(pk=running.pk).status == "running"
    form = admin_client.get(f"/admin/arena/tournament/{running.pk}/change/").content.decode()
    assert 'name="status"' not in form and 'name="budget"' in form


def test_the_admin_refuses_a_misspelt_budget(admin_client, arena):
    draft = Tournament.objects.create(name="draft", judge_config=arena, schedule="round_robin")
    response = admin_client.post(f"/admin/arena/tournament/{draft.pk}/change/", {
        "name": "draft", "judge_config": arena.pk, "schedule": "round_robin", "competitors": [],
        "budget": '{"call": 100}'})
    assert response.status_code == 200 and "unknown budget cap(s): &#x27;call&#x27;" in response.content.decode()
    assert Tournament.objects.get(pk=draft.pk).budget == {}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sixteen_parallel_starts_give_exactly_one_200(token, arena):
    """On PostgreSQL the transition's row lock queues the starts; on SQLite the settings' IMMEDIATE
    transactions serialise them. Either way the others find it running: 409."""
    tournament, _ = lifecycle.open_tournament(name="race", schedule="round_robin", models=["small", "large"],
                                              judge="fake", start=False)
    go = threading.Barrier(16)
    statuses: list[int] = []

    def start():
        go.wait()
        try:
            statuses.append(Client().post(f"/api/v1/tournaments/{tournament.pk}/start", "{}",
                                          content_type="application/json",
                                          HTTP_AUTHORIZATION=f"Bearer {token}").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(statuses) == [200] + [409] * 15, statuses
    assert Tournament.objects.get(pk=tournament.pk).matches.count() == 2


def test_a_superscript_content_length_is_no_server_error(api, arena):
    # str.isdigit() is true for "²", which int() refuses.
    response = api.post_raw("prompts", json.dumps([{"id": "p", "prompt": "q"}]), CONTENT_LENGTH="²")
    assert response.status_code < 500, response.content
