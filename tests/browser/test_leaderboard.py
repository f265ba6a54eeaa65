"""The leaderboard and model pages in a real browser (Debian's chromium driven by Playwright).

Screenshots of every state go to $ARENA_ARTIFACTS (default var/artifacts/ in the checkout).
"""

import csv
import io
import json
import re

import pytest

from arena import ingest, judging, leaderboards
from arena.lifecycle import create_tournament
from arena.models import HumanVote, Output
from tests import factories
from tests.browser.support import ARTIFACTS, needs_chromium

pytestmark = [
    pytest.mark.django_db(transaction=True),
    needs_chromium,
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(autouse=True)
def empty_cache():
    """Tests wipe the database, not the cache: a cached leaderboard must not outlive its test's data."""
    from django.core.cache import cache

    cache.clear()


def upload_battles(rows):
    ingest.import_battles(stream=io.BytesIO("\n".join(json.dumps(r) for r in rows).encode()), jsonl=True)


def record(a, b, wins, losses, ties=0, source="gpt-4-review"):
    return ([{"model_a": a, "model_b": b, "winner": "model_a", "source": source}] * wins
            + [{"model_a": a, "model_b": b, "winner": "model_b", "source": source}] * losses
            + [{"model_a": a, "model_b": b, "winner": "tie", "source": source}] * ties)


def human_votes(pairs: list[tuple[str, str, str]]) -> None:
    for winner_name, loser_name, winner in pairs:
        out_a = Output.objects.filter(competitor__name=winner_name).first()
        out_b = Output.objects.get(competitor__name=loser_name, prompt=out_a.prompt)
        HumanVote.objects.create(prompt=out_a.prompt, output_a=out_a, output_b=out_b, winner=winner)


@pytest.fixture
def arena_data():
    """Judge, human and imported evidence; an isolated pair; a model that never lost."""
    competitors = factories.prompts_with_outputs({"terse": 3, "short": 10, "long": 30, "verbose": 60}, prompts=3)
    factories.prompts_with_outputs({"terse": 3, "short": 10, "long": 30, "verbose": 60}, prompts=2,
                                   dataset="maths", category="math")
    tournament = create_tournament(name="cup", judge_config=factories.fake_judge(), competitors=competitors,
                                   schedule="round_robin")
    judging.judge_matches(match_ids=list(tournament.matches.values_list("pk", flat=True)))
    human_votes([("terse", "verbose", "a"), ("short", "long", "a"), ("long", "terse", "b"),
                 ("verbose", "short", "tie"), ("long", "short", "a"), ("verbose", "long", "a")])
    upload_battles(record("terse", "short", 3, 2, 1) + record("long", "verbose", 2, 3)
                   + record("short", "long", 2, 2) + record("champion", "verbose", 3, 0)
                   + record("island-a", "island-b", 3, 1))
    upload_battles(record("terse", "long", 2, 1, source="gpt-3.5-review"))


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def table_text(page) -> list[list[str]]:
    return page.locator("table.leaderboard").first.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")


def plot_markup(page) -> str:
    return page.locator("figure svg").first.inner_html()


def test_every_control_changes_the_table_and_the_plot(live_server, browser, arena_data):
    page = browser.new_page(viewport=DESKTOP)
    page.goto(f"{live_server.url}/leaderboard/")
    assert page.locator("table.leaderboard").count() == 2  # the isolated pair has its own table
    assert "never met" in page.locator(".board").inner_text()
    shot(page, "leaderboard-desktop")
    # The model that never lost has its record and an open interval, never a blank.
    champion = page.locator("tr", has=page.get_by_role("link", name="champion", exact=True))
    assert champion.locator("td").nth(2).inner_text().startswith("> ")
    assert champion.locator("td").nth(4).inner_text() == "3–0–0"

    changes = [("source", "judge"), ("source", "gpt-4-review"), ("category", "math"), ("method", "elo"),
               ("anchor", "terse"), ("prior", "2"), ("tournament", "cup"), ("judge", "fake")]
    for name, value in changes:
        page.goto(f"{live_server.url}/leaderboard/")
        before_table, before_plot = table_text(page), plot_markup(page)
        with page.expect_response(lambda r: "/leaderboard/" in r.url and r.request.headers.get("hx-request")):
            page.get_by_label(name.capitalize(), exact=True).select_option(value)
        # (URL waits, not wait_for_function: that evaluates a string, which the CSP forbids.)
        page.wait_for_url(re.compile(rf"[?&]{name}="))
        after_table, after_plot = table_text(page), plot_markup(page)
        assert after_table != before_table, name
        assert after_plot != before_plot, name
        shot(page, f"leaderboard-{name}-{value}")

    page.goto(f"{live_server.url}/leaderboard/?source=judge")
    before_table, before_plot = table_text(page), plot_markup(page)
    page.get_by_label("Style control").check()
    page.wait_for_url(re.compile(r"[?&]style_control=1"))
    assert "Raw rating" in page.locator("table.leaderboard thead").first.inner_text()
    assert table_text(page) != before_table and plot_markup(page) != before_plot
    shot(page, "leaderboard-style-control")


def test_sorting_and_the_csv_export_equal_the_table(live_server, browser, arena_data):
    page = browser.new_page(viewport=DESKTOP)
    page.goto(f"{live_server.url}/leaderboard/")
    page.locator("table.leaderboard").first.get_by_role("link", name="Model").click()
    page.wait_for_url(re.compile(r"[?&]sort=model"))
    names = [row[1] for row in table_text(page)]
    assert names == sorted(names, key=str.lower)
    shown = [row for table in page.locator("table.leaderboard").all()
             for row in table.locator("tbody tr").evaluate_all(
                 "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")]
    csv_url = page.get_by_role("link", name="CSV").get_attribute("href")
    exported = list(csv.reader(io.StringIO(page.request.get(f"{live_server.url}/leaderboard/{csv_url}").text())))
    headers = page.locator("table.leaderboard").first.locator("thead th").all_inner_texts()
    assert [h.rstrip(" ▲▼") for h in headers] == exported[0][1:]
    assert [row[1:] for row in exported[1:]] == shown
    as_json = page.request.get(f"{live_server.url}/leaderboard/{csv_url.replace('format=csv', 'format=json')}")
    assert [row["model"] for row in as_json.json()["rows"]] == [row[1] for row in shown]


def test_phone_width_has_no_horizontal_page_scroll(live_server, browser, arena_data):
    page = browser.new_page(viewport=PHONE)
    for path, name in [("/leaderboard/", "leaderboard-phone"), ("/leaderboard/?source=judge&style_control=1",
                                                                 "leaderboard-phone-style"),
                       ("/models/terse/", "model-phone"), ("/", "dashboard-phone")]:
        page.goto(f"{live_server.url}{path}")
        assert no_horizontal_scroll(page), path
        shot(page, name)


def test_model_page_shows_sources_head_to_head_and_matches(live_server, browser, arena_data):
    page = browser.new_page(viewport=DESKTOP)
    page.goto(f"{live_server.url}/leaderboard/")
    page.get_by_role("link", name="terse", exact=True).first.click()
    page.wait_for_url("**/models/terse/")
    text = page.locator("main").inner_text()
    for expected in ("Rating by source", "gpt-4-review", "human", "Head to head", "verbose", "Latest matches"):
        assert expected in text
    assert "the shorter one" in text
    shot(page, "model-desktop")


def test_failure_states_are_pages_not_errors(live_server, browser, db):
    page = browser.new_page(viewport=DESKTOP)
    page.goto(f"{live_server.url}/leaderboard/")
    assert "No battles" in page.locator(".board").inner_text()
    shot(page, "leaderboard-empty")
    upload_battles(record("winner", "loser", 4, 0))
    page.goto(f"{live_server.url}/leaderboard/")
    assert "being computed" in page.locator(".board").inner_text()
    leaderboards.recompute_stale()  # the background task
    page.goto(f"{live_server.url}/leaderboard/")
    assert "> 1,000" in page.locator("table.leaderboard").inner_text()
    shot(page, "leaderboard-unbeaten")
    response = page.goto(f"{live_server.url}/leaderboard/?source=mystery")
    assert response.status == 400 and "unknown source" in page.locator(".problem").inner_text()
    shot(page, "leaderboard-bad-parameter")
    upload_battles(record("winner", "third", 1, 1))
    page.goto(f"{live_server.url}/leaderboard/")
    assert "Updating" in page.locator(".board").inner_text()
    shot(page, "leaderboard-updating")


def test_compare_with_shows_the_quality_section_in_place_and_sorting_keeps_one_copy(live_server, browser,
                                                                                   arena_data):
    page = browser.new_page(viewport=DESKTOP)
    page.goto(f"{live_server.url}/leaderboard/?source=judge")
    assert page.locator("#quality dl").count() == 0  # neighbours only, until a reference is chosen
    with page.expect_response(lambda r: "/leaderboard/" in r.url and r.request.headers.get("hx-request")):
        page.get_by_label("Compare with").select_option("human")
    page.wait_for_url(lambda url: "compare=human" in url)
    section = page.locator("#quality")
    assert section.count() == 1 and "Against the human board" in section.inner_text()
    assert "Agreement with confidence" in section.inner_text()
    page.get_by_role("link", name="Model", exact=True).first.click()
    page.wait_for_url(lambda url: "sort=model" in url)
    assert page.locator("#quality").count() == 1 and page.locator("#board").count() == 1
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    shot(page, "leaderboard-compare-390")
