"""Tournaments through the REST API: create with an estimate, watch, pause, resume, cancel, budget,
inspect matches, and every bad request refused with its reason and nothing created."""

import json

import pytest

from arena.models import Competitor, JudgeConfig, Match, Output, Prompt, Tournament
from tests import factories

pytestmark = pytest.mark.django_db

MODELS = {"small": 5, "medium": 20, "large": 60, "huge": 120}


@pytest.fixture
def arena_data():
    competitors = factories.prompts_with_outputs(MODELS, prompts=3)
    factories.fake_judge()
    return competitors


def post(api, path: str, body: dict | None = None, token: str | None = None):
    return api.post_raw(path, json.dumps(body or {}), token=token)


def judge_everything(tournament_id: int) -> None:
    for _ in range(10):
        pending = list(Match.objects.filter(tournament_id=tournament_id, status="pending").values_list("pk", flat=True))
        if not pending:
            return
        factories.judge(match_ids=pending)


def request(**overrides) -> dict:
    return {"name": "cup", "schedule": "round_robin", "models": list(MODELS), "judge": "fake", **overrides}


def test_creating_a_tournament_returns_its_estimate_and_it_runs_to_the_end(api, arena_data):
    response = post(api, "tournaments", request())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "running"
    assert body["estimate"]["matches"] == 3 * 6 == Match.objects.filter(tournament_id=body["id"]).count()
    assert body["estimate"]["judge_calls"] == 2 * 18  # both orders, nothing cached yet

    judge_everything(body["id"])
    shown = api.get(f"tournaments/{body['id']}").json()
    assert shown["status"] == "finished" and shown["finished_at"]
    assert shown["progress"] | {"eta_seconds": None} == {"done": 18, "running": 0, "failed": 0, "pending": 0,
                                                           "cancelled": 0, "total": 18, "eta_seconds": None}
    assert shown["spent"]["judge_calls"] == body["estimate"]["judge_calls"]
    assert shown["spent"]["tokens"] > 0
    assert [t["name"] for t in api.get("tournaments").json()["items"]] == ["cup"]


def test_the_estimate_counts_verdicts_the_judge_cache_already_holds(api, arena_data):
    first = post(api, "tournaments", request(name="first")).json()
    judge_everything(first["id"])
    again = post(api, "tournaments", request(name="again", start=False)).json()
    assert again["estimate"]["cache_hits"] == 36 and again["estimate"]["judge_calls"] == 0
    assert again["estimate"]["seconds"] is not None  # measured from the first tournament's judgments


def test_a_draft_only_estimates_until_it_is_started(api, arena_data):
    draft = post(api, "tournaments", request(schedule="anchor", anchor="medium", start=False)).json()
    assert draft["status"] == "draft" and draft["estimate"]["matches"] == 9
    assert not Match.objects.exists()
    started = post(api, f"tournaments/{draft['id']}/start").json()
    assert started["status"] == "running" and started["progress"]["total"] == 9
    assert post(api, f"tournaments/{draft['id']}/start").status_code == 409


def test_single_elimination_runs_k_brackets_per_prompt_and_the_best_model_wins_each(api, arena_data):
    body = post(api, "tournaments", request(schedule="single_elimination", brackets_per_prompt=2)).json()
    assert body["estimate"]["matches"] == 3 * 2 * 3  # n - 1 matches per bracket
    judge_everything(body["id"])
    tournament = Tournament.objects.get(pk=body["id"])
    assert tournament.schedule == "bracket" and tournament.status == "finished"
    assert tournament.matches.count() == 18
    finals = tournament.matches.filter(round=2)
    assert finals.count() == 6 and all(m.judgment.winner == ("a" if m.competitor_a.name == "huge" else "b")
                                       for m in finals)


