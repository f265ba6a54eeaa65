"""The dashboard page: its queries do not grow with the number of tournaments."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from arena.lifecycle import create_tournament
from tests import factories

pytestmark = pytest.mark.django_db


def test_dashboard_queries_do_not_grow_with_tournaments(client):
    competitors = factories.prompts_with_outputs({"a": 2, "b": 9}, prompts=2)
    judge = factories.fake_judge()

    def queries_after_adding(count: int, start: int) -> int:
        for i in range(start, start + count):
            create_tournament(name=f"t{i}", judge_config=judge, competitors=competitors, schedule="round_robin")
        client.get("/")  # warm the leaderboard cache
        with CaptureQueriesContext(connection) as context:
            assert client.get("/").status_code == 200
        return len(context)

    assert queries_after_adding(2, 0) == queries_after_adding(5, 2)


def test_htmx_requests_get_only_the_live_partial(client):
    page = client.get("/", HTTP_HX_REQUEST="true").content.decode()
    assert "<h2>Tournaments</h2>" in page and "<html" not in page
