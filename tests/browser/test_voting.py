"""The vote page and the judges page in a real browser (Debian's chromium, Playwright, live server).

Screenshots of each page, desktop and 390 px wide, go to ``$ARENA_ARTIFACTS`` (default ``var/artifacts``).
"""

import re

import pytest
from django.core.cache import cache

from arena.demo_vicuna80 import load_vicuna80
from arena.models import Competitor, Dataset, HumanVote, Output, Prompt
from tests.browser.support import needs_chromium, screenshots

pytestmark = [
    pytest.mark.django_db(transaction=True),
    needs_chromium,
]
MODELS = ("zephyr-secret-one", "orca-secret-two")
HOSTILE = ("<script>window.pwned=1</script>\n\n"
           '<img src=x onerror="window.pwned=1">\n\n'
           "[click me](javascript:window.pwned=1)\n\n"
           "```python\nprint('a code block that is long enough to need its own horizontal scroll bar, really')\n```")


@pytest.fixture(autouse=True)
def quick_votes(settings):
    # No minimum reading time, so no test waits it out; test_a_too_fast_vote_... checks the minimum.
    settings.ARENA_VOTE_MIN_SECONDS = 0
    cache.clear()


@pytest.fixture
def battle_data():
    dataset = Dataset.objects.create(name="demo")
    prompt = Prompt.objects.create(external_id="p1", dataset=dataset, category="writing",
                                   turns=["Write a **haiku** about rain.", "Now one about snow."])
    second = Prompt.objects.create(external_id="p2", dataset=dataset, category="writing", turns=["Say hi."])
    for name in MODELS:
        competitor = Competitor.objects.create(name=name)
        Output.objects.create(competitor=competitor, prompt=prompt, turns=[HOSTILE, "Snow falls.\n\n- one\n- two"])
        Output.objects.create(competitor=competitor, prompt=second, turns=[HOSTILE])


def test_mouse_and_keyboard_votes_reveal_the_names_only_after_the_vote(live_server, browser, battle_data):
    page = browser.new_page()
    page.goto(live_server.url + "/vote/")
    source = page.content()
    assert not any(name in source for name in MODELS)
    assert page.evaluate("window.pwned") is None and page.locator(".answer img, .answer script").count() == 0
    assert page.locator('.answer a[href^="javascript"]').count() == 0
    assert page.locator(".answer pre code").count() == 2  # code blocks render as code
    screenshots(page, "vote")
    page.evaluate("window.stillHere = true")  # an htmx swap keeps it; a full reload would not
    page.get_by_role("button", name="A is better", exact=True).click()
    page.get_by_role("link", name="Next battle").wait_for()
    revealed = page.locator(".reveal").inner_text()
    assert all(name in revealed for name in MODELS)
    screenshots(page, "vote-revealed")
    page.keyboard.press("Enter")  # the shortcut shown beside "Next battle"
    page.get_by_role("button", name="Both are bad", exact=True).wait_for()
    assert page.evaluate("window.stillHere") is True
    page.keyboard.press("n")  # the shortcut shown on "Both are bad"
    page.get_by_role("link", name="Next battle").wait_for()
    assert sorted(HumanVote.objects.values_list("winner", flat=True)) == ["a", "tie (bothbad)"]


def test_a_too_fast_vote_and_a_replayed_ticket_are_rejected(live_server, browser, battle_data, settings):
    settings.ARENA_VOTE_MIN_SECONDS = 30
    page = browser.new_page()
    page.goto(live_server.url + "/vote/")
    form = {"ticket": page.locator("input[name=ticket]").input_value(),
            "csrfmiddlewaretoken": page.locator("input[name=csrfmiddlewaretoken]").input_value(), "choice": "b"}
    page.get_by_role("button", name="Tie", exact=True).click()
    page.get_by_role("alert").wait_for()
    assert "too fast" in page.get_by_role("alert").inner_text()
    assert not HumanVote.objects.exists()
    settings.ARENA_VOTE_MIN_SECONDS = 0
    headers = {"Referer": live_server.url + "/vote/"}
    first = page.request.post(live_server.url + "/vote/", form=form, headers=headers, max_redirects=0)
    assert first.status == 302
    replay = page.request.post(live_server.url + "/vote/", form=form, headers=headers, max_redirects=0)
    assert replay.status == 409 and "one vote" in replay.text()
    assert HumanVote.objects.count() == 1


def test_voting_works_without_javascript(live_server, browser, battle_data):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/vote/?category=writing")
    assert not any(name in page.content() for name in MODELS)
    page.get_by_role("button", name="B is better", exact=True).click()
    assert re.search(r"/vote/voted/[\w-]+/\?category=writing$", page.url)
    assert all(name in page.locator(".reveal").inner_text() for name in MODELS)
    page.get_by_role("link", name="Next battle").click()
    assert page.url.endswith("/vote/?category=writing")
    page.get_by_role("button", name="Tie", exact=True).wait_for()
    assert HumanVote.objects.get().winner == "b"
    context.close()


def test_the_judges_page_shows_agreement_with_the_shipped_human_votes(live_server, browser):
    load_vicuna80()
    page = browser.new_page()
    page.goto(live_server.url + "/judges/")
    rows = page.locator("table.agreement tbody tr")
    assert rows.count() == 2
    assert "gpt-4-review" in page.locator("table.agreement").inner_text()
    assert "1760 human votes on 800 items" in page.locator("main").inner_text()
    screenshots(page, "judges")
    page.goto(live_server.url + "/vote/?dataset=vicuna80")
    screenshots(page, "vote-vicuna80")
    page.goto(live_server.url + "/accounts/login/")
    screenshots(page, "login")
    page.goto(live_server.url + "/")
    assert "Human votes" in page.locator("main").inner_text()
    screenshots(page, "dashboard-vicuna80")
