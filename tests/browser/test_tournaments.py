"""A staff user creates a tournament in a real browser, watches it finish and reads why the judge
decided a match. Screenshots (desktop and 390 px wide) go to $ARENA_ARTIFACTS (default var/artifacts/)."""

import os
import shutil
from pathlib import Path

import pytest

from arena import leaderboards
from arena.models import JudgeConfig, Tournament
from tests import factories

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("ARENA_ARTIFACTS", ROOT / "var" / "artifacts"))
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test installs it)"),
]


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test still reads the database.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def shoot(page, name: str) -> None:
    """A desktop and a phone-width screenshot; the page must not scroll sideways on the phone."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(ARTIFACTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / f"{name}-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"{name} scrolls sideways at 390 px"
    page.set_viewport_size({"width": 1280, "height": 900})


def judge_pending(tournament: Tournament) -> None:
    for _ in range(10):
        pending = list(tournament.matches.pending().values_list("pk", flat=True))
        if not pending:
            return
        factories.judge(match_ids=pending)


def test_staff_creates_watches_and_inspects_a_tournament_in_the_browser(live_server, browser, django_user_model):
    factories.prompts_with_outputs({"terse": 4, "chatty": 40, "verbose": 90}, prompts=2, dataset="demo")
    JudgeConfig.objects.create(name="fake-generate", backend="fake", model="fake-longer-wins", protocol="generate",
                               prompt_style="chat", params={}, rubric=factories.rubric())
    django_user_model.objects.create_user(username="ada", password="pw-for-tests", is_staff=True)
    page = browser.new_page()

    page.goto(f"{live_server.url}/admin/login/?next=/tournaments/new")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()

    page.get_by_label("Name", exact=True).fill("browser cup")
    page.get_by_label("Schedule", exact=True).select_option("round_robin")
    for model in ("terse", "chatty", "verbose"):
        page.get_by_label(model, exact=True).check()
    page.get_by_label("Judge", exact=True).select_option(label="fake-generate v1")
    # htmx posts the form as fields change and swaps the estimate in.
    # 3 pairs x 2 prompts, both orders (an earlier response may show the initially selected judge).
    page.wait_for_function("[...document.querySelectorAll('#estimate dd')].slice(0, 2).map(d => d.innerText)"
                           ".join() === '6,12'")
    shoot(page, "tournament-new")

    page.get_by_role("button", name="Create and start").click()
    page.wait_for_url("**/tournaments/*/")
    tournament = Tournament.objects.get(name="browser cup")
    assert tournament.matches.count() == 6
    assert page.locator("#total").inner_text() == "6" and page.locator("#done").inner_text() == "0"

    judge_pending(tournament)  # what the worker does; the page polls every few seconds
    page.wait_for_function("document.querySelector('#live').innerText.includes('finished')", timeout=20_000)
    assert page.locator("#done").inner_text() == "6"
    leaderboards.recompute_stale()  # what the beat task recompute_leaderboards does
    page.reload()
    shoot(page, "tournament-detail")
    assert page.locator("table.leaderboard tbody tr").first.locator("td").nth(1).inner_text() == "verbose"

    page.locator("ul.recent a").first.click()
    page.wait_for_url("**/matches/*/")
    assert page.get_by_role("heading", name="Why the judge decided").is_visible()
    assert "Judged" in page.locator(".rationale").first.inner_text() or page.locator(".rationale").count() == 2
    assert page.get_by_role("heading", name="Output B shown first").is_visible()
    shoot(page, "match")

    page.goto(f"{live_server.url}/tournaments/")
    assert "browser cup" in page.locator("table.tournaments").inner_text()
    shoot(page, "tournament-list")
