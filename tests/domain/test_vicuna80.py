"""The Vicuna-80 demo data: human votes, GPT reviews with rationales, and their agreement."""

import time

import pytest

from arena import agreement, leaderboards
from arena.demo_vicuna80 import load_vicuna80
from arena.models import HumanVote, ImportedBattle, Output, Prompt

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def few_bootstrap_rounds(settings):
    settings.ARENA_BOOTSTRAP_ROUNDS = 50  # the order of the models is what these tests read


def test_vicuna80_loads_votes_and_reviews_in_seconds_and_twice_adds_nothing():
    started = time.perf_counter()
    first = load_vicuna80()
    seconds = time.perf_counter() - started
    assert first["prompts"]["created"] == 80 and Output.objects.count() == 400
    # 1,760 votes between the five models with answers, less those on the question gpt-4 did not answer.
    assert first["human_votes"] == HumanVote.objects.count() == 1760
    assert ImportedBattle.objects.filter(source="gpt-4-review").count() == 1600
    assert ImportedBattle.objects.filter(source="gpt-3.5-review").count() == 1760
    review = ImportedBattle.objects.filter(source="gpt-4-review").first()
    assert review.prompt is not None and "Assistant" in review.rationale
    assert seconds < 60  # generous for a loaded CI machine; a few seconds here
    again = load_vicuna80()
    assert again["human_votes"] == 0 and again["reviews"] == {"created": 0, "unchanged": 3360}
    assert Prompt.objects.filter(dataset__name="vicuna80").count() == 80


def test_the_gpt_reviews_agree_with_the_shipped_human_votes_well_above_chance():
    load_vicuna80()
    report = agreement.compute_agreement()
    assert report["human_items"] > 700 and 0.3 < report["human_human_agreement"] < 0.9
    judges = {j["judge"]: j for j in report["judges"]}
    assert set(judges) == {"gpt-4-review", "gpt-3.5-review"}
    gpt4 = judges["gpt-4-review"]
    assert gpt4["kind"] == "source" and gpt4["items"] > 700
    assert gpt4["agreement"] > 0.5 and gpt4["cohen_kappa"] > 0.2
    assert gpt4["position_consistency"] is not None and gpt4["spearman"] > 0.5


def test_the_human_leaderboard_fills_from_the_shipped_votes():
    load_vicuna80()
    board = leaderboards.get_leaderboard(leaderboards.LeaderboardQuery(source="human"))
    assert {row["model"] for row in board["models"]} == {"bard", "claude-v1", "gpt-3.5-turbo", "gpt-4", "vicuna-13b"}
    assert board["models"][0]["model"] == "gpt-4"


def test_the_dashboard_shows_the_human_and_gpt4_leaderboards_and_names_their_sources(client):
    load_vicuna80()
    page = client.get("/").content.decode()
    assert "Human votes" in page and "source <code>human</code>" in page
    assert "GPT-4 reviews" in page and "source <code>gpt-4-review</code>" in page
    assert "Bradley-Terry, all sources" in page
    assert "Agreement with the human votes (800 items" in page and "<code>gpt-4-review</code> 0.65" in page


def test_the_demo_tournament_has_the_default_judge_play_every_vicuna80_prompt():
    from arena.demo_vicuna80 import ensure_vicuna80_tournament

    load_vicuna80()
    tournament = ensure_vicuna80_tournament()
    assert tournament.judge_config.name == "default" and tournament.judge_config.protocol == "logprob"
    assert tournament.matches.values("prompt").distinct().count() == 80
    assert ensure_vicuna80_tournament() == tournament  # once only
