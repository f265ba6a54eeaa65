"""The judges page's endpoint table in a real browser, desktop and 390 px wide (screenshots in
``$ARENA_ARTIFACTS``)."""

import pytest
from django.core.cache import cache

from arena import judge_endpoints
from judges.backends.concurrency import AdaptiveLimit, Sample, limit_for
from tests.browser.support import needs_chromium, screenshots

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]


def test_the_judges_page_shows_each_endpoint_s_speed_and_concurrency(live_server, browser, django_user_model):
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
    anonymous = page.get_by_role("table").filter(has_text="Qwen/Qwen2.5-7B-Instruct")
    assert "address shown to staff" in anonymous.inner_text() and "gpu-node-7" not in page.content()
    # Staff see where the workers send requests.
    django_user_model.objects.create_user(username="ada", password="pw-for-tests", is_staff=True)
    page.goto(live_server.url + "/accounts/login/?next=/judges/%23endpoints")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/judges/" in url)
    table = page.get_by_role("table").filter(has_text="gpu-node-7.internal")
    assert "Qwen/Qwen2.5-7B-Instruct" in table.inner_text() and "0 / 4" in table.inner_text()
    screenshots(page, "judges-endpoints")
