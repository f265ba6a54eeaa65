"""The match page shows a match that verifiable checks decided, in a real browser, on a phone too.
Screenshots (desktop and 390 px wide) go to $ARENA_ARTIFACTS (default var/artifacts/)."""

import pytest

from arena.lifecycle import create_tournament
from arena.models import Judgment, Rubric
from tests import factories
from tests.browser.support import needs_chromium, screenshots

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]


def test_a_match_decided_by_a_fatal_check_shows_the_checks_and_no_judge_call(live_server, browser):
    competitors = factories.prompts_with_outputs({"brief": 10, "rambling": 90}, prompts=1)
    config = factories.fake_judge(name="checked")
    config.rubric = Rubric.objects.create(name="concise", criteria=config.rubric.criteria, checks=[
        {"name": "under 50 words", "kind": "max_words", "limit": 50, "mode": "fatal"},
        {"name": "no apology", "kind": "regex", "pattern": "(?i)sorry", "forbid": True, "mode": "criterion"}])
    config.save()
    tournament = create_tournament(name="checked", judge_config=config, competitors=competitors,
                                   schedule="round_robin")
    factories.judge_all(tournament)
    judgment = Judgment.objects.get(match__tournament=tournament)
    page = browser.new_page()
    page.goto(f"{live_server.url}/matches/{judgment.match_id}/")
    checks = page.locator("#checks")
    assert "Decided by the checks, with no judge call" in checks.inner_text()
    assert "under 50 words" in checks.inner_text()
    assert "0 paid call(s)" in page.content()
    screenshots(page, "match-checks")
