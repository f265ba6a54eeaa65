"""Benchmark quality, power and judge bias through the API and the pages, on the shipped Vicuna-80 votes
and on small boards made here."""

import pytest
from django.urls import reverse

from arena import leaderboards, lifecycle
from arena.demo_vicuna80 import load_vicuna80
from arena.models import Competitor, HumanVote, ImportedBattle, Output, Tournament
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def few_bootstrap_rounds(settings):
    settings.ARENA_BOOTSTRAP_ROUNDS = 100


def test_the_gpt_reviews_separate_and_agree_with_the_human_board_of_vicuna80(client):
    load_vicuna80()
    found = client.get("/api/v1/quality", {"source": "gpt-4-review", "reference_source": "human"}).json()
    assert (found["models"], found["pairs"]) == (5, 10)
    assert 0.7 <= found["separability"] <= 1.0 and found["separated_pairs"] == round(10 * found["separability"])
    # The humans separate most pairs; the review agrees on most of them, and never reverses one.
    assert found["reference_pairs_separated"] >= 6
    assert 0.5 < found["agreement_with_confidence"] <= 1.0
    assert 0 <= found["brier"] < 0.1 and found["brier_pairs"] == found["reference_pairs_separated"]
    assert found["spearman"] > 0.8 and found["kendall"] > 0.6
    assert [n["a"] for n in found["neighbours"]][0] == "gpt-4"
    assert all(n["decisive"] > 100 and 0.5 < n["detectable_win_rate"] < 0.65 for n in found["neighbours"])

    bias = client.get("/api/v1/bias", {"source": "gpt-4-review"}).json()
    assert bias["family"] == "gpt" and bias["verdicts"] == 1600
    assert bias["flip_rate"]["n"] == 800 and 0.1 < bias["flip_rate"]["value"] < 0.5
    # GPT-4 prefers the longer answer more often than the humans on the same items, and its own family.
    assert bias["prefer_longer"]["value"] > bias["human_prefer_longer"]["value"] > 0.5
    assert bias["self_preference"]["items"] > 100 and bias["self_preference"]["lift"] > 0

    page = client.get(reverse("leaderboard"), {"source": "gpt-4-review", "compare": "human"}).content.decode()
    assert "How sure is this ranking?" in page and "Agreement with confidence" in page
    judges = client.get(reverse("judges")).content.decode()
    assert "Bias: position, length and family" in judges and "gpt-4-review" in judges


def test_a_board_compared_with_itself_agrees_fully(client):
    factories.prompts_with_outputs({"short": 5, "medium": 60, "long": 200}, prompts=12)
    tournament = _tournament("self check", "round_robin")
    factories.judge_all(tournament)
    query = {"source": "judge", "tournament": tournament.name}
    found = client.get("/api/v1/quality", {**query, **{f"reference_{k}": v for k, v in query.items()}}).json()
    assert found["models"] == 3 and found["spearman"] == pytest.approx(1.0)
    assert found["agreement_with_confidence"] in (None, pytest.approx(1.0))
    assert found["separated_pairs"] == found["reference_pairs_separated"]


@pytest.mark.parametrize(("params", "message"), [
    ({"reference_source": "nobody"}, "unknown source 'nobody'"),
    ({"reference_source": "x\x00y"}, "NUL"),
    ({"reference_tournament": "missing"}, "unknown tournament"),
    ({"method": "glicko"}, "unknown method"),
])
def test_a_bad_quality_query_is_a_400_naming_the_problem(client, params, message):
    response = client.get("/api/v1/quality", params)
    assert response.status_code == 400 and message in response.json()["detail"]


def test_the_power_endpoint_gives_the_papers_sample_sizes(client):
    found = client.get("/api/v1/power", {"win_rate": 0.55, "alpha": 0.05, "power": 0.8, "tie_rate": 0.55}).json()
    assert (found["decisive"], found["total"]) == (617, 1372)
    assert client.get("/api/v1/power", {"win_rate": 0.55, "tie_rate": 0.3}).json()["total"] == 882


