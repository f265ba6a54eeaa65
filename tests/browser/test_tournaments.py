"""A staff user creates a tournament in a real browser, watches it finish and reads why the judge
decided a match. Screenshots (desktop and 390 px wide) go to $ARENA_ARTIFACTS (default var/artifacts/)."""


import pytest
from playwright.sync_api import expect

from arena import leaderboards, lifecycle
from arena.models import JudgeConfig, Tournament
from tests import factories
from tests.browser.support import needs_chromium, screenshots

pytestmark = [
    pytest.mark.django_db(transaction=True),
    needs_chromium,
]


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
    # (Locator waits, not wait_for_function: that evaluates a string, which the CSP forbids.)
    expect(page.locator("#estimate dd").nth(0)).to_have_text("6")
    expect(page.locator("#estimate dd").nth(1)).to_have_text("12")
    screenshots(page, "tournament-new")

    page.get_by_role("button", name="Create and start").click()
    page.wait_for_url("**/tournaments/*/")
    tournament = Tournament.objects.get(name="browser cup")
    assert tournament.matches.count() == 6
    assert page.locator("#total").inner_text() == "6" and page.locator("#done").inner_text() == "0"

    judge_pending(tournament)  # what the worker does; the page polls every few seconds
    expect(page.locator("#live")).to_contain_text("finished", timeout=20_000)
    assert page.locator("#done").inner_text() == "6"
    leaderboards.recompute_stale()  # what the beat task recompute_leaderboards does
    page.reload()
    screenshots(page, "tournament-detail")
    assert page.locator("table.leaderboard tbody tr").first.locator("td").nth(1).inner_text() == "verbose"

    page.locator("ul.recent a").first.click()
    page.wait_for_url("**/matches/*/")
    assert page.get_by_role("heading", name="Why the judge decided").is_visible()
    assert "Judged" in page.locator(".rationale").first.inner_text() or page.locator(".rationale").count() == 2
    assert page.get_by_role("heading", name="Output B shown first").is_visible()
    screenshots(page, "match")

    page.goto(f"{live_server.url}/tournaments/")
    assert "browser cup" in page.locator("table.tournaments").inner_text()
    screenshots(page, "tournament-list")


def test_a_stale_control_shows_why_it_was_refused_and_the_buttons_the_state_allows(live_server, browser,
                                                                                  django_user_model):
    factories.prompts_with_outputs({"terse": 4, "chatty": 40}, prompts=2, dataset="demo")
    factories.fake_judge()
    tournament, _ = lifecycle.open_tournament(name="stale cup", schedule="round_robin", models=["terse", "chatty"],
                                              judge="fake")
    django_user_model.objects.create_user(username="ada", password="pw-for-tests", is_staff=True)
    page = browser.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/tournaments/{tournament.pk}/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**/tournaments/{tournament.pk}/")

    lifecycle.pause(tournament=tournament)  # from another tab: this page still offers Pause
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Pause").click()
    assert answer.value.status == 409
    assert "is paused already: pause is only for running tournaments" in page.get_by_role("alert").inner_text()
    assert page.get_by_role("button", name="Resume").is_visible()
    assert page.get_by_role("button", name="Pause").count() == 0
    screenshots(page, "tournament-refused")
    page.get_by_role("button", name="Resume").click()
    expect(page.locator("#live")).to_contain_text("running")
    assert Tournament.objects.get(pk=tournament.pk).status == "running"
