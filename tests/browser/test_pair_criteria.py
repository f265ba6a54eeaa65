"""The match page of a pair-criteria judgment in a real browser, on a phone too: the criteria the judge
wrote, each order's verdict and the outcome, a hostile criterion shown as text. Screenshots (desktop
and 390 px wide) go to $ARENA_ARTIFACTS (default var/artifacts/)."""

import pytest
from playwright.sync_api import expect

from arena.judge_configs import create_judge_config
from arena.lifecycle import create_tournament
from arena.models import Judgment
from judges.backends.fake import FAKE_CRITERIA
from tests import factories
from tests.browser.support import needs_chromium, screenshots

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]

HOSTILE = ("[fatal] <img src=x onerror=alert(1)> Gives a final answer and stays on the question the user actually "
           "asked, without drifting into unrelated advice")


def test_the_match_page_shows_the_pair_s_criteria_and_each_order_s_verdict(live_server, browser):
    factories.rubric()
    config = create_judge_config(name="criteria", backend="fake", model="m", protocol="pair_criteria",
                                 prompt_style="completion", rubric="test",
                                 params={"replies": [f"{FAKE_CRITERIA}\n{HOSTILE}\n[bonus] unknown type"]})
    competitors = factories.prompts_with_outputs({"brief-model": 10, "rambling-model-with-a-long-name": 90},
                                                 prompts=1)
    tournament = create_tournament(name="criteria", judge_config=config, competitors=competitors,
                                   schedule="round_robin")
    factories.judge_all(tournament)
    judgment = Judgment.objects.get(match__tournament=tournament)
    page = browser.new_page()
    alerts = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    page.goto(f"{live_server.url}/matches/{judgment.match_id}/")
    table = page.locator("table.pair-criteria")
    expect(table.locator("tbody tr")).to_have_count(4)
    expect(table).to_contain_text("<img src=x onerror=alert(1)>")
    expect(page.get_by_text("Rejected lines (1)")).to_be_visible()
    assert alerts == []
    screenshots(page, "match-pair-criteria")
