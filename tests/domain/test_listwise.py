"""A groupwise tournament with a listwise judge: one call per permutation of each group, pairwise
evidence for every pair, the estimate counting the same calls, and the match page showing the group."""

import pytest
from django.urls import reverse

from arena import estimates
from arena.lifecycle import create_tournament
from arena.models import JudgeConfig, Judgment
from arena.scheduling import groupwise_groups
from tests import factories

pytestmark = pytest.mark.django_db

MODELS = {"tiny": 3, "small": 10, "medium": 25, "large": 50, "huge": 90}


def listwise_judge(name="listwise", **options) -> JudgeConfig:
    return JudgeConfig.objects.create(name=name, backend="fake", model="fake-longer-wins", protocol="listwise",
                                      prompt_style="chat", options=options, rubric=factories.rubric(),
                                      both_orders=False)


@pytest.mark.parametrize(("n", "k"), [(7, 3), (5, 4), (16, 8), (9, 2), (64, 5), (3, 8)])
def test_groups_cover_everyone_never_leave_one_alone_and_overlap_across_prompts(n, k):
    field = list(range(n))
    first, second = groupwise_groups(field, 0, k), groupwise_groups(field, 1, k)
    assert sorted({c for g in first for c in g}) == field
    assert all(2 <= len(g) <= k for g in first + second)
    # Connected across the two prompts: union-find over the groups' members.
    parent = {c: c for c in field}

    def root(c):
        while parent[c] != c:
            c = parent[c]
        return c

    for group in first + second:
        for member in group[1:]:
            parent[root(member)] = root(group[0])
    assert len({root(c) for c in field}) == 1


def test_a_groupwise_tournament_judges_each_group_in_one_call_per_permutation():
    competitors = factories.prompts_with_outputs(MODELS, prompts=2)
    config = listwise_judge(group_size=3, permutations=2)
    tournament = create_tournament(name="g", judge_config=config, competitors=competitors, schedule="groupwise")
    # 5 models in groups of 3 and 2 per prompt: 3 + 1 pairs per prompt.
    assert tournament.matches.count() == 2 * 4
    estimate = estimates.estimate(tournament=tournament)
    factories.judge_all(tournament)
    judgments = list(Judgment.objects.filter(match__tournament=tournament).select_related(
        "match__competitor_a", "match__competitor_b"))
    assert len(judgments) == 8
    # Two groups per prompt, two permutations each (a group of two has only two cyclic shifts).
    assert sum(j.judge_calls for j in judgments) == 2 * 2 * 2 == estimate.judge_calls
    for judgment in judgments:
        lengths = MODELS[judgment.match.competitor_a.name], MODELS[judgment.match.competitor_b.name]
        assert (judgment.prob_a > 0.5) == (lengths[0] > lengths[1])
        listwise = judgment.forward["extra"]["listwise"]
        assert judgment.match.competitor_a.name in listwise["group"]
        assert len(listwise["permutations"]) == 2


def test_a_listwise_judge_plays_pairwise_schedules_as_groups_of_two():
    competitors = factories.prompts_with_outputs({"short": 5, "long": 50}, prompts=1)
    tournament = create_tournament(name="rr", judge_config=listwise_judge(), competitors=competitors,
                                   schedule="round_robin")
    factories.judge_all(tournament)
    judgment = Judgment.objects.get(match__tournament=tournament)
    winner = judgment.match.competitor_a if judgment.winner == "a" else judgment.match.competitor_b
    assert winner.name == "long" and judgment.judge_calls == 2


def test_the_match_page_shows_the_group_its_permutations_and_label_probabilities(client):
    competitors = factories.prompts_with_outputs(MODELS, prompts=1)
    tournament = create_tournament(name="g", judge_config=listwise_judge(group_size=5, permutations=2),
                                   competitors=competitors, schedule="groupwise")
    factories.judge_all(tournament)
    judgment = Judgment.objects.filter(match__tournament=tournament).first()
    page = client.get(reverse("match", args=[judgment.match_id])).content.decode()
    assert "Listwise judgment of the group" in page
    assert "5 answers, 2 permutations, via logprob" in page
    assert page.count("Permutation ") == 2
    assert "[E]" in page and "huge" in page


@pytest.mark.parametrize(("options", "problem"), [
    ({"group_size": 9}, "group_size"),
    ({"permutations": 0}, "permutations"),
    ({"permutation_kind": "random"}, "permutation_kind"),
])
def test_a_listwise_judge_with_bad_options_is_refused_through_the_api(api, options, problem):
    response = api.client.post("/api/v1/judges", {"name": "lw", "backend": "fake", "model": "m",
                                                  "protocol": "listwise", "options": options},
                               content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api.token}")
    assert response.status_code == 422 and problem in response.json()["detail"]


def test_listwise_options_on_another_protocol_are_refused(api):
    response = api.client.post("/api/v1/judges", {"name": "lw", "backend": "fake", "model": "m",
                                                  "protocol": "logprob", "options": {"group_size": 4}},
                               content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api.token}")
    assert response.status_code == 422 and "listwise protocol only" in response.json()["detail"]


def test_a_groupwise_tournament_is_created_through_the_api_with_its_estimate(api):
    factories.prompts_with_outputs(MODELS, prompts=2)
    listwise_judge(group_size=5, permutations=2)
    response = api.client.post("/api/v1/tournaments", {"name": "cup", "schedule": "groupwise", "judge": "listwise",
                                                       "models": list(MODELS)},
                               content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api.token}")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["estimate"]["matches"] == 2 * 10 and body["estimate"]["judge_calls"] == 2 * 2


def test_the_new_tournament_page_offers_the_groupwise_schedule(admin_client):
    page = admin_client.get("/tournaments/new").content.decode()
    assert 'value="groupwise"' in page


def test_a_groupwise_tournament_takes_no_new_models_once_drawn():
    from arena.tournaments import TournamentError, add_competitors

    competitors = factories.prompts_with_outputs(MODELS, prompts=1)
    tournament = create_tournament(name="g", judge_config=listwise_judge(), competitors=competitors[:3],
                                   schedule="groupwise")
    with pytest.raises(TournamentError, match="groups are drawn once"):
        add_competitors(tournament=tournament, competitors=competitors[3:])
