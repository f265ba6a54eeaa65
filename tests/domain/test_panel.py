"""Juries: a panel of judge configurations, each member's verdict kept and shown, members' agreement."""

import pytest
from django.urls import reverse

from arena import agreement
from arena.judge_configs import JudgeConfigError, create_judge_config
from arena.lifecycle import create_tournament
from arena.models import HumanVote, Judgment
from judges.base import Verdict
from judges.panel import MemberVerdict, combine, mutual_agreement
from tests import factories

pytestmark = pytest.mark.django_db

MODELS = {"short": 5, "long": 60}


def members():
    longer = create_judge_config(name="longer", backend="fake", model="m", protocol="logprob", rubric="test",
                                 params={"preference": "longer"})
    shorter = create_judge_config(name="shorter", backend="fake", model="m", protocol="logprob", rubric="test",
                                  params={"preference": "shorter"})
    hashed = create_judge_config(name="hashed", backend="fake", model="m", protocol="generate", rubric="test",
                                 params={"preference": "hash"})
    return longer, shorter, hashed


def vote(winner, *, name, prob=None):
    return MemberVerdict(name, Verdict(winner=winner, prob_a=prob))


def test_the_mean_rule_averages_probabilities_and_counts_a_bare_winner_as_one_zero_or_half():
    verdict = combine([vote("a", name="x", prob=0.9), vote("b", name="y")], rule="mean")
    assert verdict.prob_a == pytest.approx(0.45) and verdict.winner == "b"
    assert [m["name"] for m in verdict.extra["panel"]["members"]] == ["x", "y"]


def test_the_majority_rule_needs_a_strict_majority_else_it_is_a_tie():
    assert combine([vote("a", name="x"), vote("a", name="y"), vote("b", name="z")], rule="majority").winner == "a"
    assert combine([vote("a", name="x"), vote("b", name="y")], rule="majority").winner == "tie"
    assert combine([vote("tie", name="x"), vote("tie", name="y"), vote("a", name="z")],
                   rule="majority").winner == "tie"


def test_members_mutual_agreement_counts_matches_both_judged():
    found = mutual_agreement([{"x": "a", "y": "a"}, {"x": "a", "y": "b"}, {"x": "tie"}])
    assert found == {("x", "y"): {"agreement": 0.5, "matches": 2}}


def test_a_panel_judges_with_every_member_and_keeps_each_verdict():
    factories.rubric()
    longer, shorter, hashed = members()
    panel = create_judge_config(name="jury", backend="", model="", protocol="panel", rubric="test",
                                options={"members": ["longer", "shorter", "hashed"], "rule": "majority"})
    assert panel.backend == "panel" and panel.options["member_ids"] == [longer.pk, shorter.pk, hashed.pk]
    competitors = factories.prompts_with_outputs(MODELS, prompts=2)
    tournament = create_tournament(name="t", judge_config=panel, competitors=competitors, schedule="round_robin")
    factories.judge_all(tournament)
    judgments = Judgment.objects.filter(match__tournament=tournament)
    assert judgments.count() == 2
    for judgment in judgments:
        voters = judgment.forward["extra"]["panel"]["members"]
        assert [m["name"] for m in voters] == ["longer v1", "shorter v1", "hashed v1"]
        assert voters[0]["winner"] != voters[1]["winner"]  # opposite preferences
        assert judgment.judge_calls == 6  # three members, both orders each
        assert judgment.winner == voters[2]["winner"]  # the third member breaks the tie under majority


def test_a_panel_needs_two_existing_single_judges():
    factories.rubric()
    members()
    with pytest.raises(JudgeConfigError, match="2 to 8"):
        create_judge_config(name="jury", backend="", model="", protocol="panel", rubric="test",
                            options={"members": ["longer"]})
    with pytest.raises(JudgeConfigError, match="no judge configuration named"):
        create_judge_config(name="jury", backend="", model="", protocol="panel", rubric="test",
                            options={"members": ["longer", "nobody"]})
    create_judge_config(name="jury", backend="", model="", protocol="panel", rubric="test",
                        options={"members": ["longer", "shorter"]})
    with pytest.raises(JudgeConfigError, match="panel itself"):
        create_judge_config(name="jury2", backend="", model="", protocol="panel", rubric="test",
                            options={"members": ["longer", "jury"]})
    with pytest.raises(JudgeConfigError, match="panel only"):
        create_judge_config(name="single", backend="fake", model="m", protocol="logprob", rubric="test",
                            options={"members": ["longer", "shorter"]})


def test_the_match_page_and_the_agreement_view_show_the_panel_and_its_members(client):
    factories.rubric()
    members()
    panel = create_judge_config(name="jury", backend="", model="", protocol="panel", rubric="test",
                                options={"members": ["longer", "shorter"], "rule": "mean"})
    competitors = factories.prompts_with_outputs(MODELS, prompts=1)
    tournament = create_tournament(name="t", judge_config=panel, competitors=competitors, schedule="round_robin")
    factories.judge_all(tournament)
    judgment = Judgment.objects.get(match__tournament=tournament)
    match = judgment.match
    HumanVote.objects.create(prompt=match.prompt, output_a=match.output_a, output_b=match.output_b, winner="a")
    page = client.get(reverse("match", args=[match.pk])).content.decode()
    assert "Members (2, rule: mean)" in page and "longer v1" in page and "shorter v1" in page
    report = agreement.compute_agreement()
    kinds = {j["judge"]: j["kind"] for j in report["judges"]}
    assert kinds["jury v1"] == "configuration"
    assert kinds["longer v1 in panel jury v1"] == "panel member"
    assert report["panels"] == [{"panel": "jury", "pairs": [
        {"first": "longer v1", "second": "shorter v1", "agreement": 0.0, "matches": 1}]}]
    assert "Panels: how often members agree" in client.get("/judges/").content.decode()


def test_the_self_preference_guard_keeps_a_member_of_a_competitors_family_out_of_the_vote():
    from judges.panel import abstains

    assert abstains("GPT", ["gpt", "claude"]) and not abstains("", ["", "gpt"]) and not abstains("llama", ["gpt"])
    verdict = combine([MemberVerdict("x", Verdict(winner="a", prob_a=0.9), abstained=True),
                       vote("b", name="y", prob=0.2)], rule="mean")
    assert verdict.prob_a == pytest.approx(0.2) and "Abstained: x" in verdict.rationale
    assert verdict.extra["panel"]["members"][0]["abstained"] is True


def test_a_panel_whose_members_all_abstain_gives_no_verdict():
    from judges.base import ConfigurationError

    with pytest.raises(ConfigurationError, match="abstained"):
        combine([MemberVerdict("x", Verdict(winner="a"), abstained=True)], rule="majority")


def test_a_panel_is_added_through_the_api(api):
    factories.rubric()
    members()
    response = api.client.post("/api/v1/judges", {"name": "jury", "backend": "panel", "model": "",
                                                  "protocol": "panel", "rubric": "test",
                                                  "options": {"members": ["longer", "shorter"], "rule": "majority",
                                                              "self_preference_guard": True}},
                               content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api.token}")
    assert response.status_code == 201, response.content
    assert response.json()["options"]["rule"] == "majority" and len(response.json()["options"]["member_ids"]) == 2
