"""Every API list reads a fixed number of queries whatever its length, and the paginated ones slice in
SQL: 3 rows and 30 rows cost the same, and a page is a LIMIT, not a Python slice of a whole table."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from arena.models import Competitor, Dataset, JudgeConfig, Output, Prompt, Rubric
from arena.rubrics import create_rubric
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_cache")]
SMALL, LARGE = 3, 30


def read(client, path: str, **params) -> tuple[object, list[str]]:
    """The response body and the SQL the request ran."""
    with CaptureQueriesContext(connection) as context:
        response = client.get(f"/api/v1/{path}", params)
    assert response.status_code == 200, response.content[:300]
    return response.json(), [q["sql"] for q in context.captured_queries]


# --- what each list is made of, grown to n rows -------------------------------------------------------

def grow_tournaments(n: int) -> None:
    factories.running_round_robins(n)


def grow_matches(n: int) -> None:
    """Three matches per tournament, two of them judged."""
    grow_tournaments(-(-n // 3))


def grow_prompts(n: int) -> None:
    dataset, _ = Dataset.objects.get_or_create(name="set")
    for i in range(Prompt.objects.count(), n):
        Prompt.objects.create(external_id=f"p{i}", dataset=dataset, turns=["Question?"], category="chat")


def grow_competitors(n: int) -> None:
    grow_prompts(1)
    prompt = Prompt.objects.first()
    for i in range(Competitor.objects.count(), n):
        Output.objects.create(competitor=Competitor.objects.create(name=f"model-{i}"), prompt=prompt, turns=["hi"])


def grow_judges(n: int) -> None:
    for i in range(JudgeConfig.objects.count(), n):
        factories.fake_judge(f"judge-{i}")


def grow_rubrics(n: int) -> None:
    for i in range(Rubric.objects.count(), n):
        create_rubric(name=f"rubric-{i}", criteria=[{"name": "correctness"}])


def items(body) -> list:
    return body["items"] if isinstance(body, dict) else body


LISTS = {"tournaments": grow_tournaments, "matches": grow_matches, "prompts": grow_prompts,
         "competitors": grow_competitors, "judges": grow_judges, "rubrics": grow_rubrics}


@pytest.mark.parametrize("path", LISTS)
def test_a_list_of_thirty_rows_reads_as_many_queries_as_a_list_of_three(client, path):
    grow = LISTS[path]
    grow(SMALL)
    small, small_sql = read(client, path)
    grow(LARGE)
    large, large_sql = read(client, path)
    assert len(items(small)) >= SMALL
    assert len(items(large)) >= LARGE > len(items(small))
    assert len(large_sql) == len(small_sql), "\n".join(large_sql)


@pytest.mark.parametrize("path", ["tournaments", "matches", "prompts"])
def test_a_page_is_sliced_in_the_database_and_counts_every_row(client, path):
    LISTS[path](LARGE)
    whole, _ = read(client, path, limit=1000)
    page, sql = read(client, path, limit=5, offset=5)
    assert page["count"] == whole["count"] >= LARGE
    assert page["items"] == whole["items"][5:10]
    assert any(re.search(r"LIMIT 5\b", q) for q in sql), "\n".join(sql)


def test_a_tournament_summary_in_the_list_is_the_one_the_tournament_shows(client):
    grow_tournaments(SMALL)
    listed, _ = read(client, "tournaments")
    for row in listed["items"]:
        one, _ = read(client, f"tournaments/{row['id']}")
        assert one == row
    assert {row["progress"]["done"] for row in listed["items"]} == {2}
    # The same outputs in every tournament: the judge's cache makes only the first pay.
    assert any(row["spent"]["judge_calls"] > 0 for row in listed["items"])


@pytest.mark.parametrize("limit", [0, 1001])
def test_a_page_size_out_of_range_is_refused(client, limit):
    assert client.get("/api/v1/tournaments", {"limit": limit}).status_code == 422
