"""The judges page's endpoint table in a real browser, desktop and 390 px wide (screenshots in
``$ARENA_ARTIFACTS``)."""

import pytest
from django.core.cache import cache

from arena import judge_endpoints
from judges.backends.concurrency import AdaptiveLimit, Sample, limit_for
from tests.browser.support import needs_chromium, screenshots

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]


def test_the_judges_page_shows_each_endpoint_s_speed_and_concurrency(live_server, browser):
    cache.clear()
    limit = limit_for("http://gpu-node-7.internal:8000/v1", "Qwen/Qwen2.5-7B-Instruct",
                      lambda: AdaptiveLimit(start=4, ceiling=16))
    for _ in range(8):
        limit.acquire()
        limit.release(Sample("ok", 0.4, 3.2, 1500, 60))
    limit.acquire()
    limit.release(Sample("overload"), timed_out=True)
    judge_endpoints.publish(force=True)
    page = browser.new_page()
    page.goto(live_server.url + "/judges/#endpoints")
    table = page.get_by_role("table").filter(has_text="gpu-node-7.internal")
    assert "Qwen/Qwen2.5-7B-Instruct" in table.inner_text() and "0 / 4" in table.inner_text()
    screenshots(page, "judges-endpoints")
