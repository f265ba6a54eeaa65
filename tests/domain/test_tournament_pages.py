"""Tournament pages through Django's test client: list, create form and its estimate, the detail page
with controls, and the match page with untrusted outputs rendered as sanitised Markdown."""

import pytest
from django.urls import reverse

from arena import lifecycle
from arena.models import Match, Tournament
from tests import factories

pytestmark = pytest.mark.django_db

HOSTILE = '**bold** <script>window.pwned=1</script><img src=x onerror="alert(1)">'


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create(username="staff", is_staff=True)
    client.force_login(user)
    return client


@pytest.fixture
def data():
    factories.prompts_with_outputs({"small": 5, "large": 60, "huge": 120}, prompts=2)
    return factories.fake_judge()


def form(judge, **overrides) -> dict:
    return {"name": "web cup", "schedule": "round_robin", "models": ["small", "large", "huge"], "judge": judge.pk,
            "dataset": "", "brackets_per_prompt": 1, "seeding": "random", **overrides}


def test_the_estimate_partial_answers_as_fields_change_and_creates_nothing(staff, data):
    response = staff.post(reverse("tournament-estimate"), form(data), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "<dt>Matches</dt><dd>6</dd>" in html and "<dt>Judge calls</dt><dd>12</dd>" in html
    problem = staff.post(reverse("tournament-estimate"), form(data, models=["small"]), HTTP_HX_REQUEST="true")
    assert "at least two models" in problem.content.decode()
    assert not Tournament.objects.exists()


def test_creating_from_the_form_redirects_to_the_running_tournament(staff, data):
    response = staff.post(reverse("tournament-new"), form(data))
    tournament = Tournament.objects.get(name="web cup")
    assert response.status_code == 302 and response["Location"] == reverse("tournament", args=[tournament.pk])
    assert tournament.status == "running" and tournament.matches.count() == 6
    page = staff.get(reverse("tournament", args=[tournament.pk])).content.decode()
    assert 'hx-trigger="every 3s"' in page and ">Pause</button>" in page
    listing = staff.get(reverse("tournaments")).content.decode()
    assert "web cup" in listing and "0/6" in listing


def test_a_refused_form_shows_why_and_creates_nothing(staff, data):
    response = staff.post(reverse("tournament-new"), form(data, schedule="anchor", anchor="nobody"))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    response = staff.post(reverse("tournament-new"), form(data, prompt_ids="set-0, missing"))
    assert "unknown prompt id(s) in this selection: missing" in response.content.decode()
    assert not Tournament.objects.exists()


def test_the_form_and_controls_are_for_staff_only(client, data):
    assert client.get(reverse("tournament-new")).status_code == 302  # to the login page
    tournament, _ = lifecycle.open_tournament(name="t", schedule="round_robin", models=["small", "large"],
                                              judge="fake")
    assert client.post(reverse("tournament-action", args=[tournament.pk, "pause"])).status_code == 302
    assert Tournament.objects.get(pk=tournament.pk).status == "running"
    assert "Pause</button>" not in client.get(reverse("tournament", args=[tournament.pk])).content.decode()


def test_pause_resume_and_cancel_buttons_drive_the_lifecycle(staff, data):
    tournament, _ = lifecycle.open_tournament(name="t", schedule="round_robin", models=["small", "large"],
                                              judge="fake")
    staff.post(reverse("tournament-action", args=[tournament.pk, "pause"]))
    page = staff.get(reverse("tournament", args=[tournament.pk])).content.decode()
    assert "paused" in page and "every 3s" not in page and ">Resume</button>" in page
    staff.post(reverse("tournament-action", args=[tournament.pk, "resume"]))
    assert Tournament.objects.get(pk=tournament.pk).status == "running"
    staff.post(reverse("tournament-action", args=[tournament.pk, "cancel"]))
    assert set(Match.objects.values_list("status", flat=True)) == {"cancelled"}
    again = staff.post(reverse("tournament-action", args=[tournament.pk, "cancel"]), follow=True)
    assert "cancelled already" in again.content.decode()


def test_the_match_page_shows_both_orders_and_renders_outputs_as_sanitised_markdown(client, data):
    tournament, _ = lifecycle.open_tournament(name="t", schedule="round_robin", models=["small", "huge"],
                                              judge="fake")
    match = tournament.matches.first()
    match.output_a.turns = [HOSTILE]
    match.output_a.save()
    factories.judge(match_ids=[match.pk])
    html = client.get(reverse("match", args=[match.pk])).content.decode()
    assert "<strong>bold</strong>" in html
    # Raw HTML in an output is shown as text, never run.
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in html
    assert "<script>window.pwned" not in html and "<img" not in html
    assert "Output A shown first" in html and "Output B shown first" in html
    assert 'id="winner"' in html and "Cache hit" in html and "No human votes on this pair yet" in html


def test_a_bracket_tournament_shows_who_beat_whom_round_by_round(client, data):
    tournament, _ = lifecycle.open_tournament(name="b", schedule="single_elimination",
                                              models=["small", "large", "huge"], judge="fake")
    for _ in range(4):
        factories.judge(match_ids=list(tournament.matches.pending().values_list("pk", flat=True)))
    html = client.get(reverse("tournament", args=[tournament.pk])).content.decode()
    assert html.count('aria-label="round 2"') == 2  # two prompts, each with a final
    assert "<strong>huge</strong> beat" in html
