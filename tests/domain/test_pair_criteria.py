"""Pair-specific criteria through the arena: a judge configuration of that protocol, its judgments with
the criteria and per-criterion verdicts stored, the match page showing them escaped, the API."""

import json

import pytest
from django.urls import reverse

from arena import estimates
from arena.judge_configs import JudgeConfigError, create_judge_config
from arena.lifecycle import create_tournament
from arena.models import JudgeConfig, Judgment
from judges.backends.fake import FAKE_CRITERIA
from tests import factories

pytestmark = pytest.mark.django_db

HOSTILE = "[core] <script>alert('criterion')</script> covers {{ secret }}"


def criteria_judge(**params) -> JudgeConfig:
    return create_judge_config(name="criteria", backend="fake", model="m", protocol="pair_criteria",
                               prompt_style="completion", rubric="test", params=params)


def test_a_pair_criteria_judgment_stores_the_criteria_their_verdicts_and_its_calls(client):
    factories.rubric()
    config = criteria_judge(replies=[FAKE_CRITERIA + "\n" + HOSTILE + "\n[must] not a type"])
    competitors = factories.prompts_with_outputs({"short": 5, "long": 60}, prompts=1)
    tournament = create_tournament(name="t", judge_config=config, competitors=competitors, schedule="round_robin")
    factories.judge_all(tournament)
    judgment = Judgment.objects.get(match__tournament=tournament)
    details = judgment.forward["extra"]["pair_criteria"]
    assert [row["kind"] for row in details["criteria"]] == ["core", "important", "highlight", "core"]
    assert details["rejected"][0]["reason"].startswith("unknown type 'must'")
    long_first = judgment.match.competitor_a.name == "long"
    assert judgment.winner == ("a" if long_first else "b") and judgment.consistent
    assert judgment.judge_calls == 1 + 2 * 4  # the criteria once, each criterion in both orders

    page = client.get(reverse("match", args=[judgment.match.pk])).content.decode()
    assert "Criteria the judge wrote for this pair (4, decided by weighted mean)" in page
    assert "&lt;script&gt;alert(&#x27;criterion&#x27;)&lt;/script&gt; covers {{ secret }}" in page
    assert "<script>alert(" not in page
    assert "Rejected lines (1)" in page and (
        f"A is {judgment.match.competitor_a.name}, B is {judgment.match.competitor_b.name}" in page)


def test_junk_criteria_leave_the_match_to_retry_with_a_parse_error_not_a_verdict():
    factories.rubric()
    config = criteria_judge(replies=["A is better, obviously."])
    competitors = factories.prompts_with_outputs({"short": 5, "long": 60}, prompts=1)
    tournament = create_tournament(name="t", judge_config=config, competitors=competitors, schedule="round_robin")
    factories.judge_all(tournament)
    match = tournament.matches.get()
    assert not Judgment.objects.filter(match=match).exists()
    # Retryable (another sample may parse): pending again, the public error naming the cause.
    assert match.status == "pending" and "unparsable criteria: 0 usable" in match.last_error


def test_the_api_creates_a_pair_criteria_judge_and_refuses_a_bad_via(api, make_token):
    factories.rubric()
    body = {"name": "openrs", "backend": "fake", "model": "m", "protocol": "pair_criteria", "rubric": "test",
            "prompt_style": "completion"}
    created = api.post_raw("judges", json.dumps(body), token=make_token("admin"))
    assert created.status_code == 201 and created.json()["protocol"] == "pair_criteria"
    refused = api.post_raw("judges", json.dumps({**body, "options": {"via": "telepathy"}}), token=make_token("admin"))
    assert refused.status_code == 422 and "telepathy" in refused.json()["detail"]
    assert JudgeConfig.objects.filter(name="openrs").count() == 1


def test_a_pair_criteria_judge_can_sit_on_a_panel():
    factories.rubric()
    criteria_judge()
    create_judge_config(name="longer", backend="fake", model="m", protocol="logprob", rubric="test")
    panel = create_judge_config(name="jury", backend="", model="", protocol="panel", rubric="test",
                                options={"members": ["criteria", "longer"]})
    competitors = factories.prompts_with_outputs({"short": 5, "long": 60}, prompts=1)
    tournament = create_tournament(name="t", judge_config=panel, competitors=competitors, schedule="round_robin")
    factories.judge_all(tournament)
    judgment = Judgment.objects.get(match__tournament=tournament)
    members = judgment.forward["extra"]["panel"]["members"]
    assert [m["name"] for m in members] == ["criteria v1", "longer v1"]
    assert members[0]["calls"] == 1 + 2 * 3


def test_the_estimate_counts_one_generation_and_both_orders_of_five_criteria_per_match():
    factories.rubric()
    competitors = factories.prompts_with_outputs({"short": 5, "long": 60, "mid": 30}, prompts=2)
    tournament = create_tournament(name="t", judge_config=criteria_judge(), competitors=competitors,
                                   schedule="round_robin")
    # 3 pairs on each of 2 prompts; the number of criteria is unknown before: the middle of 3-8 is guessed.
    assert estimates.estimate(tournament=tournament).judge_calls == 6 * (1 + 2 * estimates.PAIR_CRITERIA_GUESS)
    factories.judge_all(tournament)
    assert sum(Judgment.objects.filter(match__tournament=tournament).values_list("judge_calls", flat=True)) == 6 * 7


def test_create_judge_config_refuses_listwise_options_on_a_pair_criteria_judge():
    factories.rubric()
    with pytest.raises(JudgeConfigError, match="listwise"):
        create_judge_config(name="x", backend="fake", model="m", protocol="pair_criteria", rubric="test",
                            options={"permutations": 3})
