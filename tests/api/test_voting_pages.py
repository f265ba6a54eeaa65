"""The vote page, the judges page and /api/v1/agreement through Django's test client."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from arena.models import BattleTicket, HumanVote, ImportedBattle, LeaderboardSnapshot, Output
from tests import factories

pytestmark = pytest.mark.django_db
NAMES = ("first-secret-model", "second-secret-model")
CLOSED_REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                            "LOCATION": "redis://127.0.0.1:1/0"}}


@pytest.fixture(autouse=True)
def arena(settings):
    settings.ARENA_VOTE_MIN_SECONDS = 2
    cache.clear()
    competitors = factories.prompts_with_outputs({NAMES[0]: 3, NAMES[1]: 9}, prompts=3)
    Output.objects.update(turns=["An answer that does not say who wrote it."])  # the factory's texts name the model
    return competitors


def ticket_of(response) -> str:
    return re.search(r'name="ticket" value="([^"]+)"', response.content.decode()).group(1)


def age(token: str) -> None:
    BattleTicket.objects.filter(token=token).update(issued_at=timezone.now() - timedelta(seconds=5))


def test_the_battle_page_names_no_model_and_its_ticket_is_random(client):
    page = client.get("/vote/")
    body = page.content.decode()
    assert page.status_code == 200 and not any(n in body for n in NAMES)
    for label in ("A is better", "B is better", "Tie", "Both are bad"):
        assert f'aria-label="{label}"' in body
    token = ticket_of(page)
    ticket = BattleTicket.objects.get(token=token)
    assert str(ticket.pk) not in token.split("-") and len(token) >= 30


def test_a_plain_form_vote_redirects_to_the_reveal_and_htmx_gets_the_partial(client):
    token = ticket_of(client.get("/vote/?category=chat"))
    age(token)
    response = client.post("/vote/", {"ticket": token, "choice": "a", "category": "chat"})
    assert response.status_code == 302 and response["Location"].endswith("?category=chat")
    revealed = client.get(response["Location"]).content.decode()
    assert all(n in revealed for n in NAMES) and "Next battle" in revealed
    token = ticket_of(client.get("/vote/", HTTP_HX_REQUEST="true"))
    age(token)
    partial = client.post("/vote/", {"ticket": token, "choice": "tie"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and "<html" not in partial.content.decode()
    assert all(n in partial.content.decode() for n in NAMES)
    assert HumanVote.objects.count() == 2


def test_rejected_votes_answer_4xx_with_a_message_and_change_nothing(client):
    token = ticket_of(client.get("/vote/"))
    fast = client.post("/vote/", {"ticket": token, "choice": "a"})
    assert fast.status_code == 429 and "too fast" in fast.content.decode()
    unknown = client.post("/vote/", {"ticket": "nope", "choice": "a"})
    assert unknown.status_code == 404 and "unknown" in unknown.content.decode()
    assert not HumanVote.objects.exists()


def test_another_session_cannot_see_or_use_someone_elses_ticket(client, django_user_model):
    from django.test import Client

    token = ticket_of(client.get("/vote/"))
    age(token)
    other = Client()
    assert other.post("/vote/", {"ticket": token, "choice": "a"}).status_code == 404
    client.post("/vote/", {"ticket": token, "choice": "a"})
    assert other.get(f"/vote/voted/{token}/").status_code == 404


def test_csrf_is_required_on_the_vote_form(client):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    token = ticket_of(strict.get("/vote/"))
    age(token)
    assert strict.post("/vote/", {"ticket": token, "choice": "a"}).status_code == 403
    assert not HumanVote.objects.exists()


def test_a_setting_can_require_login_and_logged_in_votes_are_recorded(client, settings, django_user_model):
    settings.ARENA_VOTE_REQUIRE_LOGIN = True
    response = client.get("/vote/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get("/accounts/login/").status_code == 200
    user = django_user_model.objects.create_user("voter", password="a long password")
    assert client.post("/accounts/login/", {"username": "voter", "password": "a long password"}).status_code == 302
    token = ticket_of(client.get("/vote/"))
    age(token)
    client.post("/vote/", {"ticket": token, "choice": "b"})
    assert HumanVote.objects.get().user == user
    assert client.post("/accounts/logout/").status_code == 302


def test_the_admin_cannot_add_a_vote_at_all(admin_client):
    # Results are evidence: the admin shows votes but adds or edits none (the model's clean() and a
    # check constraint refuse impossible ones on every other path, see tests/domain/test_voting.py).
    output = Output.objects.first()
    response = admin_client.post("/admin/arena/humanvote/add/", {
        "prompt": output.prompt_id, "output_a": output.pk, "output_b": output.pk, "winner": "a"})
    assert response.status_code == 403
    assert not HumanVote.objects.exists()


def test_agreement_api_and_page_report_each_judge_source_against_the_humans(client):
    outputs = {(o.prompt_id, o.competitor.name): o for o in Output.objects.select_related("competitor")}
    prompts = sorted({p for p, _ in outputs})
    for prompt in prompts:
        a, b = outputs[(prompt, NAMES[0])], outputs[(prompt, NAMES[1])]
        HumanVote.objects.create(prompt_id=prompt, output_a=a, output_b=b, winner="b")
        HumanVote.objects.create(prompt_id=prompt, output_a=b, output_b=a, winner="a")
        ImportedBattle.objects.create(external_id=f"r{prompt}", model_a=a.competitor, model_b=b.competitor,
                                      prompt_id=prompt, score_a=0.0, winner="model_b", source="review")
    body = client.get("/api/v1/agreement").json()
    assert body["human_items"] == 3 and body["human_human_agreement"] == 1.0
    (review,) = body["judges"]
    # Two models, one always better: no finite ratings to rank, so no rank correlation (not a made-up 1).
    assert review == {"judge": "review", "kind": "source", "items": 3, "agreement": 1.0, "agreement_no_ties": 1.0,
                      "cohen_kappa": 1.0, "position_consistency": None, "spearman": None, "kendall": None}
    page = client.get("/judges/").content.decode()
    assert "review" in page and "6 human votes on 3 items" in page


def test_with_redis_down_a_voter_gets_a_battle_votes_and_marks_the_leaderboards_stale(client, settings):
    # Pair statistics, rate limits and the leaderboards' generation all live in the cache: each is
    # only a saving or a limit, so a closed port must not turn a vote into an error page.
    snapshot = LeaderboardSnapshot.objects.create(key="k", params={}, payload={})
    settings.CACHES = CLOSED_REDIS
    for choice in ("a", "bothbad"):
        token = ticket_of(client.get("/vote/", HTTP_HX_REQUEST="true"))
        age(token)
        response = client.post("/vote/", {"ticket": token, "choice": choice}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and all(n in response.content.decode() for n in NAMES)
    assert HumanVote.objects.count() == 2
    snapshot.refresh_from_db()
    assert snapshot.stale
