"""A tournament as a product: open one from names (validated, estimated), then start, pause, resume,
cancel it. Every refusal is a ``TournamentError`` naming the problem, and changes nothing.

Like ``tournaments``, these functions create or reset matches and return; the entry point enqueues
the pending ones (``tasks.enqueue_pending``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from . import estimates, limits, tournaments
from .models import Competitor, Dataset, JudgeConfig, Match, Output, Prompt, Tournament
from .tournaments import TournamentError

# What users call the schedules; "bracket" is the stored value of single elimination.
SCHEDULE_NAMES = {"anchor": Tournament.Schedule.ANCHOR, "single_elimination": Tournament.Schedule.BRACKET,
                  "bracket": Tournament.Schedule.BRACKET, "round_robin": Tournament.Schedule.ROUND_ROBIN,
                  "adaptive": Tournament.Schedule.ADAPTIVE, "groupwise": Tournament.Schedule.GROUPWISE}
BUDGET_CAPS = ("calls", "tokens", "usd")
MAX_BRACKETS_PER_PROMPT = 16


class Conflict(TournamentError):
    """The request is well formed but clashes with what exists (a taken name, a finished tournament)."""


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
) -> tuple[Tournament, estimates.Estimate]:
    """Validate a tournament request, create it with its estimate, and start it unless ``start`` is
    false (then it stays a draft). A request that would make no match is refused."""
    _check_texts(name=name, schedule=schedule, models=models, judge=judge, anchor=anchor, seeding=seeding,
                 dataset=prompts.dataset, category=prompts.category, prompt_ids=prompts.ids)
    _check_json(budget=budget or {})
    stored_schedule = _schedule(schedule)
    name = (name or "").strip()
    if not name:
        raise TournamentError("a tournament needs a name")
    if Tournament.objects.filter(name=name).exists():
        raise Conflict(f"a tournament named {name!r} exists already")
    config = _judge(judge)
    competitors = _competitors(models)
    prompt_rows = _prompts(prompts)
    anchor_row = _anchor(anchor, stored_schedule, competitors)
    _check_outputs(competitors + ([anchor_row] if anchor_row else []), prompt_rows)
    plan = {"brackets_per_prompt": _brackets(brackets_per_prompt, stored_schedule), "seeding": _seeding(seeding),
            "prompt_ids": sorted(prompts.ids), "seed": seed}
    try:
        with transaction.atomic():
            tournament = tournaments.create_tournament(
                name=name, judge_config=config, competitors=competitors, schedule=stored_schedule,
                anchor=anchor_row, dataset=_dataset(prompts.dataset), category=prompts.category,
                created_by=created_by, start=False,
            )
            tournament.plan, tournament.budget = plan, _budget(budget)
            estimate = estimates.estimate(tournament=tournament)
            if estimate.matches == 0:
                raise TournamentError("these models, prompts and schedule make no match: every pair needs "
                                      "outputs of both models on a chosen prompt")
            tournament.plan["estimate"] = estimate.as_dict()
            tournament.save(update_fields=["plan", "budget"])
            if start:
                tournaments.schedule_round(tournament=tournament)
                tournament.refresh_from_db()
    except IntegrityError:
        raise Conflict(f"a tournament named {name!r} exists already") from None
    return tournament, estimate


def start(*, tournament: Tournament) -> int:
    if tournament.status != Tournament.Status.DRAFT:
        raise Conflict(f"tournament {tournament.name!r} is {tournament.status}; only a draft can be started")
    return tournaments.schedule_round(tournament=tournament)


def pause(*, tournament: Tournament) -> None:
    """Stop new claims; matches already being judged finish."""
    if not Tournament.objects.filter(pk=tournament.pk, status=Tournament.Status.RUNNING).update(
            status=Tournament.Status.PAUSED):
        raise Conflict(f"tournament {tournament.name!r} is {_status(tournament)}; only a running one can pause")


def resume(*, tournament: Tournament, budget: dict | None = None) -> None:
    """Run a paused or budget-exhausted tournament again, with a new budget if given. The caller
    enqueues its pending matches (their earlier messages found it paused and were dropped)."""
    resumable = [Tournament.Status.PAUSED, Tournament.Status.BUDGET_EXHAUSTED]
    with transaction.atomic():
        row = Tournament.objects.select_for_update().get(pk=tournament.pk)
        if row.status not in resumable:
            raise Conflict(f"tournament {row.name!r} is {row.status}; only a paused one can resume")
        if budget is not None:
            _check_json(budget=budget)
            row.budget = _budget(budget)
        cap = row.over_budget(row.spent())
        if cap:
            raise TournamentError(f"the {cap} budget is spent ({row.budget[cap]}); raise it to resume")
        row.status = Tournament.Status.RUNNING
        row.save(update_fields=["status", "budget"])
        row.matches.pending().update(enqueued_at=None)
    tournaments.finish_if_done(tournament=row)


def cancel(*, tournament: Tournament) -> int:
    """Stop for good: pending matches are cancelled (matches being judged finish). Returns how many."""
    open_states = [Tournament.Status.DRAFT, Tournament.Status.RUNNING, Tournament.Status.PAUSED,
                   Tournament.Status.BUDGET_EXHAUSTED]
    with transaction.atomic():
        if not Tournament.objects.filter(pk=tournament.pk, status__in=open_states).update(
                status=Tournament.Status.CANCELLED, finished_at=timezone.now()):
            raise Conflict(f"tournament {tournament.name!r} is {_status(tournament)} already")
        return tournament.matches.pending().update(status=Match.Status.CANCELLED)


def add_models(*, tournament: Tournament, models: Sequence[str]) -> int:
    """More models in a tournament: each must be known and have outputs on its prompts; only the
    matches they need are made. Returns how many."""
    if _status(tournament) == Tournament.Status.CANCELLED:
        raise Conflict(f"tournament {tournament.name!r} is cancelled")
    _check_texts(models=list(models))
    names = [n for n in dict.fromkeys(models) if n]
    if not names:
        raise TournamentError("name at least one model to add")
    known = set(tournament.competitors.values_list("name", flat=True))
    already = [n for n in names if n in known]
    if already:
        raise TournamentError(f"already in the tournament: {', '.join(already)}")
    found = {c.name: c for c in Competitor.objects.filter(name__in=names)}
    missing = [n for n in names if n not in found]
    if missing:
        raise TournamentError(f"unknown model(s): {', '.join(missing)}")
    prompt_ids = list(tournaments.outputs_by_prompt(tournament))
    _check_outputs(list(found.values()), prompt_ids)
    return tournaments.add_competitors(tournament=tournament, competitors=list(found.values()))


def retry_failed(*, tournament: Tournament) -> int:
    if _status(tournament) == Tournament.Status.CANCELLED:
        raise Conflict(f"tournament {tournament.name!r} is cancelled")
    return tournaments.retry_failed(tournament=tournament)


def _status(tournament: Tournament) -> str:
    return Tournament.objects.filter(pk=tournament.pk).values_list("status", flat=True).first() or "gone"


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


def _check_json(**values) -> None:
    for field, value in values.items():
        problem = next(limits.json_problems(value, field), None)
        if problem:
            raise TournamentError(f"{problem[0]} {problem[1]}")


def _schedule(value: str) -> str:
    if value not in SCHEDULE_NAMES:
        raise TournamentError(f"unknown schedule {value!r}; choose one of anchor, single_elimination, "
                              "round_robin, adaptive")
    return SCHEDULE_NAMES[value]


def _judge(value: str | int) -> JudgeConfig:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        found = JudgeConfig.objects.filter(pk=int(value)).first()
    else:
        found = JudgeConfig.objects.filter(name=value).order_by("-version").first()
    if found is None:
        raise TournamentError(f"no judge configuration {value!r} (give a name or an id; see /api/v1/judges)")
    return found


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
        raise TournamentError(f"brackets_per_prompt must be 1 to {MAX_BRACKETS_PER_PROMPT}, got {value!r}")
    if value > 1 and schedule != Tournament.Schedule.BRACKET:
        raise TournamentError("brackets_per_prompt is for the single_elimination schedule")
    return value


def _seeding(value: str) -> str:
    if value not in ("random", "rating"):
        raise TournamentError(f"seeding must be 'random' or 'rating', got {value!r}")
    return value


def _budget(value: dict | None) -> dict:
    value = value or {}
    unknown = sorted(set(value) - set(BUDGET_CAPS))
    if unknown:
        raise TournamentError(f"unknown budget cap(s): {', '.join(unknown)}; use calls, tokens or usd")
    for cap, limit in value.items():
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | float) or limit <= 0):
            raise TournamentError(f"budget {cap} must be a positive number, got {limit!r}")
    return {cap: limit for cap, limit in value.items() if limit is not None}


def preview(**request) -> estimates.Estimate:
    """The estimate of a tournament request, validated like ``open_tournament`` but leaving nothing."""
    with transaction.atomic():
        _, estimate = open_tournament(**{**request, "start": False})
        transaction.set_rollback(True)
    return estimate
