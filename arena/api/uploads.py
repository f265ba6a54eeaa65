"""Prompts, model outputs, judged battles and competitors: bulk uploads (JSON array or streamed JSON
Lines) and listings. One router, because an upload and its listing share a path (GET and POST
/prompts), and django-ninja routes one path to one router."""

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from .. import ingest
from ..models import Competitor, Prompt
from ..uploads import UploadError
from .auth import BearerToken

router = Router(tags=["data"])

JSONL_TYPES = {"application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines"}


class ImportResultOut(Schema):
    created: int
    unchanged: int
    replaced: int = 0


class UploadErrorOut(Schema):
    detail: str
    errors: list[dict]


UPLOAD_RESPONSES = {201: ImportResultOut, 400: UploadErrorOut, 409: UploadErrorOut, 413: UploadErrorOut,
                    422: UploadErrorOut}


def _upload(request: HttpRequest, importer, replace: bool):
    declared = request.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > settings.ARENA_MAX_UPLOAD_BYTES:
        raise UploadError(413, f"request body is {declared} bytes; the limit is "
                               f"{settings.ARENA_MAX_UPLOAD_BYTES} (ARENA_MAX_UPLOAD_BYTES)")
    content_type = request.content_type.lower()
    result = importer(stream=request, jsonl=content_type in JSONL_TYPES, replace=replace)
    return Status(201, result.as_dict())


UPLOAD_DOC = (" Body: a JSON array, or JSON Lines with Content-Type application/x-ndjson."
              " Idempotent by natural key; a changed row is a 409 unless ?replace=true. One transaction:"
              " any bad row rejects the whole upload with every error listed.")


@router.post("/prompts", auth=BearerToken(), response=UPLOAD_RESPONSES, summary="Upload prompts",
          description='Rows: {"id", "prompt" | "turns": [...], "category"?, "reference"?, "dataset"?}.'
          + UPLOAD_DOC)
def upload_prompts(request: HttpRequest, replace: bool = False):
    return _upload(request, ingest.import_prompts, replace)


@router.post("/outputs", auth=BearerToken(), response=UPLOAD_RESPONSES, summary="Upload model outputs",
          description='Rows: {"prompt_id", "model", "output" | "turns": [...], "metadata"?}. Unknown models '
          "are created." + UPLOAD_DOC)
def upload_outputs(request: HttpRequest, replace: bool = False):
    return _upload(request, ingest.import_outputs, replace)


@router.post("/battles", auth=BearerToken(), response=UPLOAD_RESPONSES, summary="Upload judged battles",
          description='Rows: {"model_a", "model_b", "winner": "model_a"|"model_b"|"tie"|"tie (bothbad)" or '
          '"score_a": P(model_a better), "prompt_id"?, "source"?, "weight"?, "id"?}.' + UPLOAD_DOC)
def upload_battles(request: HttpRequest, replace: bool = False):
    return _upload(request, ingest.import_battles, replace)


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
