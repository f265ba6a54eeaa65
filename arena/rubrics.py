"""Adding rubrics (criteria and verifiable checks), one way for every entry point (API, admin)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, models, transaction

from judges.base import ConfigurationError
from judges.prompts import rubric_from_dict

from . import limits
from .models import Rubric


class RubricError(ValueError):
    pass


def create_rubric(*, name: str, criteria: list[Any], checks: list[Any] | None = None, instructions: str = "",
                  description: str = "") -> Rubric:
    """A new rubric (an existing name gets the next version: a used rubric is history), refused
    before it is saved when a criterion or a check is invalid."""
    try:
        limits.check_text(name, name="name", max_chars=limits.column_chars(Rubric, "name"))
        limits.check_text(instructions, name="instructions")
        limits.check_text(description, name="description")
    except ValueError as exc:
        raise RubricError(str(exc)) from None
    for path, problem in limits.json_problems({"criteria": criteria, "checks": checks or []}, "rubric"):
        raise RubricError(f"{path} {problem}")
    if not name.strip():
        raise RubricError("a rubric needs a name")
    spec = {"name": name.strip(), "instructions": instructions, "criteria": criteria, "checks": checks or []}
    try:
        rubric_from_dict(spec)
    except ConfigurationError as exc:
        raise RubricError(str(exc)) from None
    try:
        with transaction.atomic():
            latest = Rubric.objects.filter(name=spec["name"]).aggregate(v=models.Max("version"))["v"]
            return Rubric.objects.create(name=spec["name"], version=(latest or 0) + 1, criteria=criteria,
                                         checks=checks or [], instructions=instructions, description=description)
    except IntegrityError:
        raise RubricError(f"rubric {spec['name']!r} was added by someone else at the same time; try again") from None