@pytest.mark.parametrize("params", [{"win_rate": 0.5}, {"win_rate": "nan"}, {"alpha": 0.7}, {"power": 1},
                                    {"tie_rate": 1}, {"win_rate": "1e309"}])
def test_impossible_power_questions_are_refused(client, params):
    response = client.get("/api/v1/power", params)
    assert response.status_code in (400, 422) and "detail" in response.json()


def test_bias_of_a_judge_configuration_counts_each_order_as_a_verdict(client):
    factories.prompts_with_outputs({"short": 5, "long": 400}, prompts=4)
    tournament = _tournament("bias cup", "round_robin")
    factories.judge_all(tournament)
    found = client.get(f"/api/v1/judges/{tournament.judge_config_id}/bias").json()
    # The fake judge picks the longer answer in both orders: no position bias, no flips, always longer.
    assert found["verdicts"] == 8 and found["first_slot_win_rate"] == {"value": 0.5, "n": 8}
    assert found["flip_rate"] == {"value": 0.0, "n": 4} and found["prefer_longer"]["value"] == 1.0
    assert client.get("/api/v1/judges/999999/bias").status_code == 404
    assert client.get(f"/api/v1/judges/{tournament.judge_config_id}/bias", {"min_length_gap": -1}).status_code == 400
    assert client.get("/api/v1/bias", {"source": "unknown"}).status_code == 400


def test_self_preference_compares_the_judge_families_win_rate_with_the_humans(client, settings):
    settings.ARENA_SOURCE_FAMILIES = {"house-review": "house"}
    short, long = factories.prompts_with_outputs({"ours": 5, "theirs": 400}, prompts=4)
    Competitor.objects.filter(pk=short.pk).update(family="house")
    for output in Output.objects.filter(competitor=short):
        other = Output.objects.get(prompt=output.prompt, competitor=long)
        ImportedBattle.objects.create(external_id=f"r{output.pk}", model_a=short, model_b=long, prompt=output.prompt,
                                      winner="model_a", score_a=1.0, source="house-review")
        HumanVote.objects.create(prompt=output.prompt, output_a=output, output_b=other, winner=HumanVote.Winner.B)
    found = client.get("/api/v1/bias", {"source": "house-review"}).json()
    assert found["self_preference"] == {"family": "house", "items": 4, "judge_win_rate": 1.0,
                                        "human_win_rate": 0.0, "lift": 1.0}
    assert found["prefer_longer"]["value"] == 0.0 and found["human_prefer_longer"]["value"] == 1.0


def test_the_estimate_says_which_edge_the_tournament_will_detect(client):
    factories.prompts_with_outputs({"a": 5, "b": 50, "c": 100}, prompts=20)
    judge = factories.fake_judge()
    _, estimate = lifecycle.open_tournament(name="sized", schedule="anchor", models=["a", "b", "c"], judge=judge.pk,
                                            anchor="b", start=False)
    # 20 matches per model against the anchor, 30% of them ties by default: 14 decisive ones.
    assert estimate.tie_rate == pytest.approx(0.3)
    assert 0.75 < estimate.detectable_win_rate < 0.9
    assert "each model against the anchor" in estimate.power_basis


def test_the_tournament_page_shows_quality_against_the_humans_when_they_voted(client):
    factories.prompts_with_outputs({"x": 5, "y": 200, "z": 400}, prompts=6)
    tournament = _tournament("voted cup", "round_robin")
    factories.judge_all(tournament)
    page = client.get(reverse("tournament", args=[tournament.pk])).content.decode()
    assert "How sure is this ranking?" not in page
    for output in Output.objects.filter(competitor__name="x"):
        for other in Output.objects.filter(prompt=output.prompt).exclude(pk=output.pk):
            HumanVote.objects.create(prompt=output.prompt, output_a=output, output_b=other, winner=HumanVote.Winner.B)
    page = client.get(reverse("tournament", args=[tournament.pk])).content.decode()
    assert "How sure is this ranking?" in page and "Against the <strong>human</strong> board" in page


