"""Every page that lists rows reads a fixed number of queries whatever the number of rows: the same
count with 3 rows as with 30 (a list built row by row would grow with them)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from arena.lifecycle import create_tournament
from arena.models import HumanVote, JudgeEvaluation, Match, Tournament
from arena.views import tournaments as tournament_views
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_cache")]
SMALL, LARGE = 3, 30


def queries(client, path: str) -> list[str]:
    """The SQL of a second request (the first computes the leaderboard snapshots the page shows)."""
    assert client.get(path).status_code == 200
    with CaptureQueriesContext(connection) as context:
        response = client.get(path)
    assert response.status_code == 200
    return [q["sql"] for q in context.captured_queries]


def same_count(small: list[str], large: list[str]) -> None:
    assert len(large) == len(small), "\n".join(large)


@pytest.mark.parametrize("path", ["/tournaments/", "/"])
def test_the_tournament_lists_read_as_many_queries_for_thirty_tournaments_as_for_three(client, path):
    factories.running_round_robins(SMALL)
    small = queries(client, path)
    factories.running_round_robins(LARGE)
    same_count(small, queries(client, path))


def test_the_tournament_list_pages_in_the_database(client, monkeypatch):
    factories.running_round_robins(LARGE)
    first = client.get("/tournaments/").content.decode()
    monkeypatch.setattr(tournament_views, "LIST_PAGE", 10)
    second = client.get("/tournaments/", {"page": 2}).content.decode()
    assert "cup-29" in first and "cup-00" in first  # 30 rows fit the default page
    assert "cup-19" in second and "cup-10" in second and "cup-20" not in second and "cup-09" not in second
    assert "Page 2 of 3" in second


def round_robin(models: int, name: str) -> Tournament:
    """A judged round robin of ``models`` models on one prompt, one match failed."""
    competitors = factories.prompts_with_outputs({f"{name}-m{i}": 3 + i for i in range(models)}, prompts=1,
                                                 dataset=name)
    tournament = create_tournament(name=name, judge_config=factories.fake_judge(name), competitors=competitors,
                                   schedule="round_robin")
    factories.judge_all(tournament)
    Match.objects.filter(pk=tournament.matches.first().pk).update(status=Match.Status.FAILED, last_error="boom")
    return tournament


def test_a_tournament_page_reads_as_many_queries_for_thirty_six_matches_as_for_three(client):
    small, large = round_robin(3, "small"), round_robin(9, "large")
    assert (small.matches.count(), large.matches.count()) == (3, 36)
    same_count(queries(client, f"/tournaments/{small.pk}/"), queries(client, f"/tournaments/{large.pk}/"))


def test_a_model_page_reads_as_many_queries_for_sixty_matches_as_for_six(client):
    factories.running_round_robins(SMALL)
    small = queries(client, "/models/m1/")
    factories.running_round_robins(LARGE)
    same_count(small, queries(client, "/models/m1/"))


def test_a_match_page_reads_as_many_queries_for_thirty_votes_as_for_three(client):
    factories.running_round_robins(1)
    match = Match.objects.first()

    def vote(n: int) -> None:
        for i in range(HumanVote.objects.count(), n):
            a, b = (match.output_a, match.output_b) if i % 2 else (match.output_b, match.output_a)
            HumanVote.objects.create(prompt=match.prompt, output_a=a, output_b=b, winner="a")

    vote(SMALL)
    small = queries(client, f"/matches/{match.pk}/")
    vote(LARGE)
    same_count(small, queries(client, f"/matches/{match.pk}/"))


def test_the_judges_page_reads_as_many_queries_for_thirty_evaluations_as_for_three(client):
    factories.running_round_robins(1)
    judge = Tournament.objects.get().judge_config

    def evaluate(n: int) -> None:
        for i in range(JudgeEvaluation.objects.count(), n):
            JudgeEvaluation.objects.create(judge_config=judge, source=f"pairs-{i}.jsonl", metrics={"agreement": 0.5})

    evaluate(SMALL)
    small = queries(client, "/judges/")
    evaluate(LARGE)
    same_count(small, queries(client, "/judges/"))
