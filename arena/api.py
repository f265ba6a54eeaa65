"""REST API v1: bulk uploads with bearer tokens, and reads. Thin: parse, call the domain, return."""

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, NinjaAPI, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.security import HttpBearer

from . import ingest, leaderboards, ratings
from .models import ApiToken, Competitor, Prompt
from .uploads import UploadError

api = NinjaAPI(
    title="The Arena API",
    version="1",
    urls_namespace="api-v1",
    description="Upload prompts, model outputs and judged battles; read competitors, prompts and results.",
)

JSONL_TYPES = {"application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines"}


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``; a missing or unknown token is a 401 that says which."""

    def __call__(self, request: HttpRequest):
        header = request.headers.get("Authorization", "")
        if not header:
            raise AuthenticationError(401, "missing Authorization header: send 'Authorization: Bearer <token>'")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError(401, "Authorization header must be 'Bearer <token>'")
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str):
        row = ApiToken.objects.select_related("user").filter(key_hash=ApiToken.hash(token)).first()
        if row is None or not row.user.is_active:
            raise AuthenticationError(401, "invalid API token")
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
        return row.user


@api.exception_handler(UploadError)
def upload_error(request: HttpRequest, exc: UploadError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


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


@api.post("/prompts", auth=BearerToken(), response=UPLOAD_RESPONSES, summary="Upload prompts",
          description='Rows: {"id", "prompt" | "turns": [...], "category"?, "reference"?, "dataset"?}.'
          + UPLOAD_DOC)
def upload_prompts(request: HttpRequest, replace: bool = False):
    return _upload(request, ingest.import_prompts, replace)


@api.post("/outputs", auth=BearerToken(), response=UPLOAD_RESPONSES, summary="Upload model outputs",
          description='Rows: {"prompt_id", "model", "output" | "turns": [...], "metadata"?}. Unknown models '
          "are created." + UPLOAD_DOC)
def upload_outputs(request: HttpRequest, replace: bool = False):
    return _upload(request, ingest.import_outputs, replace)


@api.post("/battles", auth=BearerToken(), response=UPLOAD_RESPONSES, summary="Upload judged battles",
          description='Rows: {"model_a", "model_b", "winner": "model_a"|"model_b"|"tie"|"tie (bothbad)" or '
          '"score_a": P(model_a better), "prompt_id"?, "source"?, "weight"?, "id"?}.' + UPLOAD_DOC)
def upload_battles(request: HttpRequest, replace: bool = False):
    return _upload(request, ingest.import_battles, replace)


class CompetitorOut(Schema):
    name: str
    description: str
    outputs: int


@api.get("/competitors", response=list[CompetitorOut], summary="List competitors")
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


@api.get("/prompts", response=list[PromptOut], summary="List prompts")
@paginate(LimitOffsetPagination)
def list_prompts(request: HttpRequest, filters: Query[PromptFilter]):
    return Prompt.objects.for_listing(dataset=filters.dataset, category=filters.category)


class LeaderboardParams(Schema):
    source: str = Field("all", description="'all', 'judge', 'human', or an imported source label")
    category: str = ""
    tournament: str = Field("", description="tournament name or id (judge results only)")
    method: str = Field("bt", description="'bt' (Bradley-Terry) or 'elo'")
    anchor: str = Field("", description="model pinned at 1000 and used for the win-rate columns")
    style_control: bool = False


@api.get("/leaderboard", summary="Leaderboard with confidence intervals")
def leaderboard(request: HttpRequest, params: Query[LeaderboardParams]):
    try:
        return leaderboards.get_leaderboard(leaderboards.LeaderboardQuery(**params.dict()))
    except leaderboards.LeaderboardError as exc:
        raise HttpError(400, str(exc)) from None
    except ratings.RatingError as exc:
        raise HttpError(422, f"cannot rate these battles: {exc}") from None