def test_the_compare_control_works_without_javascript_and_htmx_sorting_swaps_the_board_alone(client):
    load = factories.prompts_with_outputs({"p": 5, "q": 200}, prompts=3)
    assert len(load) == 2
    tournament = _tournament("compare cup", "round_robin")
    factories.judge_all(tournament)
    page = client.get(reverse("leaderboard"), {"source": "judge", "compare": "judge"}).content.decode()
    assert 'id="c-compare"' in page and "Compare with" in page and "How sure is this ranking?" in page
    sorted_board = client.get(reverse("leaderboard"), {"source": "judge", "compare": "judge", "sort": "model"},
                              HTTP_HX_REQUEST="true", HTTP_HX_TARGET="board").content.decode()
    assert 'id="board"' in sorted_board and "How sure" not in sorted_board
    bad = client.get(reverse("leaderboard"), {"compare": "nobody"}).content.decode()
    assert "unknown source &#x27;nobody&#x27;" in bad or "unknown source 'nobody'" in bad


def test_an_outputs_upload_can_name_the_models_family(api):
    assert api.post_rows("prompts", [{"id": "p1", "prompt": "hi"}]).status_code == 201
    rows = [{"prompt_id": "p1", "model": "m1", "output": "a", "metadata": {"family": "gpt"}}]
    assert api.post_rows("outputs", rows).status_code == 201
    assert Competitor.objects.get(name="m1").family == "gpt"
    bad = [{"prompt_id": "p1", "model": "m2", "output": "a", "metadata": {"family": "x" * 101}}]
    response = api.post_rows("outputs", bad)
    assert response.status_code in (400, 422) and "family" in response.content.decode()
    assert not Competitor.objects.filter(name="m2").exists()


def _tournament(name: str, schedule: str) -> Tournament:
    judge = factories.fake_judge(name=f"judge of {name}")
    tournament, _ = lifecycle.open_tournament(name=name, schedule=schedule,
                                              models=list(Competitor.objects.values_list("name", flat=True)),
                                              judge=judge.pk)
    return tournament


def test_an_anchor_tournament_page_shows_the_anchors_informativeness(client):
    factories.prompts_with_outputs({"tiny": 1, "mid": 100, "big": 300}, prompts=4)
    judge = factories.fake_judge(name="anchor judge")
    tournament, _ = lifecycle.open_tournament(name="anchored", schedule="anchor", models=["tiny", "mid", "big"],
                                              judge=judge.pk, anchor="mid")
    factories.judge_all(tournament)
    # Longer wins: big beats the anchor and tiny loses to it on every prompt, so every case differs.
    page = client.get(reverse("tournament", args=[tournament.pk])).content.decode()
    assert "<strong>100%</strong> of\n    4 (prompt, pair of models) cases" in page


def test_an_anchor_screen_ranks_the_mid_strength_model_first_and_the_suggestion_uses_it():
    from arena import anchors, estimates, quality

    factories.prompts_with_outputs({"tiny": 1, "small": 50, "mid": 150, "large": 300, "huge": 600}, prompts=12)
    judge = factories.fake_judge(name="screen judge")
    models = ["tiny", "small", "mid", "large", "huge"]
    opened = anchors.screen_anchors(models=models, judge=judge.pk, prompts=10)
    # The cost comes first: five drafts, each 4 models x 10 prompts against its anchor.
    assert [(t.status, e.matches) for t, e in opened] == [("draft", 40)] * 5
    competitors = list(Competitor.objects.filter(name__in=models))
    assert estimates.suggest_anchor(competitors=competitors) is None  # no leaderboard and no finished screen yet
    for tournament, _ in opened:
        lifecycle.start(tournament=tournament)
        factories.judge_all(tournament)
    ranked = quality.screened_anchors(competitors=competitors)
    # Longer always wins: the middle model splits the others 2-2 on every prompt; the extremes split nobody.
    assert ranked[0]["anchor"] == "mid" and ranked[0]["informativeness"] == pytest.approx(4 / 6)
    assert {r["anchor"]: r["informativeness"] for r in ranked}["huge"] == 0.0
    suggestion = estimates.suggest_anchor(competitors=competitors)
    assert suggestion.competitor.name == "mid" and "most informative anchor of the screen" in suggestion.reason


