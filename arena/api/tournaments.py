"""Tournaments, their matches, and judge configurations: create, estimate, watch, pause, inspect."""

from datetime import datetime

from django.db import IntegrityError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate
from pydantic import field_validator, model_validator

from .. import lifecycle, limits, progress, tasks
from ..judge_configs import JudgeConfigError, check_options, create_judge_config, judge_view
from ..models import Competitor, JudgeConfig, Match, Prompt, Tournament
from ..ratings.quality import STOP_RULES
from ..tournaments import TournamentError
from . import auth
from .auth import scoped
from .pages import Pages

router = Router(tags=["tournaments"])


def _documented(**schema) -> dict:
    """OpenAPI constraints that the front door (``lifecycle.open_tournament``) checks, stated for clients
    and fuzzers; the front door stays the check, with a 400 naming the problem."""
    return {"json_schema_extra": schema}


NAME = {"type": "string", "pattern": limits.NAME_PATTERN, "maxLength": limits.column_chars(Competitor, "name")}
OPTIONAL_NAME = {**NAME, "pattern": limits.OPTIONAL_NAME_PATTERN}


class PromptsIn(Schema):
    dataset: str = Field("", **_documented(**OPTIONAL_NAME))
    category: str = Field("", **_documented(
        **{**OPTIONAL_NAME, "maxLength": limits.column_chars(Tournament, "category")}))
    ids: list[str] = Field([], **_documented(items={"type": "string", "pattern": limits.TEXT_PATTERN, "minLength": 1,
                                                    "maxLength": limits.column_chars(Prompt, "external_id")}))


class BudgetIn(Schema):
    """Caps; any other key (a misspelt "call") is a 422 naming it, never silently dropped."""

    calls: int | None = Field(None, gt=0)
    tokens: int | None = Field(None, gt=0)
    usd: float | None = Field(None, gt=0)

    model_config = {"extra": "forbid"}

    @model_validator(mode="before")
    @classmethod
    def known_caps_in_range(cls, value):
        # The domain's one definition of a budget (caps and ranges): a 422 here, as for any schema error.
        return lifecycle.parse_budget(value) if isinstance(value, dict) else value


class StopIn(Schema):
    rule: str = Field(description="'top_k' (the k best separated from the rest), 'neighbours' (every adjacent "
                                  "pair separated) or 'separability' (share of separated pairs >= value)",
                      **_documented(enum=list(STOP_RULES)))
    value: float | None = Field(None, description="k for top_k, the share for separability")


class TournamentIn(Schema):
    name: str = Field(**_documented(**NAME))
    schedule: str = Field(description="anchor, single_elimination, round_robin, adaptive or groupwise "
                                      "(groups of the listwise judge's group_size per prompt)",
                          **_documented(enum=list(lifecycle.SCHEDULE_NAMES)))
    models: list[str] = Field(description="at least two models, each with outputs on the prompts",
                              **_documented(items=NAME, minItems=2))
    prompts: PromptsIn = PromptsIn()
    judge: str | int = Field(description="judge configuration name (its latest version) or id",
                             **_documented(anyOf=[NAME, {"type": "integer", "minimum": 1,
                                                         "maximum": limits.BIGINT_MAX}]))
    anchor: str = Field("", description="anchor schedule only; default: the suggested (median) model",
                        **_documented(**OPTIONAL_NAME))
    brackets_per_prompt: int = Field(1, ge=1, le=lifecycle.MAX_BRACKETS_PER_PROMPT,
                                     description="single_elimination: independent brackets per prompt")
    seeding: str = Field("random", description="single_elimination: 'random' or 'rating' (strong vs weak first)",
                         **_documented(enum=["random", "rating"]))
    budget: BudgetIn = BudgetIn()
    seed: int | None = Field(None, ge=0, le=limits.BIGINT_MAX)
    start: bool = Field(True, description="false: only estimate, and keep the tournament as a draft")
    stop: StopIn | None = Field(None, description="adaptive only: stop when the target is met (or the budget ends)")

    model_config = {"json_schema_extra": {"examples": [{
        "name": "mt-bench writing cup", "schedule": "single_elimination",
        "models": ["gpt-4", "claude-v1", "vicuna-13b-v1.3", "llama-13b"],
        "prompts": {"dataset": "mt_bench", "category": "writing"}, "judge": "default",
        "brackets_per_prompt": 2, "seeding": "rating", "budget": {"calls": 500}, "start": True,
    }]}}


