"""The tournament state machine: every action from every state is the table's new state or a refusal
naming the state and the action that changes nothing; and the holes the old verbs had."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from arena import lifecycle
from arena.lifecycle import TRANSITIONS, Action, IllegalTransition
from arena.models import Match, Tournament
from arena.tournaments import TournamentError
from tests import factories

pytestmark = pytest.mark.django_db

MODELS = {"small": 5, "medium": 20, "large": 60, "extra": 90}
PLAYERS = ["small", "medium", "large"]
STATES = list(Tournament.Status.values)
ACTIONS = [a for a in Action if a != Action.CREATE]


@pytest.fixture
def arena():
    factories.prompts_with_outputs(MODELS, prompts=2)
    factories.fake_judge()
    factories.fake_judge(name="other", preference="shorter")


def fail_one(tournament: Tournament) -> None:
    """A match that ran out of retries (what the worker does after the last attempt)."""
    match = tournament.matches.filter(status=Match.Status.PENDING).order_by("pk").first()
    Match.objects.filter(pk=match.pk).update(status=Match.Status.FAILED, last_error="timeout")


def pending_ids(tournament: Tournament) -> list[int]:
    return list(tournament.matches.pending().values_list("pk", flat=True))


def tournament_in(state: str) -> Tournament:
    """A round-robin tournament of three models brought to ``state`` by the front door and the judge,
    with one failed match wherever a tournament can have one."""
    tournament, _ = lifecycle.open_tournament(name=f"in {state}", schedule="round_robin", models=PLAYERS,
                                              judge="fake", start=state != "draft",
                                              budget={"calls": 2} if state == "budget_exhausted" else None)
    if state == "draft":
        return tournament
    fail_one(tournament)
    if state == "paused":
        lifecycle.pause(tournament=tournament)
    elif state == "budget_exhausted":
        factories.judge(match_ids=pending_ids(tournament)[:1])  # both orders: 2 calls, the cap
    elif state == "finished":
        factories.judge_all(tournament)
    elif state == "cancelled":
        lifecycle.cancel(tournament=tournament)
    tournament.refresh_from_db()
    assert tournament.status == state
    return tournament


def snapshot(tournament: Tournament) -> dict:
    row = Tournament.objects.get(pk=tournament.pk)
    return {"status": row.status, "budget": row.budget, "finished_at": row.finished_at,
            "matches": sorted(row.matches.values_list("pk", "status")),
            "models": sorted(row.competitors.values_list("name", flat=True)),
            "tournaments": Tournament.objects.count()}


def act(tournament: Tournament, action: Action):
    arguments = {Action.RESUME: {"budget": {"calls": 1000}}, Action.ADD_MODELS: {"models": ["extra"]},
                 Action.REJUDGE: {"judge": "other"}}
    verb = {Action.START: lifecycle.start, Action.PAUSE: lifecycle.pause, Action.RESUME: lifecycle.resume,
            Action.CANCEL: lifecycle.cancel, Action.RETRY_FAILED: lifecycle.retry_failed,
            Action.ADD_MODELS: lifecycle.add_models, Action.REJUDGE: lifecycle.rejudge}[action]
    return verb(tournament=tournament, **arguments.get(action, {}))


@pytest.mark.parametrize("action", ACTIONS, ids=str)
@pytest.mark.parametrize("state", STATES)
def test_every_action_from_every_state_gives_the_tables_state_or_a_refusal_that_changes_nothing(
        arena, state, action):
    tournament = tournament_in(state)
    before = snapshot(tournament)
    if (state, action) not in TRANSITIONS:
        with pytest.raises(IllegalTransition) as refused:
            act(tournament, action)
        assert f"is {state}" in str(refused.value) and str(action) in str(refused.value)
        assert (refused.value.state, refused.value.action) == (state, action)
        assert snapshot(tournament) == before
        return
    result = act(tournament, action)
    assert Tournament.objects.get(pk=tournament.pk).status == TRANSITIONS[(state, action)]
    if action == Action.REJUDGE:
        assert result.status == "running" and result.matches.count() == len(before["matches"])
        assert snapshot(tournament) == {**before, "tournaments": 2}  # the source is only read


def test_the_table_names_every_state_and_every_action():
    assert {state for state, _ in TRANSITIONS} == set(STATES) | {lifecycle.NEW}
    assert {action for _, action in TRANSITIONS} == set(Action)
    assert all(target in STATES for target in TRANSITIONS.values())


def test_a_refusal_names_the_state_and_the_action_and_says_already_when_it_is_there():
    refused = IllegalTransition(name="cup", state="cancelled", action=Action.CANCEL)
    assert str(refused) == ("tournament 'cup' is cancelled already: cancel is only for draft or running or "
                            "paused or budget_exhausted tournaments")
    assert "is draft: retry-failed is only for" in str(IllegalTransition(name="cup", state="draft",
                                                                          action=Action.RETRY_FAILED))


# --- the holes: each was a way round the old checks ---------------------------------------------------

def test_retrying_a_draft_is_refused_and_it_can_still_start(arena):
    draft = tournament_in("draft")
    with pytest.raises(IllegalTransition, match="is draft"):
        lifecycle.retry_failed(tournament=draft)
    assert draft.status == "draft" and not draft.matches.exists()
    assert lifecycle.start(tournament=draft) == 6 and draft.status == "running"


def test_retrying_a_finished_tournament_with_nothing_failed_leaves_it_finished(arena):
    tournament, _ = lifecycle.open_tournament(name="clean", schedule="round_robin", models=PLAYERS, judge="fake")
    factories.judge_all(tournament)
    assert lifecycle.retry_failed(tournament=tournament) == 0
    tournament.refresh_from_db()
    assert tournament.status == "finished" and tournament.finished_at is not None


def test_retrying_a_finished_tournaments_failures_runs_it_to_the_end_again(arena):
    tournament = tournament_in("finished")
    assert lifecycle.retry_failed(tournament=tournament) == 1 and tournament.status == "running"
    factories.judge_all(tournament)
    tournament.refresh_from_db()
    assert tournament.status == "finished" and set(tournament.matches.values_list("status", flat=True)) == {"done"}


@pytest.mark.parametrize("state", ["paused", "budget_exhausted"])
def test_retrying_or_adding_models_keeps_a_paused_or_spent_tournament_stopped(arena, state):
    tournament = tournament_in(state)
    spent = tournament.spent()
    matches = tournament.matches.count()
    assert lifecycle.retry_failed(tournament=tournament) == 1
    lifecycle.add_models(tournament=tournament, models=["extra"])
    assert tournament.matches.count() == matches + 2 * 3
    assert Tournament.objects.get(pk=tournament.pk).status == state
    # The worker claims nothing of a tournament that is not running: no judgment past the pause or the cap.
    assert factories.judge(match_ids=pending_ids(tournament)).done == []
    assert tournament.spent() == spent
    lifecycle.resume(tournament=tournament, budget={"calls": 1000})
    factories.judge_all(tournament)
    assert Tournament.objects.get(pk=tournament.pk).status == "finished"


def test_a_model_added_to_a_draft_waits_for_the_start(arena):
    draft = tournament_in("draft")
    assert lifecycle.add_models(tournament=draft, models=["extra"]) == 0
    assert draft.status == "draft" and not draft.matches.exists()
    assert draft.plan["estimate"]["matches"] == 2 * 6
    assert lifecycle.start(tournament=draft) == 2 * 6


def test_rejudging_a_tournament_still_being_played_is_refused(arena):
    running = tournament_in("running")
    with pytest.raises(IllegalTransition, match="is running: rejudge is only for finished or cancelled"):
        lifecycle.rejudge(tournament=running, judge="other")
    assert Tournament.objects.count() == 1


def test_a_cancelled_draft_has_nothing_to_rejudge(arena):
    draft = tournament_in("draft")
    lifecycle.cancel(tournament=draft)
    with pytest.raises(TournamentError, match="no matches to judge again"):
        lifecycle.rejudge(tournament=draft, judge="other")
    assert Tournament.objects.count() == 1


def test_a_failing_effect_rolls_the_transition_back(arena):
    tournament = tournament_in("budget_exhausted")
    with pytest.raises(TournamentError, match="calls budget is spent"):
        lifecycle.resume(tournament=tournament)
    assert Tournament.objects.get(pk=tournament.pk).status == "budget_exhausted"


BAD_BUDGETS = [
    pytest.param({"call": 100}, "unknown budget cap(s): 'call'", id="misspelt-cap"),
    pytest.param({"calls": 0}, "budget calls must be > 0", id="zero"),
    pytest.param({"calls": 1.5}, "budget calls must be a whole number", id="fraction"),
    pytest.param({"tokens": 10**400}, "budget tokens must be > 0 and <= ", id="400-digits"),
    pytest.param({"usd": float("nan")}, "budget usd must be a finite number", id="nan"),
    pytest.param({"usd": "5"}, "budget usd must be a number", id="text"),
    pytest.param({"calls": True}, "budget calls must be a number", id="boolean"),
    pytest.param([100], "a budget is an object of caps", id="not-an-object"),
]


@pytest.mark.parametrize(("budget", "message"), BAD_BUDGETS)
def test_a_bad_budget_is_refused_by_name_and_resume_changes_nothing(arena, budget, message):
    tournament = tournament_in("budget_exhausted")
    before = snapshot(tournament)
    with pytest.raises(TournamentError) as refused:
        lifecycle.resume(tournament=tournament, budget=budget)
    assert message in str(refused.value) and len(str(refused.value)) < 200
    assert snapshot(tournament) == before


def test_a_created_tournament_starts_as_a_draft_by_the_table(arena):
    tournament, _ = lifecycle.open_tournament(name="new", schedule="round_robin", models=PLAYERS, judge="fake",
                                              start=False)
    assert tournament.status == TRANSITIONS[(lifecycle.NEW, Action.CREATE)] == "draft"


# --- the commands go through the same door --------------------------------------------------------

def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_the_rejudge_command_refuses_a_tournament_still_being_played_and_finds_one_by_id(arena):
    running = tournament_in("running")
    with pytest.raises(CommandError, match="is running: rejudge is only for finished or cancelled"):
        run("rejudge", str(running.pk), "--judge", "other")
    with pytest.raises(CommandError, match="no tournament named '²'"):
        run("rejudge", "²", "--failed")
    assert "1 failed match(es) queued again" in run("rejudge", str(running.pk), "--failed")
    lifecycle.cancel(tournament=running)
    with pytest.raises(CommandError, match="is cancelled: retry-failed is only for"):
        run("rejudge", running.name, "--failed")


def test_the_create_tournament_command_validates_like_the_api(arena):
    with pytest.raises(CommandError, match="no judge configuration '²'"):
        run("create_tournament", "cup", "--judge", "²", "--schedule", "round_robin")
    assert "(draft)" in run("create_tournament", "cup", "--judge", "fake", "--schedule", "round_robin", "--draft")
    assert Tournament.objects.get(name="cup").competitors.count() == len(MODELS)


def test_create_judge_refuses_a_400_digit_tie_margin_by_name():
    with pytest.raises(CommandError, match="options.tie_margin must be >= 0 and < 0.5"):
        run("create_judge", "x", "--backend", "fake", "--model", "m", "--option", f"tie_margin={10**400}")
