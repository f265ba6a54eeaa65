"""Judge endpoint speed goes from the worker's controllers through the cache to the judges page."""

import multiprocessing

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache

from arena import judge_endpoints
from judges.backends.concurrency import AdaptiveLimit, Sample, limit_for
from tests.domain.endpoint_publisher import publish_as_a_worker_process

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


def busy_endpoint(url: str) -> AdaptiveLimit:
    """Two answers double the limit to four (slow start), a third comes, then a 429 halves it to two."""
    limit = limit_for(url, "judge-model", lambda: AdaptiveLimit(start=2, ceiling=8))
    for _ in range(3):
        limit.acquire()
        limit.release(Sample("ok", 0.5, 2.0, 400, 40))
    limit.acquire()
    limit.release(Sample("overload", retry_after_s=30), timed_out=False)
    return limit


def test_a_worker_s_endpoint_speed_shows_on_the_judges_page_without_credentials(admin_client):
    busy_endpoint("http://operator:hunter2@judge-a.invalid:8000/v1?key=sk-secret")
    judge_endpoints.publish(force=True)
    page = admin_client.get("/judges/").content.decode()
    row = next(r for r in judge_endpoints.endpoint_rows(private=True) if "judge-a.invalid" in r["base_url"])
    assert row["base_url"] == "http://judge-a.invalid:8000/v1" and row["ok"] == 3 and row["overload"] == 1
    assert row["concurrency"] == 2 and row["calls_per_s"] > 0 and row["tokens_per_s"] > 0
    assert "http://judge-a.invalid:8000/v1" in page and "paused" in page
    assert "hunter2" not in page and "sk-secret" not in page


def test_only_staff_see_where_the_endpoints_are_everyone_sees_their_speed(client, admin_client):
    busy_endpoint("http://gpu-node-7.internal:8000/v1")
    judge_endpoints.publish(force=True)
    public = client.get("/judges/").content.decode()
    assert "gpu-node-7" not in public and "address shown to staff" in public and "judge-model" in public
    assert "gpu-node-7.internal:8000" in admin_client.get("/judges/").content.decode()


def test_without_reports_the_judges_page_says_so(client):
    page = client.get("/judges/").content.decode()
    assert "No judge worker has reported an endpoint" in page


def test_a_cache_outage_never_breaks_publishing_or_the_page(client, settings):
    busy_endpoint("http://judge-b.invalid/v1")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    judge_endpoints.publish(force=True)
    assert judge_endpoints.endpoint_rows(private=True) == []


@pytest.mark.skipif(not django_settings.REDIS_URL, reason="processes share the cache only through Redis here")
def test_worker_processes_that_publish_at_once_all_show_on_the_judges_page():
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(6)
    processes = [context.Process(target=publish_as_a_worker_process, args=(barrier, "http://judge-c.invalid/v1"))
                 for _ in range(6)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    rows = [r for r in judge_endpoints.endpoint_rows(private=True) if "judge-c.invalid" in r["base_url"]]
    assert len(rows) == 6