def test_pause_stops_new_claims_and_resume_carries_on(api, arena_data):
    body = post(api, "tournaments", request()).json()
    assert post(api, f"tournaments/{body['id']}/pause").json()["status"] == "paused"
    outcome = factories.judge(match_ids=list(Match.objects.values_list("pk", flat=True)))
    assert outcome.done == [] and set(Match.objects.values_list("status", flat=True)) == {"pending"}
    assert post(api, f"tournaments/{body['id']}/pause").status_code == 409
    assert post(api, f"tournaments/{body['id']}/resume").json()["status"] == "running"
    judge_everything(body["id"])
    assert api.get(f"tournaments/{body['id']}").json()["status"] == "finished"


def test_cancel_marks_pending_matches_cancelled(api, arena_data):
    body = post(api, "tournaments", request()).json()
    first = Match.objects.order_by("pk").first()
    factories.judge(match_ids=[first.pk])
    shown = post(api, f"tournaments/{body['id']}/cancel").json()
    assert shown["status"] == "cancelled"
    assert shown["progress"]["done"] == 1 and shown["progress"]["cancelled"] == 17
    assert factories.judge(match_ids=list(Match.objects.values_list("pk", flat=True))).done == []


def test_a_spent_budget_stops_the_tournament_until_it_is_raised(api, arena_data):
    body = post(api, "tournaments", request(budget={"calls": 4})).json()
    ids = list(Match.objects.order_by("pk").values_list("pk", flat=True))
    factories.judge(match_ids=ids[:2])  # two matches, both orders: 4 calls
    shown = api.get(f"tournaments/{body['id']}").json()
    assert shown["status"] == "budget_exhausted" and shown["spent"]["judge_calls"] == 4
    assert factories.judge(match_ids=ids[2:]).done == []
    refused = post(api, f"tournaments/{body['id']}/resume")
    assert refused.status_code == 400 and "calls budget is spent" in refused.json()["detail"]
    resumed = post(api, f"tournaments/{body['id']}/resume", {"budget": {"calls": 1000}})
    assert resumed.json()["status"] == "running"
    judge_everything(body["id"])
    assert api.get(f"tournaments/{body['id']}").json()["status"] == "finished"


def test_matches_show_both_orders_verdicts_and_filter_by_model_and_status(api, arena_data):
    body = post(api, "tournaments", request(schedule="anchor", anchor="small")).json()
    judge_everything(body["id"])
    rows = api.get("matches", tournament=body["id"], model="huge", status="done").json()["items"]
    assert len(rows) == 3
    row = rows[0]
    assert {row["model_a"], row["model_b"]} == {"huge", "small"}
    assert row["forward"]["winner"] and row["backward"]["winner"] and row["forward"]["rationale"] is not None
    assert row["output_a"] == Output.objects.get(competitor__name=row["model_a"], prompt__external_id=row["prompt"]).pk
    assert api.get("matches", status="nonsense").status_code == 400


BAD_REQUESTS = [
    pytest.param({"models": ["small", "nobody"]}, "unknown model(s): nobody", id="unknown-model"),
    pytest.param({"judge": "oracle"}, "no judge configuration 'oracle'", id="unknown-judge"),
    pytest.param({"judge": 99999}, "no judge configuration 99999", id="unknown-judge-id"),
    pytest.param({"schedule": "swiss"}, "unknown schedule 'swiss'", id="unknown-schedule"),
    pytest.param({"schedule": "anchor", "anchor": "silent"}, "without outputs on the chosen prompts: silent",
                 id="anchor-without-outputs"),
    pytest.param({"models": ["small", "silent"]}, "without outputs on the chosen prompts: silent",
                 id="model-without-outputs"),
    pytest.param({"prompts": {"ids": ["set-0", "nope"]}}, "unknown prompt id(s) in this selection: nope",
                 id="unknown-prompt"),
    pytest.param({"prompts": {"category": "poetry"}}, "no prompt matches", id="no-prompts"),
    pytest.param({"budget": {"calls": -1}}, "calls", id="negative-budget"),
    pytest.param({"models": ["small"]}, "at least two models", id="one-model"),
    pytest.param({"seeding": "vibes", "schedule": "single_elimination"}, "seeding must be", id="bad-seeding"),
    pytest.param({"brackets_per_prompt": 3}, "brackets_per_prompt is for the single_elimination", id="k-rr"),
    pytest.param({"models": ["small", "lonely"]}, "make no match", id="zero-matches"),
]