class EstimateOut(Schema):
    matches: int
    judge_calls: int
    tokens: int
    usd: float
    seconds: float | None
    cache_hits: int
    seconds_basis: str
    detectable_win_rate: float | None = Field(
        None, description="smallest win rate (over the anchor, or between neighbours) detected at 80% power by a "
                          "one-sided sign test at 5%; null: too few matches per pair")
    tie_rate: float | None = None
    power_basis: str = ""


class CreatedOut(Schema):
    id: int
    status: str
    anchor: str | None
    estimate: EstimateOut


class ProgressOut(Schema):
    done: int
    running: int
    failed: int
    pending: int
    cancelled: int
    total: int
    eta_seconds: float | None


class SpentOut(Schema):
    judge_calls: int
    tokens: int
    usd: float


class TournamentOut(Schema):
    id: int
    name: str
    status: str
    schedule: str
    judge: str
    progress: ProgressOut
    spent: SpentOut
    budget: dict
    estimate: dict | None
    created_at: datetime
    finished_at: datetime | None


class ErrorOut(Schema):
    detail: str


ERRORS = {400: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def _refuse(exc: TournamentError):
    """A refusal of the front door: 409 when it clashes with the tournament's state or a taken name."""
    raise HttpError(409 if isinstance(exc, lifecycle.Conflict) else 400, str(exc)) from None


@router.post("/tournaments", auth=scoped("run"), response={201: CreatedOut, **ERRORS}, summary="Create a tournament",
             description="Validates every name, estimates the cost, and starts it (or keeps a draft with "
             '"start": false). A request that would make no match, or names an unknown model, judge, anchor or '
             "prompt, is a 400 that creates nothing; a taken name is a 409.")
def create_tournament(request: HttpRequest, body: TournamentIn):
    try:
        tournament, estimate = lifecycle.open_tournament(
            **body.dict(exclude={"prompts", "budget"}), prompts=lifecycle.PromptSelection(**body.prompts.dict()),
            budget=body.budget.dict(exclude_none=True), created_by=request.auth)
    except TournamentError as exc:
        _refuse(exc)
    tasks.enqueue_pending(tournament=tournament)
    return Status(201, {"id": tournament.pk, "status": tournament.status, "estimate": estimate.as_dict(),
                        "anchor": tournament.anchor.name if tournament.anchor else None})


@router.get("/tournaments", response=list[TournamentOut], summary="List tournaments, newest first")
@paginate(Pages, rows=progress.tournament_summaries)
def list_tournaments(request: HttpRequest):
    return Tournament.objects.select_related("judge_config").order_by("-created_at", "-pk")


@router.get("/tournaments/{tournament_id}", response={200: TournamentOut, 404: ErrorOut}, summary="One tournament")
def get_tournament(request: HttpRequest, tournament_id: int):
    return progress.tournament_summary(get_object_or_404(Tournament.objects.select_related("judge_config"),
                                                       pk=tournament_id))


# Declared before the generic action route, which would otherwise take "models" as an action.
class ModelsIn(Schema):
    models: list[str] = Field(description="models to add; only the matches they need are scheduled")


@router.post("/tournaments/{tournament_id}/models", auth=scoped("run"), response={200: TournamentOut, **ERRORS},
             summary="Add models to a tournament (finished ones too)")
def add_models(request: HttpRequest, tournament_id: int, body: ModelsIn):
    tournament = get_object_or_404(Tournament, pk=tournament_id)
    try:
        lifecycle.add_models(tournament=tournament, models=body.models)
    except TournamentError as exc:
        _refuse(exc)
    tasks.enqueue_pending(tournament=tournament)
    tournament.refresh_from_db()
    return progress.tournament_summary(tournament)


class ResumeIn(Schema):
    budget: BudgetIn | None = None


ACTIONS = {"start": lifecycle.start, "pause": lifecycle.pause, "resume": lifecycle.resume,
           "cancel": lifecycle.cancel, "retry-failed": lifecycle.retry_failed}


@router.post("/tournaments/{tournament_id}/{action}", auth=scoped("run"), response={200: TournamentOut, **ERRORS},
             summary="Start, pause, resume, cancel or retry failed matches",
             description="action: start | pause | resume | cancel | retry-failed. resume takes an optional "
             '{"budget": {...}} to raise a spent cap. An action the tournament\'s state does not allow is a 409 '
             "naming the state (see the README's state table); nothing changes.")
def act(request: HttpRequest, tournament_id: int, action: str, body: ResumeIn | None = None):
    tournament = get_object_or_404(Tournament, pk=tournament_id)
    if action not in ACTIONS:
        raise HttpError(404, f"unknown action {limits.quoted(action)}; use {', '.join(ACTIONS)}")
    budget = {"budget": body.budget.dict(exclude_none=True)} if action == "resume" and body and body.budget else {}
    try:
        ACTIONS[action](tournament=tournament, **budget)
    except TournamentError as exc:
        _refuse(exc)
    tasks.enqueue_pending(tournament=tournament)
    tournament.refresh_from_db()
    return progress.tournament_summary(tournament)


class MatchFilter(Schema):
    tournament: int | None = None
    status: str | None = None
    model: str | None = None


class MatchOut(Schema):
    id: int
    tournament: int
    prompt: str
    round: int
    bracket: int
    model_a: str
    model_b: str
    output_a: int
    output_b: int
    status: str
    error: str
    winner: str | None
    prob_a: float | None
    forward: dict | None
    backward: dict | None


@router.get("/matches", response=list[MatchOut], summary="Matches with both orders' verdicts and rationale")
@paginate(Pages, rows=progress.match_dicts)
def list_matches(request: HttpRequest, filters: Query[MatchFilter]):
    if filters.model:
        try:
            limits.check_text(filters.model, name="model", max_chars=limits.column_chars(Competitor, "name"))
        except ValueError as exc:
            raise HttpError(400, str(exc)) from None
    if filters.tournament is not None and not 0 < filters.tournament <= limits.INT_MAX:
        raise HttpError(400, f"tournament must be an id from 1 to {limits.INT_MAX}")
    if filters.status and filters.status not in Match.Status.values:
        raise HttpError(400, f"unknown status {filters.status!r}; one of {', '.join(Match.Status.values)}")
    return progress.matches(tournament=filters.tournament, status=filters.status, model=filters.model)


class JudgeIn(Schema):
    name: str
    backend: str = Field(description="openai, transformers or fake")
    model: str
    protocol: str = "generate"
    prompt_style: str = "chat"
    params: dict = {}
    options: dict = {}
    rubric: str = "general"
    both_orders: bool = True
    queue: str = Field("judge", description="the Celery queue its matches go to (one worker per judge model: "
                                            "-Q judge.<name>)")

    @field_validator("options")
    @classmethod
    def numeric_options_in_range(cls, value: dict) -> dict:
        # A 422 naming the option, as for any schema error (the command gets the same check).
        return check_options(value)

    model_config = {"json_schema_extra": {"examples": [{
        "name": "vllm-qwen", "backend": "openai", "model": "Qwen/Qwen2.5-72B-Instruct",
        "params": {"base_url": "http://gpu:8000/v1", "price_per_million_input": 0.5,
                   "price_per_million_output": 1.5}, "protocol": "generate",
    }]}}


class JudgeOut(Schema):
    id: int
    name: str
    version: int
    backend: str
    model: str
    protocol: str
    prompt_style: str
    params: dict
    options: dict
    rubric: str
    both_orders: bool
    queue: str


@router.get("/judges", response=list[JudgeOut], summary="Judge configurations",
            description="Where a judge sends requests and which key variable it reads (base_url, api_key_env, "
            "extra_body) are shown only to an admin-scope token or a signed-in person with that permission.")
def list_judges(request: HttpRequest):
    private = auth.may(request, "admin")
    return [judge_view(c, private=private) for c in JudgeConfig.objects.select_related("rubric")]


@router.post("/judges", auth=scoped("admin"), response={201: JudgeOut, 400: ErrorOut, 422: ErrorOut},
             summary="Add a judge configuration (an existing name gets a new version)",
             description="Backend params are checked against the backend's settings (names, types, at most "
             "16 KiB); api_key_env may only name a variable in ARENA_JUDGE_KEY_ENVS and base_url only a host in "
             "ARENA_JUDGE_ALLOWED_HOSTS (when set). Anything else is a 422 naming the problem.")
def add_judge(request: HttpRequest, body: JudgeIn):
    try:
        config = create_judge_config(**body.dict())
    except JudgeConfigError as exc:
        raise HttpError(422, str(exc)) from None
    except IntegrityError as exc:
        raise HttpError(400, str(exc)) from None
    return Status(201, judge_view(config, private=True))
