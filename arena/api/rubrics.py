"""Rubrics: criteria for the judge and verifiable checks decided in code (judges.checks)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from ..models import Rubric
from ..rubrics import RubricError, create_rubric
from .auth import scoped

router = Router(tags=["rubrics"])


class RubricIn(Schema):
    name: str
    criteria: list[Any] = Field(description='[{"name", "description"?, "weight"?}]')
    checks: list[Any] = Field(default=[], description=(
        'Verifiable checks: [{"kind": "max_words"|"min_words"|"max_chars"|"min_chars"|"regex"|"json"|'
        '"reference_number", "mode": "fatal"|"criterion", "name"?, "limit"?, "pattern"?, "forbid"?, '
        '"schema"?, "tolerance"?, "on_both_fail": "tie"|"both_bad"|"judge", "categories"?, "turn"?, '
        '"weight"?}] (see judges/checks.py)'))
    instructions: str = ""
    description: str = ""

    model_config = {"json_schema_extra": {"examples": [{
        "name": "concise", "criteria": [{"name": "correctness", "weight": 2}, {"name": "clarity"}],
        "checks": [{"name": "under 50 words", "kind": "max_words", "limit": 50, "mode": "fatal"}],
    }]}}


class ErrorOut(Schema):
    detail: str


class RubricOut(Schema):
    id: int
    name: str
    version: int
    criteria: list[Any]
    checks: list[Any]
    instructions: str
    description: str


def _out(rubric: Rubric) -> dict:
    return {f: getattr(rubric, f) for f in ("id", "name", "version", "criteria", "checks", "instructions",
                                            "description")}


@router.get("/rubrics", response=list[RubricOut], summary="Rubrics, every version")
def list_rubrics(request: HttpRequest):
    return [_out(r) for r in Rubric.objects.all()]


@router.post("/rubrics", auth=scoped("admin"), response={201: RubricOut, 400: ErrorOut},
             summary="Add a rubric (an existing name gets a new version)")
def add_rubric(request: HttpRequest, body: RubricIn):
    try:
        rubric = create_rubric(**body.dict())
    except RubricError as exc:
        raise HttpError(400, str(exc)) from None
    return Status(201, _out(rubric))
