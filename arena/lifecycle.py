"""The one front door for tournament verbs: create, start, pause, resume, cancel, retry failed
matches, add models, rejudge. Every entry point (API, pages, admin, commands, demo) calls these
functions, and every one of them changes a tournament's state through ``_transition``: under a row
lock, by the table ``TRANSITIONS`` of (state, action) -> new state. A pair not in the table is an
``IllegalTransition`` naming the state and the action; any refusal changes nothing.

Like ``tournaments``, these functions create or reset matches and return; the entry point enqueues
the pending ones (``tasks.enqueue_pending``). ``tournaments`` holds the state-neutral mechanics
(laying out matches) and the worker's own two transitions (running -> finished when nothing is
left, running -> budget_exhausted when a cap is reached), both conditional on ``running``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from . import estimates, limits, tournaments
from .models import Competitor, Dataset, JudgeConfig, Output, Prompt, Tournament
from .ratings.quality import check_stop_rule
from .tournaments import TournamentError

# What users call the schedules; "bracket" is the stored value of single elimination.
SCHEDULE_NAMES = {"anchor": Tournament.Schedule.ANCHOR, "single_elimination": Tournament.Schedule.BRACKET,
                  "bracket": Tournament.Schedule.BRACKET, "round_robin": Tournament.Schedule.ROUND_ROBIN,
                  "adaptive": Tournament.Schedule.ADAPTIVE, "groupwise": Tournament.Schedule.GROUPWISE}
# Each cap and its range (``limits.number_problem``): counts are whole numbers that fit a bigint,
# dollars a positive finite amount; zero would stop a tournament before its first judgment.
BUDGET_CAPS = {"calls": {"above": 0, "at_most": limits.BIGINT_MAX, "whole": True},
               "tokens": {"above": 0, "at_most": limits.BIGINT_MAX, "whole": True},
               "usd": {"above": 0, "at_most": 1e12}}
MAX_BRACKETS_PER_PROMPT = 16

T = TypeVar("T")
S = Tournament.Status


class Action(StrEnum):
    CREATE = "create"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    RETRY_FAILED = "retry-failed"
    ADD_MODELS = "add-models"
    REJUDGE = "rejudge"


# The state a tournament has before it exists, for the one action that makes it.
NEW = "new"

# (state, action) -> new state. Anything else is refused with 409 and changes nothing.
# - retry-failed and add-models keep a paused or budget-exhausted tournament where it is: the
#   matches they make wait, unclaimed, until it is resumed (with a raised budget).
# - A draft takes new models without matches (they are laid out when it starts); it has no
#   failed matches to retry.
# - rejudge copies a finished or cancelled tournament's matches into a new tournament (created and
#   started by the same table); the source is unchanged. A tournament still being played is not
#   copied: its matches are not all laid out yet.
# - A tournament that becomes running with no open match finishes at once (the worker's own rule),
#   so retrying or adding nothing to a finished tournament leaves it finished.
TRANSITIONS: dict[tuple[str, Action], str] = {
    (NEW, Action.CREATE): S.DRAFT,
    (S.DRAFT, Action.START): S.RUNNING,
    (S.DRAFT, Action.CANCEL): S.CANCELLED,
    (S.DRAFT, Action.ADD_MODELS): S.DRAFT,
    (S.RUNNING, Action.PAUSE): S.PAUSED,
    (S.RUNNING, Action.CANCEL): S.CANCELLED,
    (S.RUNNING, Action.RETRY_FAILED): S.RUNNING,
    (S.RUNNING, Action.ADD_MODELS): S.RUNNING,
    (S.PAUSED, Action.RESUME): S.RUNNING,
    (S.PAUSED, Action.CANCEL): S.CANCELLED,
    (S.PAUSED, Action.RETRY_FAILED): S.PAUSED,
    (S.PAUSED, Action.ADD_MODELS): S.PAUSED,
    (S.BUDGET_EXHAUSTED, Action.RESUME): S.RUNNING,
    (S.BUDGET_EXHAUSTED, Action.CANCEL): S.CANCELLED,
    (S.BUDGET_EXHAUSTED, Action.RETRY_FAILED): S.BUDGET_EXHAUSTED,
    (S.BUDGET_EXHAUSTED, Action.ADD_MODELS): S.BUDGET_EXHAUSTED,
    (S.FINISHED, Action.RETRY_FAILED): S.RUNNING,
    (S.FINISHED, Action.ADD_MODELS): S.RUNNING,
    (S.FINISHED, Action.REJUDGE): S.FINISHED,
    (S.CANCELLED, Action.REJUDGE): S.CANCELLED,
}
ENDED = (S.FINISHED, S.CANCELLED)


class Conflict(TournamentError):
    """The request is well formed but clashes with what exists (a taken name, the tournament's state)."""


class IllegalTransition(Conflict):
    """The action is not allowed from the tournament's current state (``TRANSITIONS``)."""

    def __init__(self, *, name: str, state: str, action: Action):
        self.state, self.action = state, action
        allowed = allowed_from(action)
        already = " already" if state in {TRANSITIONS[(s, action)] for s in allowed} - set(allowed) else ""
        super().__init__(f"tournament {name!r} is {state}{already}: {action} is only for "
                         f"{' or '.join(allowed)} tournaments")


def allowed_from(action: Action) -> list[str]:
    """The states ``action`` is allowed from, in the table's order."""
    return [state for state, act in TRANSITIONS if act == action and state != NEW]


def allowed_actions(state: str) -> list[Action]:
    """What can be done to a tournament in ``state`` (the pages show these buttons)."""
    return [act for s, act in TRANSITIONS if s == state]


def next_state(*, name: str, state: str, action: Action) -> str:
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition(name=name, state=state, action=action) from None


def _transition(tournament: Tournament, action: Action, effect: Callable[[Tournament], T]) -> T:
    """Apply ``action``: lock the row, check the table, run ``effect`` on the locked row, store the
    new state. The effect raising rolls everything back. The lock makes concurrent calls queue on
    PostgreSQL (the second sees the first's new state and is refused); on SQLite the settings'
    IMMEDIATE transactions take the database's write lock at the start of the block instead."""
    with transaction.atomic():
        row = Tournament.objects.select_for_update().filter(pk=tournament.pk).first()
        if row is None:
            raise TournamentError(f"tournament {tournament.name!r} no longer exists")
        target = next_state(name=row.name, state=row.status, action=action)
        result = effect(row)
        if target != row.status:
            Tournament.objects.filter(pk=row.pk).update(
                status=target, finished_at=timezone.now() if target in ENDED else None)
            row.status = target
        if target == S.RUNNING:
            tournaments.finish_if_done(tournament=row)
    tournament.refresh_from_db()
    return result


# --- the verbs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromptSelection:
    dataset: str = ""
    category: str = ""
    ids: Sequence[str] = ()


def open_tournament(
    *,
    name: str,
    schedule: str,
    models: Sequence[str],
    judge: str | int,
    prompts: PromptSelection = PromptSelection(),
    anchor: str = "",
    brackets_per_prompt: int = 1,
    seeding: str = "random",
    budget: dict | None = None,
    seed: int | None = None,
    start: bool = True,
    created_by=None,
    stop: dict | None = None,
) -> tuple[Tournament, estimates.Estimate]:
    """Validate a tournament request by names, create it with its estimate, and start it unless
    ``start`` is false (then it stays a draft). A request that would make no match is refused."""
    _check_texts(name=name, schedule=schedule, models=models, judge=judge, anchor=anchor, seeding=seeding,
                 dataset=prompts.dataset, category=prompts.category, prompt_ids=prompts.ids)
    stored_budget = parse_budget(budget)
    stored_schedule = _schedule(schedule)
    config = _judge(judge)
    competitors = _competitors(models)
    prompt_rows = _prompts(prompts)
    anchor_row = _anchor(anchor, stored_schedule, competitors)
    _check_outputs(competitors + ([anchor_row] if anchor_row else []), prompt_rows)
    plan = {"brackets_per_prompt": _brackets(brackets_per_prompt, stored_schedule), "seeding": _seeding(seeding),
            "prompt_ids": sorted(prompts.ids), "seed": _seed(seed)}
    if stop:
        plan["stop"] = _stop_rule(stop, stored_schedule)
    with transaction.atomic():
        tournament = create_tournament(
            name=name, judge_config=config, competitors=competitors, schedule=stored_schedule, anchor=anchor_row,
            dataset=_dataset(prompts.dataset), category=prompts.category, created_by=created_by, plan=plan,
            budget=stored_budget, start=False)
        estimate = _store_estimate(tournament)
        if estimate.matches == 0:
            raise TournamentError("these models, prompts and schedule make no match: every pair needs "
                                  "outputs of both models on a chosen prompt")
        if start:
            _start(tournament)
    return tournament, estimate


def create_tournament(
    *,
    name: str,
    judge_config: JudgeConfig,
    competitors: Sequence[Competitor],
    schedule: str = Tournament.Schedule.ANCHOR,
    anchor: Competitor | None = None,
    dataset: Dataset | None = None,
    category: str = "",
    created_by=None,
    plan: dict | None = None,
    budget: dict | None = None,
    start: bool = True,
) -> Tournament:
    """A tournament from rows already looked up (``open_tournament`` takes names): a draft, then
    started unless ``start`` is false."""
    name = (name or "").strip()
    _check_texts(name=name, category=category)
    if not name:
        raise TournamentError("a tournament needs a name")
    try:
        # Its name is shown and linked on every page (arena.limits' name rule).
        limits.check_name(name, field="name")
    except ValueError as exc:
        raise TournamentError(str(exc)) from None
    if schedule not in Tournament.Schedule.values:
        raise TournamentError(f"unknown schedule {schedule!r}; choose one of {', '.join(Tournament.Schedule.values)}")
    if schedule == Tournament.Schedule.ANCHOR and anchor is None:
        raise TournamentError("an anchor tournament needs an anchor competitor")
    if len({c.pk for c in competitors} | ({anchor.pk} if anchor else set())) < 2:
        raise TournamentError("a tournament needs at least two competitors")
    if Tournament.objects.filter(name=name).exists():
        raise Conflict(f"a tournament named {name!r} exists already")
    try:
        with transaction.atomic():
            tournament = Tournament.objects.create(
                name=name, judge_config=judge_config, schedule=schedule, anchor=anchor, dataset=dataset,
                category=category, created_by=created_by, plan=plan or {}, budget=parse_budget(budget),
                status=next_state(name=name, state=NEW, action=Action.CREATE))
            tournament.competitors.set(list(competitors) + ([anchor] if anchor else []))
            if start:
                _start(tournament)
    except IntegrityError:
        # Two requests for one new name: the unique constraint decides.
        raise Conflict(f"a tournament named {name!r} exists already") from None
    return tournament


def start(*, tournament: Tournament) -> int:
    """Lay out a draft's first matches and run it; returns how many were made. A draft that would
    make no match stays a draft."""
    return _start(tournament)


def _start(tournament: Tournament) -> int:
    # Apart from ``start`` because ``open_tournament`` and ``create_tournament`` take a ``start`` flag.
    return _transition(tournament, Action.START, lambda row: tournaments.schedule_round(tournament=row))


def pause(*, tournament: Tournament) -> None:
    """Stop new claims; matches already being judged finish."""
    _transition(tournament, Action.PAUSE, lambda row: None)


def resume(*, tournament: Tournament, budget: dict | None = None) -> None:
    """Run a paused or budget-exhausted tournament again, with a new budget if given. The caller
    enqueues its pending matches (their earlier messages found it paused and were dropped)."""
    new_budget = None if budget is None else parse_budget(budget)

    def run_again(row: Tournament) -> None:
        if new_budget is not None:
            row.budget = new_budget
        cap = row.over_budget(row.spent())
        if cap:
            raise TournamentError(f"the {cap} budget is spent ({row.budget[cap]}); raise it to resume")
        row.save(update_fields=["budget"])
        row.matches.pending().update(enqueued_at=None)

    _transition(tournament, Action.RESUME, run_again)


def cancel(*, tournament: Tournament) -> int:
    """Stop for good: pending matches are cancelled (matches being judged finish). Returns how many."""
    return _transition(tournament, Action.CANCEL, lambda row: tournaments.cancel_pending(tournament=row))


def retry_failed(*, tournament: Tournament) -> int:
    """Failed matches pending again (judged ones are left alone); returns how many. A paused or
    budget-exhausted tournament stays so: they wait for resume."""
    return _transition(tournament, Action.RETRY_FAILED, lambda row: tournaments.reset_failed(tournament=row))


def add_models(*, tournament: Tournament, models: Sequence[str]) -> int:
    """More models in a tournament: each must be known and have outputs on its prompts; only the
    matches they need are made (none in a draft: they are laid out when it starts). Returns how many."""
    _check_texts(models=list(models))
    names = [n for n in dict.fromkeys(models) if n]
    if not names:
        raise TournamentError("name at least one model to add")
    found = {c.name: c for c in Competitor.objects.filter(name__in=names)}
    missing = [n for n in names if n not in found]
    if missing:
        raise TournamentError(f"unknown model(s): {', '.join(missing)}")

    def add(row: Tournament) -> int:
        known = set(row.competitors.values_list("name", flat=True))
        already = [n for n in names if n in known]
        if already:
            raise TournamentError(f"already in the tournament: {', '.join(already)}")
        _check_outputs(list(found.values()), list(tournaments.outputs_by_prompt(row)))
        if row.status == S.DRAFT:
            row.competitors.add(*found.values())
            _store_estimate(row)
            return 0
        return tournaments.add_competitors(tournament=row, competitors=list(found.values()))

    return _transition(tournament, Action.ADD_MODELS, add)


def rejudge(*, tournament: Tournament, judge: str | int, name: str = "", created_by=None) -> Tournament:
    """A new tournament with the same matches (same prompts, same stored outputs) judged under
    another configuration; nothing is regenerated. The caller enqueues the new one's matches."""
    config = _judge(judge)

    def copy(row: Tournament) -> Tournament:
        if config.pk == row.judge_config_id:
            raise TournamentError("that is the tournament's own judge: use retry-failed to re-run failures")
        if not row.matches.exists():
            raise TournamentError(f"tournament {row.name!r} has no matches to judge again")
        fresh = create_tournament(
            name=name or f"{row.name} / {config}", judge_config=config, competitors=list(row.competitors.all()),
            schedule=row.schedule, anchor=row.anchor, dataset=row.dataset, category=row.category,
            created_by=created_by, plan={k: v for k, v in row.plan.items() if k != "estimate"}, budget=row.budget,
            start=False)
        _transition(fresh, Action.START, lambda new: tournaments.copy_matches(source=row, target=new))
        return fresh

    return _transition(tournament, Action.REJUDGE, copy)


def preview(**request) -> estimates.Estimate:
    """The estimate of a tournament request, validated like ``open_tournament`` but leaving nothing."""
    with transaction.atomic():
        _, estimate = open_tournament(**{**request, "start": False})
        transaction.set_rollback(True)
    return estimate


def parse_budget(value: dict | None) -> dict:
    """A budget as stored: only the known caps, each a number in its range (``BUDGET_CAPS``); a
    cap of None is no cap. Anything else is a TournamentError naming the cap."""
    value = value or {}
    if not isinstance(value, dict):
        raise TournamentError(f"a budget is an object of caps ({', '.join(BUDGET_CAPS)}), got {limits.quoted(value)}")
    unknown = sorted(str(k) for k in set(value) - set(BUDGET_CAPS))
    if unknown:
        raise TournamentError(f"unknown budget cap(s): {', '.join(map(limits.quoted, unknown))}; "
                              f"use {', '.join(BUDGET_CAPS)}")
    for cap, limit in value.items():
        if limit is not None:
            try:
                limits.check_number(limit, name=f"budget {cap}", **BUDGET_CAPS[cap])
            except ValueError as exc:
                raise TournamentError(str(exc)) from None
    return {cap: limit for cap, limit in value.items() if limit is not None}


def _store_estimate(tournament: Tournament) -> estimates.Estimate:
    estimate = estimates.estimate(tournament=tournament)
    tournament.plan["estimate"] = estimate.as_dict()
    Tournament.objects.filter(pk=tournament.pk).update(plan=tournament.plan)
    return estimate


# --- validating a request --------------------------------------------------------------------------

def _check_texts(**values) -> None:
    """Every text the database will store or search for: storable, and no longer than its column."""
    columns = {"name": (Tournament, "name"), "category": (Tournament, "category"), "models": (Competitor, "name"),
               "anchor": (Competitor, "name"), "dataset": (Dataset, "name"), "prompt_ids": (Prompt, "external_id"),
               "judge": (JudgeConfig, "name")}
    lengths = {field: limits.column_chars(*column) for field, column in columns.items()}
    for field, value in values.items():
        for text in (value if isinstance(value, list | tuple) else [value]):
            if isinstance(text, str):
                try:
                    limits.check_text(text, name=field, max_chars=lengths.get(field))
                except ValueError as exc:
                    raise TournamentError(str(exc)) from None


def _schedule(value: str) -> str:
    if value not in SCHEDULE_NAMES:
        raise TournamentError(f"unknown schedule {value!r}; choose one of anchor, single_elimination, "
                              "round_robin, adaptive")
    return SCHEDULE_NAMES[value]


def _judge(value: str | int) -> JudgeConfig:
    found = JudgeConfig.objects.by_name_or_id(value)
    if found is None:
        raise TournamentError(f"no judge configuration {limits.quoted(value)} (give a name or an id; "
                              "see /api/v1/judges)")
    return found


def _seed(value: int | None) -> int | None:
    if value is not None:
        try:
            limits.check_number(value, name="seed", at_least=0, at_most=limits.BIGINT_MAX, whole=True)
        except ValueError as exc:
            raise TournamentError(str(exc)) from None
    return value


def _competitors(names: Sequence[str]) -> list[Competitor]:
    wanted = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
    if len(wanted) < 2:
        raise TournamentError("a tournament needs at least two models")
    found = list(Competitor.objects.filter(name__in=wanted))
    missing = [n for n in wanted if n not in {c.name for c in found}]
    if missing:
        raise TournamentError(f"unknown model(s): {', '.join(missing)}")
    return found


def _dataset(name: str) -> Dataset | None:
    if not name:
        return None
    found = Dataset.objects.filter(name=name).first()
    if found is None:
        raise TournamentError(f"unknown dataset {name!r}")
    return found


def _prompts(selection: PromptSelection) -> list[int]:
    rows = Prompt.objects.all()
    if selection.dataset:
        rows = rows.filter(dataset=_dataset(selection.dataset))
    if selection.category:
        rows = rows.filter(category=selection.category)
    if selection.ids:
        found = set(rows.filter(external_id__in=selection.ids).values_list("external_id", flat=True))
        missing = [i for i in selection.ids if i not in found]
        if missing:
            raise TournamentError(f"unknown prompt id(s) in this selection: {', '.join(missing[:20])}")
        rows = rows.filter(external_id__in=selection.ids)
    ids = list(rows.values_list("pk", flat=True))
    if not ids:
        raise TournamentError("no prompt matches this dataset, category and id selection")
    return ids


def _anchor(name: str, schedule: str, competitors: list[Competitor]) -> Competitor | None:
    if schedule != Tournament.Schedule.ANCHOR:
        if name:
            raise TournamentError(f"an anchor is only for the anchor schedule, not {schedule!r}")
        return None
    if not name:
        suggestion = estimates.suggest_anchor(competitors=competitors)
        if suggestion is None:
            raise TournamentError("the anchor schedule needs an anchor model (no leaderboard yet to suggest one)")
        return suggestion.competitor
    found = Competitor.objects.filter(name=name).first()
    if found is None:
        raise TournamentError(f"unknown anchor model {name!r}")
    return found


def _check_outputs(competitors: list[Competitor], prompt_ids: list[int]) -> None:
    counts = dict(Output.objects.filter(competitor__in=competitors, prompt_id__in=prompt_ids).order_by()
                  .values("competitor__name").annotate(n=Count("pk")).values_list("competitor__name", "n"))
    silent = [c.name for c in competitors if not counts.get(c.name)]
    if silent:
        raise TournamentError(f"model(s) without outputs on the chosen prompts: {', '.join(silent)}")


def _brackets(value: int, schedule: str) -> int:
    if not isinstance(value, int) or not 1 <= value <= MAX_BRACKETS_PER_PROMPT:
        raise TournamentError(f"brackets_per_prompt must be 1 to {MAX_BRACKETS_PER_PROMPT}, "
                              f"got {limits.quoted(value)}")
    if value > 1 and schedule != Tournament.Schedule.BRACKET:
        raise TournamentError("brackets_per_prompt is for the single_elimination schedule")
    return value


def _stop_rule(value: dict, schedule: str) -> dict:
    """An adaptive tournament's target: it stops when its intervals meet it, or its budget ends."""
    if schedule != Tournament.Schedule.ADAPTIVE:
        raise TournamentError("a stop rule applies to the adaptive schedule only")
    rule, target = value.get("rule"), value.get("value")
    try:
        check_stop_rule(rule, target)
    except ValueError as exc:
        raise TournamentError(str(exc)) from None
    return {"rule": rule, "value": target}


def _seeding(value: str) -> str:
    if value not in ("random", "rating"):
        raise TournamentError(f"seeding must be 'random' or 'rating', got {value!r}")
    return value
