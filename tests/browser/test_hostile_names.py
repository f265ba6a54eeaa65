"""A hostile model name stored straight in the database renders as text on every page in a real browser
(Debian's chromium, Playwright, live server), runs no script, and links to its own page (issue 13).

Screenshots of each page, desktop and 390 px wide, go to ``$ARENA_ARTIFACTS`` (default ``var/artifacts``).
"""

from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.urls import reverse

from arena.lifecycle import create_tournament
from arena.models import Competitor, ImportedBattle, Output, Tournament
from tests import factories
from tests.browser.support import needs_chromium, screenshots

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]

HOSTILE = "\"'><img src=x onerror=\"window.pwned=1\">\n<script>window.pwned=2</script>"
NAMES = [HOSTILE, "\u202eexe.evil", "L" * 200, "=cmd|' /C calc'!A0", "a/../b", "plain"]


@pytest.fixture
def hostile_arena(settings):
    settings.ARENA_VOTE_MIN_SECONDS = 0
    settings.ARENA_BOOTSTRAP_ROUNDS = 50
    cache.clear()
    competitors = factories.prompts_with_outputs({name: 3 + 4 * i for i, name in enumerate(NAMES)}, prompts=2,
                                                 dataset="<b>data</b>", category="cat\n<i>x</i>")
    ImportedBattle.objects.bulk_create([
        ImportedBattle(external_id=f"b{i}", model_a=competitors[i], model_b=competitors[(i + 1) % len(NAMES)],
                       score_a=0.7, source="=src\n<u>") for i in range(len(NAMES))])
    tournament = create_tournament(name="cup", judge_config=factories.fake_judge(), competitors=competitors,
                                   schedule="anchor", anchor=competitors[-1])
    factories.judge_all(tournament)
    Tournament.objects.filter(pk=tournament.pk).update(name="cup\n<script>window.pwned=3</script>")
    return tournament


def assert_inert(page) -> None:
    assert page.evaluate("window.pwned") is None
    assert page.locator("img[src='x'], script:not([src])").count() == 0


def test_a_hostile_model_name_renders_as_text_on_every_page_and_runs_nothing(live_server, browser, hostile_arena):
    page = browser.new_page()
    hostile_url = reverse("model", args=[HOSTILE])
    match = hostile_arena.matches.filter(competitor_a__name=HOSTILE).first() \
        or hostile_arena.matches.filter(competitor_b__name=HOSTILE).first()
    pages = {"dashboard": "/", "leaderboard": "/leaderboard/", "model": hostile_url, "tournaments": "/tournaments/",
             "tournament": f"/tournaments/{hostile_arena.pk}/", "match": f"/matches/{match.pk}/",
             "judges": "/judges/", "vote-filters": "/vote/filters/"}
    for name, path in pages.items():
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        assert_inert(page)
        if name not in {"judges", "vote-filters", "tournaments"}:
            assert page.get_by_text("window.pwned=1").count() >= 1, path  # the name is shown, as text
        screenshots(page, f"hostile-{name}")

    # Every model link on the leaderboard lands on the page of the model it names.
    page.goto(live_server.url + "/leaderboard/")
    hrefs = {page.locator("table.leaderboard a[href^='/models/']").nth(i).get_attribute("href")
             for i in range(page.locator("table.leaderboard a[href^='/models/']").count())}
    headings = set()
    for href in hrefs:
        page.goto(live_server.url + href)
        assert_inert(page)
        headings.add(page.locator("h1.model-name").inner_text())
    assert {n.replace("\n", " ") for n in NAMES} <= {h.replace("\n", " ") for h in headings}


def test_voting_on_a_hostile_model_reveals_its_name_as_text(live_server, browser, hostile_arena):
    Output.objects.update(turns=["An answer that does not say who wrote it."])
    page = browser.new_page()
    page.goto(live_server.url + reverse("vote") + "?" + urlencode({"model": [HOSTILE, "plain"]}, doseq=True))
    assert_inert(page)
    assert "window.pwned" not in page.locator(".answers").first.inner_html()  # no model named before the vote
    screenshots(page, "hostile-vote")
    page.get_by_role("button", name="A is better", exact=True).click()
    page.get_by_role("link", name="Next battle").wait_for()
    assert_inert(page)
    assert "window.pwned=1" in page.locator(".reveal").inner_text()
    screenshots(page, "hostile-voted")
    assert Competitor.objects.count() == len(NAMES)
