"""Reads: competitors and prompts."""

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from ..models import Competitor, Prompt

router = Router(tags=["reads"])


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


class PromptFilter(Schema):
    dataset: str | None = None
    category: str | None = None


@router.get("/prompts", response=list[PromptOut], summary="List prompts")
@paginate(LimitOffsetPagination)
def list_prompts(request: HttpRequest, filters: Query[PromptFilter]):
    return Prompt.objects.for_listing(dataset=filters.dataset, category=filters.category)
