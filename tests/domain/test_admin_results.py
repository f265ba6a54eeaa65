"""Stored results (judgments, matches, human votes) are evidence: the admin shows them, never edits them."""

import pytest

from arena import judging
from arena.lifecycle import create_tournament
from arena.models import HumanVote, Judgment, Match, Output
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def judged_match() -> Match:
    competitors = factories.prompts_with_outputs({"short": 2, "long": 9}, prompts=1)
    tournament = create_tournament(name="cup", judge_config=factories.fake_judge(), competitors=competitors,
                                   schedule="anchor", anchor=competitors[0])
    match = tournament.matches.get()
    judging.judge_matches(match_ids=[match.pk])
    return match


@pytest.fixture
def vote(judged_match) -> HumanVote:
    return HumanVote.objects.create(prompt=judged_match.prompt, output_a=judged_match.output_a,
                                    output_b=judged_match.output_b, winner="a")


@pytest.mark.parametrize("model", ["judgment", "match", "humanvote"])
def test_results_can_be_viewed_but_not_added_or_changed_in_the_admin(admin_client, judged_match, vote, model):
    row = {"judgment": judged_match.judgment, "match": judged_match, "humanvote": vote}[model]
    listing = admin_client.get(f"/admin/arena/{model}/")
    assert listing.status_code == 200
    page = admin_client.get(f"/admin/arena/{model}/{row.pk}/change/")
    assert page.status_code == 200
    assert b'type="submit" value="Save"' not in page.content and b'name="_save"' not in page.content
    assert admin_client.get(f"/admin/arena/{model}/add/").status_code == 403


def test_posting_a_changed_judgment_to_the_admin_changes_nothing(admin_client, judged_match):
    judgment = judged_match.judgment
    before = (judgment.winner, judgment.score_a)
    response = admin_client.post(f"/admin/arena/judgment/{judgment.pk}/change/",
                                 {"winner": "tie", "score_a": "0.5", "weight": "1"})
    assert response.status_code == 403
    judgment.refresh_from_db()
    assert (judgment.winner, judgment.score_a) == before


def test_posting_a_changed_vote_to_the_admin_changes_nothing(admin_client, vote):
    other = Output.objects.exclude(pk__in=[vote.output_a_id, vote.output_b_id]).first()
    response = admin_client.post(f"/admin/arena/humanvote/{vote.pk}/change/",
                                 {"prompt": vote.prompt_id, "output_a": vote.output_a_id,
                                  "output_b": (other or vote.output_a).pk, "winner": "b"})
    assert response.status_code == 403
    vote.refresh_from_db()
    assert vote.winner == "a"


def test_a_tournament_and_its_results_can_still_be_deleted_in_the_admin(admin_client, judged_match):
    tournament = judged_match.tournament
    response = admin_client.post(f"/admin/arena/tournament/{tournament.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Match.objects.exists() and not Judgment.objects.exists()
