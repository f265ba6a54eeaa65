"""Verifiable checks through the judging path, the upload API, rubric validation and the match page."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from arena.lifecycle import create_tournament
from arena.models import Judgment, Prompt, Rubric
from tests import factories

pytestmark = pytest.mark.django_db

# The fake judge prefers longer answers; the word limit vetoes the longest.
MODELS = {"short": 5, "long": 20, "rambling": 80}
UNDER_50_WORDS = {"name": "under 50 words", "kind": "max_words", "limit": 50, "mode": "fatal"}


def judge_with_checks(checks, name="checked"):
    config = factories.fake_judge(name=name)
    rubric = Rubric.objects.create(name=f"{name}-rubric", criteria=config.rubric.criteria, checks=checks)
    config.rubric = rubric
    config.save()
    return config


def play(config, competitors):
    tournament = create_tournament(name=config.name, judge_config=config, competitors=competitors,
                                   schedule="round_robin")
    factories.judge_all(tournament)
    return tournament


def test_a_fatal_check_decides_a_match_with_no_judge_call_and_the_judgment_says_so():
    competitors = factories.prompts_with_outputs(MODELS, prompts=1)
    tournament = play(judge_with_checks([UNDER_50_WORDS]), competitors)
    judgments = {frozenset((j.match.competitor_a.name, j.match.competitor_b.name)): j
                 for j in Judgment.objects.filter(match__tournament=tournament).select_related("match__competitor_a",
                                                                                               "match__competitor_b")}
    vetoed = judgments[frozenset(("long", "rambling"))]
    winner = vetoed.match.competitor_a.name if vetoed.winner == "a" else vetoed.match.competitor_b.name
    assert winner == "long"  # the judge alone would have picked the longer answer
    assert vetoed.judge_calls == 0 and vetoed.prompt_tokens == 0
    assert vetoed.forward["extra"]["decided_by"] == "checks" and vetoed.backward is None
    assert vetoed.checks["decision"] in ("a", "b")
    assert "under 50 words" in vetoed.checks["reason"]
    judged = judgments[frozenset(("short", "long"))]
    assert judged.judge_calls == 2 and judged.checks["decision"] is None
    assert judged.checks["results"][0]["a"] is True


def test_checks_given_in_a_prompts_metadata_apply_to_that_prompt_only():
    competitors = factories.prompts_with_outputs(MODELS, prompts=2)
    Prompt.objects.filter(external_id="set-0").update(metadata={"checks": [UNDER_50_WORDS]})
    tournament = play(factories.fake_judge(name="plain"), competitors)
    decided = Judgment.objects.filter(match__tournament=tournament, judge_calls=0)
    assert {j.match.prompt.external_id for j in decided} == {"set-0"}
    assert decided.count() == 2  # rambling against each of the others


def test_a_rubric_with_a_bad_check_does_not_validate():
    rubric = Rubric(name="bad", criteria=[{"name": "c"}], checks=[{"kind": "regex", "pattern": "("}])
    with pytest.raises(ValidationError, match="invalid regular expression"):
        rubric.full_clean()


def test_a_rubric_without_checks_keeps_its_judge_fingerprint():
    rubric = Rubric(name="r", criteria=[{"name": "c"}])
    assert "checks" not in rubric.as_spec()


def test_the_default_judges_rubric_carries_a_verifiable_check():
    from arena.models import JudgeConfig

    default = JudgeConfig.objects.filter(name="default").order_by("-version").first()
    kinds = {c["kind"]: c["mode"] for c in default.rubric.checks}
    assert kinds.get("min_words") == "fatal"
    assert "reference_number" in kinds


def test_the_match_page_shows_the_check_results_and_that_no_judge_was_asked(client):
    competitors = factories.prompts_with_outputs(MODELS, prompts=1)
    tournament = play(judge_with_checks([UNDER_50_WORDS]), competitors)
    vetoed = Judgment.objects.get(match__tournament=tournament, judge_calls=0,
                                  match__competitor_a__name__in=["long", "rambling"],
                                  match__competitor_b__name__in=["long", "rambling"])
    page = client.get(reverse("match", args=[vetoed.match_id])).content.decode()
    assert "Verifiable checks" in page
    assert "Decided by the checks, with no judge call" in page
    assert "under 50 words" in page and "fail" in page
    assert "Verifiable checks (no judge call)" in page


def test_uploading_a_prompt_with_bad_metadata_checks_is_refused_and_changes_nothing(api):
    from tests.conftest import database_state

    before = database_state()
    response = api.post_rows("prompts", [{"id": "p", "prompt": "Hi", "metadata": {"checks": [{"kind": "exec"}]}}])
    assert response.status_code in (400, 422)
    assert "unknown kind" in response.content.decode()
    assert database_state() == before


def test_uploading_a_prompt_with_metadata_checks_stores_them(api):
    checks = [{"kind": "max_words", "limit": 50}]
    response = api.post_rows("prompts", [{"id": "p", "prompt": "Hi", "metadata": {"checks": checks, "answer": 4}}])
    assert response.status_code == 201
    assert Prompt.objects.get(external_id="p").metadata == {"checks": checks, "answer": 4}


def test_a_rubric_with_checks_is_added_through_the_api_and_a_judge_can_use_it(api):
    body = {"name": "concise", "criteria": [{"name": "correctness", "weight": 2}],
            "checks": [UNDER_50_WORDS, {"kind": "json", "mode": "criterion", "weight": 1}]}
    response = api.client.post("/api/v1/rubrics", body, content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {api.token}")
    assert response.status_code == 201, response.content
    assert response.json()["version"] == 1 and response.json()["checks"][0]["limit"] == 50
    again = api.client.post("/api/v1/rubrics", body, content_type="application/json",
                            HTTP_AUTHORIZATION=f"Bearer {api.token}")
    assert again.json()["version"] == 2
    judge = api.client.post("/api/v1/judges", {"name": "j", "backend": "fake", "model": "m", "protocol": "logprob",
                                               "rubric": "concise"},
                            content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api.token}")
    assert judge.status_code == 201 and judge.json()["rubric"] == "concise v2"
    assert any(r["name"] == "concise" for r in api.client.get("/api/v1/rubrics").json())


@pytest.mark.parametrize(("checks", "problem"), [
    ([{"kind": "regex", "pattern": "(a"}], "invalid regular expression"),
    ([{"kind": "max_words", "limit": 2 ** 63}], "limit"),
    ([{"kind": "regex", "pattern": "a\u0000b"}], "NUL"),
    ([{"kind": "exec", "code": "import os"}], "unknown"),
])
def test_a_rubric_with_a_bad_check_is_a_400_and_changes_nothing(api, checks, problem):
    before = Rubric.objects.count()
    response = api.client.post("/api/v1/rubrics", {"name": "bad", "criteria": [{"name": "c"}], "checks": checks},
                               content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api.token}")
    assert response.status_code == 400
    assert problem.lower() in response.json()["detail"].lower()
    assert Rubric.objects.count() == before


def test_a_prompt_with_invalid_stored_checks_fails_its_matches_naming_why_and_the_rest_are_judged():
    competitors = factories.prompts_with_outputs(MODELS, prompts=2)
    Prompt.objects.filter(external_id="set-0").update(metadata={"checks": [{"kind": "exec"}]})
    tournament = play(factories.fake_judge(name="plain"), competitors)
    failed = tournament.matches.filter(status="failed")
    assert {m.prompt.external_id for m in failed} == {"set-0"}
    assert all("unknown kind" in m.last_error for m in failed)
    assert tournament.matches.filter(status="done", prompt__external_id="set-1").count() == 3


@pytest.mark.parametrize("pattern", ["a\u0000b", "\ud800", "x" * 1001])
def test_hostile_text_in_a_prompts_checks_is_refused_and_changes_nothing(api, pattern):
    from tests.conftest import database_state

    before = database_state()
    body = '[{"id": "p", "prompt": "Hi", "metadata": {"checks": [{"kind": "regex", "pattern": %s}]}}]' % (
        '"a\\u0000b"' if "\u0000" in pattern else '"\\ud800"' if pattern == "\ud800" else f'"{pattern}"')
    response = api.post_raw("prompts", body)
    assert response.status_code in (400, 422), response.content
    assert database_state() == before