def test_the_screen_command_shows_the_cost_first_and_refuses_unknown_models():
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    factories.prompts_with_outputs({"a": 1, "b": 50, "c": 150}, prompts=4)
    factories.fake_judge(name="cmd judge")
    out = StringIO()
    call_command("screen_anchors", "--models", "a,b,c", "--judge", "cmd judge", "--prompts", "3", stdout=out)
    assert "3 screens, 36 judge calls in all" in out.getvalue()
    assert set(Tournament.objects.values_list("status", flat=True)) == {"draft"}
    with pytest.raises(CommandError, match="nobody"):
        call_command("screen_anchors", "--models", "a,nobody", "--judge", "cmd judge", stdout=out)


def test_an_adaptive_tournament_stops_when_its_target_is_met_and_says_so(client, settings):
    settings.ARENA_ADAPTIVE_ROUNDS = 30
    factories.prompts_with_outputs({"one": 1, "two": 200, "three": 400}, prompts=40)
    judge = factories.fake_judge(name="stop judge")
    stopped, _ = lifecycle.open_tournament(name="stops", schedule="adaptive", models=["one", "two", "three"],
                                           judge=judge.pk, stop={"rule": "neighbours"})
    for _ in range(30):
        factories.judge_all(stopped)  # ten rounds at a time
    stopped.refresh_from_db()
    assert stopped.status == "finished" and stopped.plan["stopped"]["rule"] == "neighbours"
    assert stopped.plan["stopped"]["after_round"] < 30
    page = client.get(reverse("tournament", args=[stopped.pk])).content.decode()
    assert "Stopped at its target after round" in page and "every pair of neighbours separated" in page


@pytest.mark.parametrize(("schedule", "stop", "message"), [
    ("round_robin", {"rule": "neighbours"}, "adaptive schedule only"),
    ("adaptive", {"rule": "tau"}, "unknown stop rule"),
    ("adaptive", {"rule": "top_k", "value": 0}, "whole number"),
    ("adaptive", {"rule": "separability", "value": 2}, "share"),
])
def test_a_bad_stop_rule_is_refused_and_creates_nothing(api, schedule, stop, message):
    factories.prompts_with_outputs({"one": 1, "two": 200}, prompts=2)
    judge = factories.fake_judge(name="refusing judge")
    response = api.client.post("/api/v1/tournaments", data={"name": "bad stop", "schedule": schedule,
                                                             "models": ["one", "two"], "judge": judge.pk,
                                                             "stop": stop},
                               content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api.token}")
    assert response.status_code == 400 and message in response.json()["detail"]
    assert not Tournament.objects.exists()


def test_the_neighbours_section_follows_each_new_snapshot_of_the_board(client, api, local_cache):
    # The section is rendered once per snapshot and served from the cache with it (Redis in production).
    def battles(first: int, count: int) -> list[dict]:
        return [{"id": f"b{i}", "model_a": "alpha", "model_b": "beta", "winner": "model_a", "source": "reviews"}
                for i in range(first, first + count)]

    def neighbours_row() -> str:
        page = client.get(reverse("leaderboard"), {"source": "reviews"}).content.decode()
        return page[page.index("alpha › beta"):][:60]

    assert api.post_rows("battles", battles(0, 10)).status_code == 201
    assert "<td>10 (0)</td>" in neighbours_row()
    assert "<td>10 (0)</td>" in neighbours_row()  # served from the cache
    assert api.post_rows("battles", battles(10, 15)).status_code == 201
    leaderboards.recompute_stale()  # the beat task
    assert "<td>25 (0)</td>" in neighbours_row()
