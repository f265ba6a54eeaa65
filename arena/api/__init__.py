"""REST API v1: bulk uploads with bearer tokens, and reads. Thin: parse, call the domain, return.

One router per subject, each in its own module; this module only assembles them.
"""

from django.http import HttpRequest
from ninja import NinjaAPI

from ..uploads import UploadError
from . import agreement, bias, leaderboard, quality, rubrics, tournaments, uploads

api = NinjaAPI(
    title="The Arena API",
    version="1",
    urls_namespace="api-v1",
    description="Upload prompts, model outputs and judged battles; read competitors, prompts and results.",
)


@api.exception_handler(UploadError)
def upload_error(request: HttpRequest, exc: UploadError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


api.add_router("", uploads.router)
api.add_router("", leaderboard.router)
api.add_router("", tournaments.router)
api.add_router("", agreement.router)
api.add_router("", quality.router)
api.add_router("", bias.router)
api.add_router("", rubrics.router)
