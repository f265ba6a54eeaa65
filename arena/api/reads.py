"""Reads: competitors and prompts."""

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate
from pydantic import AfterValidator

from ..limits import INT_MAX, check_text, column_chars
from ..models import Competitor, Dataset, Prompt
from .uploads import router as prompts_router

router = Router(tags=["reads"])

MAX_PAGE = 1000


class CompetitorOut(Schema):
    name: str
    description: str
    outputs: int


@router.get("/competitors", response=list[CompetitorOut], summary="List competitors")
def list_competitors(request: HttpRequest):
    return Competitor.objects.with_output_counts()


class PromptOut(Schema):
    id: str = Field(alias="id_")
    dataset: str = Field(alias="dataset_name")
    category: str
    turns: list[str]
    reference: list[str] | None


def _storable(model, field_name: str) -> Any:
    """A filter value that could match a stored one: no NUL, no lone surrogate, within the column."""
    limit = column_chars(model, field_name)
    return AfterValidator(lambda value: check_text(value, name="value", max_chars=limit))


class PromptFilter(Schema):
    dataset: Annotated[str, _storable(Dataset, "name")] | None = None
    category: Annotated[str, _storable(Prompt, "category")] | None = None


class Pages(LimitOffsetPagination):
    """Limit/offset pages with a bounded page size, so that no request reads a whole table."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=MAX_PAGE, description=f"rows per page, at most {MAX_PAGE}")
        offset: int = Field(0, ge=0, le=INT_MAX, description="rows to skip")


# Django serves a path from its first URL pattern, so GET /prompts must be on the router that has
# POST /prompts (two routers with one path answer 405 to the second method).
@prompts_router.get("/prompts", response=list[PromptOut], summary="List prompts", tags=["reads"])
@paginate(Pages)
def list_prompts(request: HttpRequest, filters: Query[PromptFilter]):
    return Prompt.objects.for_listing(dataset=filters.dataset, category=filters.category)
