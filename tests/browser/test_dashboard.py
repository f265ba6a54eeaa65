"""The dashboard in a real browser (Debian's chromium driven by Playwright) against a live server."""

import io
import json

import pytest
from playwright.sync_api import expect

from arena import ingest
from arena.lifecycle import create_tournament
from tests import factories
from tests.browser.support import needs_chromium

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]

HOSTILE = '<img src=x onerror="window.pwned=1">'


@pytest.fixture
def browser_page(browser):
    return browser.new_page()


def upload_battles(rows):
    ingest.import_battles(stream=io.BytesIO("\n".join(json.dumps(r) for r in rows).encode()), jsonl=True)


def test_dashboard_shows_leaderboard_and_live_tournament_progress(live_server, browser_page):
    win = {"winner": "model_a"}
    upload_battles([{"model_a": "alpha", "model_b": HOSTILE, **win}] * 5
                   + [{"model_a": HOSTILE, "model_b": "alpha", **win}] * 2)
    competitors = factories.prompts_with_outputs({"short": 3, "long": 30}, prompts=2)
    tournament = create_tournament(name="cup <b>1</b>", judge_config=factories.fake_judge(),
                                   competitors=competitors, schedule="anchor", anchor=competitors[0])

    page = browser_page
    page.goto(live_server.url)
    rows = page.locator("table.leaderboard tbody tr")
    assert rows.count() == 2  # the tournament has no results yet
    assert rows.first.locator("td").nth(1).inner_text() == "alpha"
    # Untrusted names are text, never markup.
    assert page.get_by_text(HOSTILE).count() >= 1
    assert page.locator("img").count() == 0
    assert page.evaluate("window.pwned") is None
    assert page.get_by_text("cup <b>1</b>").count() == 1
    assert "0/2" in page.locator("#live").inner_text()

    factories.judge(match_ids=list(tournament.matches.values_list("pk", flat=True)))
    # htmx polls the live partial every few seconds: progress appears without a reload.
    # (Locator waits, not wait_for_function: that evaluates a string, which the CSP forbids.)
    expect(page.locator("#live")).to_contain_text("2/2", timeout=15_000)
    assert "finished" in page.locator("#live").inner_text()