@pytest.mark.parametrize(("change", "message"), BAD_REQUESTS)
def test_a_bad_request_names_the_problem_and_creates_nothing(api, arena_data, change, message):
    Competitor.objects.create(name="silent")
    lonely = Competitor.objects.create(name="lonely")
    extra = Prompt.objects.create(external_id="extra", dataset=Prompt.objects.first().dataset, turns=["Hi"])
    Output.objects.create(competitor=lonely, prompt=extra, turns=["hello"], char_count=5)
    response = post(api, "tournaments", request(**change))
    assert 400 <= response.status_code < 500, response.content
    assert message in json.dumps(response.json()), response.json()
    assert not Tournament.objects.exists() and not Match.objects.exists()


def test_a_taken_name_is_a_conflict_and_writes_need_a_token(api, arena_data):
    assert post(api, "tournaments", request()).status_code == 201
    assert post(api, "tournaments", request()).status_code == 409
    assert post(api, "tournaments", request(name="other"), token="").status_code == 401
    assert Tournament.objects.count() == 1


def test_judges_are_listed_and_created_with_the_same_validation_as_the_command(api, arena_data):
    created = post(api, "judges", {"name": "fake", "backend": "fake", "model": "fake-longer-wins",
                                   "protocol": "logprob", "rubric": "test"})
    assert created.status_code == 201 and created.json()["version"] == 2
    assert [j["version"] for j in api.get("judges").json() if j["name"] == "fake"] == [2, 1]
    bad = post(api, "judges", {"name": "x", "backend": "quantum", "model": "m"})
    assert bad.status_code == 422 and "unknown backend 'quantum'" in bad.json()["detail"]
    missing = post(api, "judges", {"name": "x", "backend": "fake", "model": "m", "rubric": "nope"})
    assert missing.status_code == 422 and "no rubric named 'nope'" in missing.json()["detail"]
    assert JudgeConfig.objects.filter(name="x").count() == 0


def test_a_model_added_to_a_finished_tournament_plays_only_the_matches_it_needs(api, arena_data):
    body = post(api, "tournaments", request(models=["small", "medium", "large"])).json()
    judge_everything(body["id"])
    assert api.get(f"tournaments/{body['id']}").json()["progress"]["total"] == 9
    refused = post(api, f"tournaments/{body['id']}/models", {"models": ["small"]})
    assert refused.status_code == 400 and "already in the tournament: small" in refused.json()["detail"]
    shown = post(api, f"tournaments/{body['id']}/models", {"models": ["huge"]}).json()
    assert shown["status"] == "running" and shown["progress"]["pending"] == 3 * 3
    judge_everything(body["id"])
    assert api.get(f"tournaments/{body['id']}").json()["status"] == "finished"


UNSTORABLE = [
    pytest.param({"name": "cup\u0000"}, "name contains a NUL", id="nul-name"),
    pytest.param({"name": "x" * 201}, "name is 201 characters", id="long-name"),
    pytest.param({"models": ["small", "m\u0000"]}, "models contains a NUL", id="nul-model"),
    pytest.param({"prompts": {"ids": ["\ud800"]}}, "lone surrogate", id="surrogate-prompt"),
    pytest.param({"budget": {"usd": 1e400}}, "usd", id="infinite-budget"),
]


@pytest.mark.parametrize(("change", "message"), UNSTORABLE)
def test_text_and_numbers_the_database_cannot_store_are_refused_by_name(api, arena_data, change, message):
    body = json.dumps(request(**change)).replace("Infinity", "1e400")
    response = api.post_raw("tournaments", body)
    assert 400 <= response.status_code < 500, response.content
    assert message in json.dumps(response.json(), ensure_ascii=False) or message in response.content.decode()
    assert not Tournament.objects.exists()
