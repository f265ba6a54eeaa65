"""Prompts, model outputs, judged battles and competitors: bulk uploads (JSON array or streamed JSON
Lines) and listings. One router, because an upload and its listing share a path (GET and POST
/prompts), and django-ninja routes one path to one router."""

from typing import Annotated, Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import AfterValidator

from .. import ingest
from ..limits import check_text, column_chars
from ..models import Competitor, Dataset, Prompt
from ..uploads import BattleRow, OutputRow, PromptRow, UploadError
from .auth import scoped
from .pages import Pages

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
    # isascii(): isdigit() alone is true for "²", which int() refuses.
    if declared and declared.isascii() and declared.isdigit() and int(declared) > settings.ARENA_MAX_UPLOAD_BYTES:
        raise UploadError(413, f"request body is {declared} bytes; the limit is "
                               f"{settings.ARENA_MAX_UPLOAD_BYTES} (ARENA_MAX_UPLOAD_BYTES)")
    content_type = request.content_type.lower()
    result = importer(stream=_body(request), jsonl=content_type in JSONL_TYPES, replace=replace)
    return Status(201, result.as_dict())


def _body(request: HttpRequest):
    """The body stream. Django reads only Content-Length bytes, so a chunked body (no length) would
    read as empty; gunicorn passes it through whole and says so with ``wsgi.input_terminated``."""
    if not request.META.get("CONTENT_LENGTH") and request.META.get("wsgi.input_terminated"):
        return request.META["wsgi.input"]
    return request


def upload_body(row: type, one_of: tuple[str, str]) -> dict:
    """The OpenAPI request body of an upload: a JSON array of rows, or the same rows as JSON Lines.

    Only documentation (the endpoint streams the body itself), so that clients and fuzzers can
    build valid uploads. ``one_of`` names the two fields of which a row gives exactly one.
    """
    schema = row.model_json_schema()
    first, second = one_of
    # A null counts as not given (the row's check: exactly one of the two is not null).
    schema["oneOf"] = [_given(schema, first, second), _given(schema, second, first)]
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "array", "minItems": 1, "items": schema}},
        "application/x-ndjson": {"schema": schema, "description": "one row per line (streamed)"},
    }}}


def _given(schema: dict, field: str, other: str) -> dict:
    """``field`` given (not null) and ``other`` absent or null."""
    shown = [part for part in schema["properties"][field].get("anyOf", []) if part.get("type") != "null"]
    return {"required": [field], "properties": {field: shown[0] if len(shown) == 1 else {"not": {"type": "null"}},
                                                other: {"type": "null"}}}


UPLOAD_DOC = (" Body: a JSON array, or JSON Lines with Content-Type application/x-ndjson."
              " Idempotent by natural key; a changed row is a 409 unless ?replace=true. One transaction:"
              " any bad row rejects the whole upload with every error listed.")


@router.post("/prompts", auth=scoped("upload"), response=UPLOAD_RESPONSES, summary="Upload prompts",
          openapi_extra=upload_body(PromptRow, ("prompt", "turns")),
          description='Rows: {"id", "prompt" | "turns": [...], "category"?, "reference"?, "dataset"?}.'
          + UPLOAD_DOC)
def upload_prompts(request: HttpRequest, replace: bool = False):
    return _upload(request, ingest.import_prompts, replace)


@router.post("/outputs", auth=scoped("upload"), response=UPLOAD_RESPONSES, summary="Upload model outputs",
          openapi_extra=upload_body(OutputRow, ("output", "turns")),
          description='Rows: {"prompt_id", "model", "output" | "turns": [...], "metadata"?}. Unknown models '
          "are created." + UPLOAD_DOC)
def upload_outputs(request: HttpRequest, replace: bool = False):
    return _upload(request, ingest.import_outputs, replace)


@router.post("/battles", auth=scoped("upload"), response=UPLOAD_RESPONSES, summary="Upload judged battles",
          openapi_extra=upload_body(BattleRow, ("winner", "score_a")),
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


def _storable(model, field_name: str) -> Any:
    """A filter value that could match a stored one: no NUL, no lone surrogate, within the column."""
    limit = column_chars(model, field_name)
    return AfterValidator(lambda value: check_text(value, name="value", max_chars=limit))


class PromptFilter(Schema):
    dataset: Annotated[str, _storable(Dataset, "name")] | None = None
    category: Annotated[str, _storable(Prompt, "category")] | None = None


@router.get("/prompts", response=list[PromptOut], summary="List prompts")
@paginate(Pages)
def list_prompts(request: HttpRequest, filters: Query[PromptFilter]):
    return Prompt.objects.for_listing(dataset=filters.dataset, category=filters.category)
