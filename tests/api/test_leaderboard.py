"""GET /api/v1/leaderboard and ``manage.py leaderboard`` on imported and judged battles."""

import json
import math
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from arena import leaderboards
from arena.lifecycle import create_tournament
from arena.models import LeaderboardSnapshot
from tests import factories

pytestmark = pytest.mark.django_db

THREE_TO_ONE = 400 * math.log10(3)  # a Bradley-Terry rating gap for a 3:1 record


def battles(a: str, b: str, wins: int, losses: int, ties: int = 0, **extra) -> list[dict]:
    return ([{"model_a": a, "model_b": b, "winner": "model_a", **extra}] * wins
            + [{"model_a": a, "model_b": b, "winner": "model_b", **extra}] * losses
            + [{"model_a": a, "model_b": b, "winner": "tie", **extra}] * ties)


@pytest.fixture(autouse=True)
def empty_cache():
    """Tests wipe the database, not the cache: a cached leaderboard must not outlive its test's data."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def triangle(api):
    """alpha > beta > gamma, every pair met, with ties; a second source only on one pair."""
    rows = (battles("alpha", "beta", 6, 2, 2) + battles("beta", "gamma", 5, 3, 2)
            + battles("gamma", "alpha", 2, 6, 1))
    rows += battles("alpha", "beta", 1, 3, source="humans-elsewhere")
    assert api.post_rows("battles", rows).status_code == 201


def test_two_models_three_to_one_give_the_hand_computed_gap(api):
    api.post_rows("battles", battles("a", "b", 3, 1))
    board = api.get("leaderboard", anchor="a").json()
    ratings = {row["model"]: row["rating"] for row in board["models"]}
    assert board["anchor"] == "a" and board["method"] == "bt"
    assert ratings["a"] == pytest.approx(1000.0, abs=1e-6)
    assert ratings["a"] - ratings["b"] == pytest.approx(THREE_TO_ONE, abs=0.01)
    assert [row["model"] for row in board["models"]] == ["a", "b"]


def test_leaderboard_rows_have_every_documented_field(api, triangle):
    board = api.get("leaderboard", anchor="beta").json()
    assert set(board) >= {"anchor", "method", "computed_at", "models"}
    expected = {"model", "component", "rank", "rank_ub", "rating", "ci_low", "ci_high", "open_low", "open_high",
                "battles", "wins", "losses", "ties", "win_rate_vs_anchor", "predicted_win_rate_vs_anchor"}
    for row in board["models"]:
        assert set(row) == expected
        assert row["ci_low"] <= row["rating"] <= row["ci_high"]
    assert [row["model"] for row in board["models"]] == ["alpha", "beta", "gamma"]
    alpha = board["models"][0]
    # alpha against beta: 6 wins, 2 losses, 2 ties, plus 1-3 from the second source, ties count half.
    assert alpha["win_rate_vs_anchor"] == pytest.approx((6 + 1 + 1) / 14)
    assert alpha["battles"] == 10 + 9 + 4


def test_the_answer_matches_its_documented_schema_with_pairs_on_request(api, triangle):
    from arena.api.leaderboard import LeaderboardOut

    plain = api.get("leaderboard").json()
    assert "pairs" not in plain
    full = api.get("leaderboard", pairs="true").json()
    LeaderboardOut.model_validate(full)
    assert {(p["a"], p["b"]): p["battles"] for p in full["pairs"]}[("alpha", "beta")] == 10 + 4
    schema = api.get("openapi.json").json()["components"]["schemas"]
    assert {"components", "models", "updating"} <= set(schema["LeaderboardOut"]["properties"])
    assert {"open_low", "open_high", "component"} <= set(schema["LeaderboardRowOut"]["properties"])


def test_source_filter_rates_one_label_alone(api, triangle):
    board = api.get("leaderboard", source="humans-elsewhere", anchor="alpha").json()
    ratings = {row["model"]: row["rating"] for row in board["models"]}
    assert set(ratings) == {"alpha", "beta"}
    assert ratings["beta"] - ratings["alpha"] == pytest.approx(THREE_TO_ONE, abs=0.01)


def test_source_weights_decide_how_much_each_source_counts_in_the_combined_fit(api, triangle, settings):
    both = api.get("leaderboard", anchor="alpha").json()
    settings.ARENA_SOURCE_WEIGHTS = {"humans-elsewhere": 0}
    without = api.get("leaderboard", anchor="alpha").json()
    assert both["battles"] - without["battles"] == 4
    beta = {b["model"]: b["rating"] for b in both["models"]}["beta"]
    # The left-out source had beta beating alpha 3-1: without it beta falls further behind.
    assert {b["model"]: b["rating"] for b in without["models"]}["beta"] < beta


def test_elo_method_returns_a_ranking(api, triangle):
    board = api.get("leaderboard", method="elo").json()
    assert board["method"] == "elo"
    assert [row["model"] for row in board["models"]][0] == "alpha"


@pytest.mark.parametrize(
    ("params", "message"),
    [({"anchor": "nobody"}, "unknown anchor model 'nobody'"),
     ({"source": "mystery"}, "unknown source 'mystery'"),
     ({"tournament": "no-such-cup"}, "unknown tournament 'no-such-cup'"),
     ({"method": "glicko"}, "unknown method 'glicko'"),
     ({"method": "elo", "style_control": "true"}, "style_control needs method=bt")],
)
def test_bad_leaderboard_parameters_are_a_400_naming_them(api, triangle, params, message):
    response = api.get("leaderboard", **params)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_a_model_that_never_lost_is_listed_with_its_record_and_an_open_interval(api):
    api.post_rows("battles", battles("winner", "loser", 4, 0) + battles("loser", "third", 2, 2))
    board = api.get("leaderboard").json()
    rows = {row["model"]: row for row in board["models"]}
    unbeaten = rows["winner"]
    assert unbeaten["rating"] is None and unbeaten["open_high"] and unbeaten["ci_high"] is None
    assert unbeaten["ci_low"] == pytest.approx(rows["loser"]["rating"])
    assert (unbeaten["wins"], unbeaten["losses"], unbeaten["ties"]) == (4, 0, 0)
    assert [row["model"] for row in board["models"]][0] == "winner"


def test_a_disconnected_graph_is_one_component_each_not_an_error(api):
    api.post_rows("battles", battles("a", "b", 3, 1) + battles("c", "d", 2, 2) + battles("d", "e", 1, 1))
    board = api.get("leaderboard").json()
    assert [c["models"] for c in board["components"]] == [["c", "d", "e"], ["a", "b"]]
    assert {row["model"]: row["component"] for row in board["models"]} == {"a": 1, "b": 1, "c": 0, "d": 0, "e": 0}


def test_the_prior_gives_an_unbeaten_model_a_finite_rating(api):
    api.post_rows("battles", battles("winner", "loser", 4, 0))
    board = api.get("leaderboard", prior=1, anchor="loser").json()
    ratings = {row["model"]: row["rating"] for row in board["models"]}
    assert ratings["winner"] - ratings["loser"] == pytest.approx(400 * math.log10(9), abs=0.01)
    assert board["prior"] == 1


def test_data_that_cannot_be_rated_is_a_422_answered_again_from_the_stored_error(api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # A cycle of ten single battles: almost every bootstrap resample leaves some model without a win.
    names = [f"m{k}" for k in range(10)]
    api.post_rows("battles", [{"model_a": names[k], "model_b": names[(k + 1) % 10], "winner": "model_a"}
                              for k in range(10)])
    response = api.get("leaderboard")
    assert response.status_code == 422 and "too few battles" in response.json()["detail"]
    with CaptureQueriesContext(connection) as again:
        assert api.get("leaderboard").status_code == 422
    assert not any("GROUP BY" in q["sql"] for q in again.captured_queries)  # no aggregation, so no fit


def test_new_battles_replace_a_cached_leaderboard(api, triangle):
    first = api.get("leaderboard", anchor="beta").json()
    assert LeaderboardSnapshot.objects.filter(stale=False).count() == 1
    api.post_rows("battles", battles("gamma", "alpha", 9, 0))
    assert LeaderboardSnapshot.objects.filter(stale=True).count() == 1
    # The request is answered at once from the last snapshot, marked as updating; no fit runs inline.
    second = api.get("leaderboard", anchor="beta").json()
    assert second["updating"] is True and second["models"] == first["models"]
    leaderboards.recompute_stale()  # the background task
    third = api.get("leaderboard", anchor="beta").json()
    assert third["updating"] is False
    rating = {r["model"]: r["rating"] for r in third["models"]}
    assert rating["gamma"] > {r["model"]: r["rating"] for r in first["models"]}["gamma"]


def test_aggregation_queries_do_not_grow_with_battles(api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for_a_fresh_leaderboard() -> int:
        with CaptureQueriesContext(connection) as context:
            assert api.get("leaderboard").status_code == 200
        return len(context)

    api.post_rows("battles", battles("a", "b", 3, 2, 1) + battles("b", "c", 2, 3))
    queries_for_a_fresh_leaderboard()  # the first one also creates the snapshot row and cache keys
    api.post_rows("battles", battles("a", "c", 1, 1))
    few = queries_for_a_fresh_leaderboard()
    api.post_rows("battles", battles("a", "b", 300, 200, 50) + battles("b", "c", 200, 300) + battles("c", "d", 5, 5))
    assert queries_for_a_fresh_leaderboard() == few


def test_judge_results_by_tournament_and_category_with_style_control(api):
    competitors = factories.prompts_with_outputs({"terse": 4, "verbose": 50, "middling": 20}, prompts=4,
                                                 category="essay")
    tournament = create_tournament(name="cup", judge_config=factories.fake_judge(), competitors=competitors,
                                   schedule="round_robin")
    factories.judge(match_ids=list(tournament.matches.values_list("pk", flat=True)))
    api.post_rows("battles", battles("terse", "verbose", 5, 1))  # imported: not part of the tournament
    board = api.get("leaderboard", tournament="cup", anchor="middling").json()
    assert board["battles"] == 12
    assert [row["model"] for row in board["models"]] == ["verbose", "middling", "terse"]
    assert api.get("leaderboard", source="judge", category="essay").json()["battles"] == 12
    poetry = api.get("leaderboard", source="judge", category="poetry")
    assert poetry.status_code == 400 and "unknown category 'poetry'" in poetry.json()["detail"]
    # The fake judge only ever rewards length: controlling for length takes most of the gap away.
    styled = api.get("leaderboard", source="judge", style_control="true", anchor="middling").json()
    assert styled["style_control"] is True and "raw_ratings" in styled
    gap = {r["model"]: r["rating"] for r in styled["models"]}
    assert abs(gap["verbose"] - gap["terse"]) < abs(styled["raw_ratings"]["verbose"] - styled["raw_ratings"]["terse"])


def test_leaderboard_command_prints_table_json_and_csv(api, triangle):
    out = StringIO()
    call_command("leaderboard", "--anchor", "beta", stdout=out)
    assert "alpha" in out.getvalue() and "rating" in out.getvalue()
    out = StringIO()
    call_command("leaderboard", "--format", "json", stdout=out)
    assert [r["model"] for r in json.loads(out.getvalue())["models"]] == ["alpha", "beta", "gamma"]
    out = StringIO()
    call_command("leaderboard", "--format", "csv", "--method", "elo", stdout=out)
    assert out.getvalue().splitlines()[0].startswith("rank,rank_ub,model,rating")
    with pytest.raises(CommandError, match="unknown anchor model 'zed'"):
        call_command("leaderboard", "--anchor", "zed")


def test_the_background_task_recomputes_stale_snapshots(api, triangle):
    from arena.leaderboards import recompute_stale

    api.get("leaderboard", anchor="beta")
    api.get("leaderboard", method="elo")
    api.post_rows("battles", battles("gamma", "beta", 3, 0))
    assert LeaderboardSnapshot.objects.filter(stale=True).count() == 2
    assert recompute_stale() == 2
    fresh = LeaderboardSnapshot.objects.get(params__method="bt")
    assert not fresh.stale and fresh.battles == 33 + 3
