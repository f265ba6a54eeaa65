"""Lifecycle pieces the API tests do not reach: rating seeding, new models in a finished tournament,
the anchor suggestion, and the estimate of tokens and dollars."""

import io
import json

import pytest

from arena import estimates, ingest, lifecycle, scheduling
from arena.models import Match, Tournament
from arena.tournaments import TournamentError
from tests import factories

pytestmark = pytest.mark.django_db

MODELS = {"small": 5, "medium": 20, "large": 60, "huge": 120}


def rate(order: list[str]) -> None:
    """A leaderboard where each model beats every model after it in ``order``."""
    rows = [{"model_a": a, "model_b": b, "winner": "model_a"}
            for i, a in enumerate(order) for b in order[i + 1:] for _ in range(3)]
    rows += [{"model_a": b, "model_b": a, "winner": "model_a"} for i, a in enumerate(order) for b in order[i + 1:]]
    ingest.import_battles(stream=io.BytesIO("\n".join(json.dumps(r) for r in rows).encode()), jsonl=True)


def test_seeded_bracket_puts_the_strongest_against_the_weakest():
    assert scheduling.bracket_seeded_first_round([1, 2, 3, 4]) == ([(1, 4), (2, 3)], [])
    assert scheduling.bracket_seeded_first_round([1, 2, 3, 4, 5]) == ([(1, 5), (2, 4)], [3])


def test_rating_seeding_draws_the_first_bracket_from_the_current_leaderboard():
    factories.prompts_with_outputs(MODELS, prompts=2)
    factories.fake_judge()
    rate(["huge", "large", "medium", "small"])
    tournament, _ = lifecycle.open_tournament(name="seeded", schedule="single_elimination", models=list(MODELS),
                                              judge="fake", seeding="rating")
    openers = {frozenset((m.competitor_a.name, m.competitor_b.name)) for m in tournament.matches.all()}
    assert openers == {frozenset({"huge", "small"}), frozenset({"large", "medium"})}


def test_adding_a_model_to_a_finished_tournament_schedules_only_its_matches():
    competitors = factories.prompts_with_outputs(MODELS, prompts=2)
    tournament = lifecycle.create_tournament(name="rr", judge_config=factories.fake_judge(),
                                             competitors=competitors[:3], schedule="round_robin")
    factories.judge_all(tournament)
    tournament.refresh_from_db()
    assert tournament.status == "finished" and tournament.matches.count() == 6
    made = lifecycle.add_models(tournament=tournament, models=[competitors[3].name])
    assert made == 2 * 3 and tournament.status == "running"
    new = tournament.matches.pending()
    assert all(competitors[3].pk in (m.competitor_a_id, m.competitor_b_id) for m in new)
    factories.judge_all(tournament)
    assert Tournament.objects.get(pk=tournament.pk).status == "finished"
    assert Match.objects.filter(tournament=tournament).count() == 12


def test_a_bracket_takes_no_new_models():
    competitors = factories.prompts_with_outputs(MODELS, prompts=1)
    tournament = lifecycle.create_tournament(name="b", judge_config=factories.fake_judge(),
                                             competitors=competitors[:3], schedule="bracket")
    with pytest.raises(TournamentError, match="cannot take new models"):
        lifecycle.add_models(tournament=tournament, models=[competitors[3].name])
    assert tournament.competitors.count() == 3


def test_the_suggested_anchor_is_the_model_nearest_the_median_and_fills_in_a_missing_anchor():
    competitors = factories.prompts_with_outputs({"a": 1, "b": 2, "c": 3}, prompts=1)
    factories.fake_judge()
    rate(["a", "b", "c"])
    suggestion = estimates.suggest_anchor(competitors=competitors)
    assert suggestion.competitor.name == "b" and "median" in suggestion.reason
    tournament, _ = lifecycle.open_tournament(name="t", schedule="anchor", models=["a", "b", "c"], judge="fake")
    assert tournament.anchor.name == "b"


def test_the_estimate_prices_tokens_with_the_judges_price_params():
    factories.prompts_with_outputs({"a": 10, "b": 30}, prompts=2)
    factories.fake_judge(name="priced", price_per_million_input=1000.0)
    _, estimate = lifecycle.open_tournament(name="t", schedule="round_robin", models=["a", "b"], judge="priced",
                                            start=False)
    assert estimate.matches == 2 and estimate.judge_calls == 4
    assert estimate.tokens > 4 * estimates.TEMPLATE_TOKENS
    assert estimate.usd == pytest.approx(estimate.tokens * 1000.0 / 1e6, rel=0.01)


def test_the_anchor_plays_even_when_not_ticked_and_a_tournament_without_matches_never_runs():
    competitors = factories.prompts_with_outputs(MODELS, prompts=2)
    judge = factories.fake_judge()
    anchor = competitors[0]
    tournament = lifecycle.create_tournament(name="a", judge_config=judge, competitors=competitors[1:],
                                             schedule="anchor", anchor=anchor, start=False)
    tournament.competitors.remove(anchor)  # as the admin form can leave it
    assert lifecycle.start(tournament=tournament) == 3 * 2
    empty = lifecycle.create_tournament(name="empty", judge_config=judge, competitors=competitors[:2],
                                        schedule="round_robin", start=False)
    empty.plan = {"prompt_ids": ["no-such-prompt"]}
    empty.save()
    with pytest.raises(TournamentError, match="makes no match"):
        lifecycle.start(tournament=empty)
    assert Tournament.objects.get(pk=empty.pk).status == "draft"
