import json

import pytest

from arena.models import ApiToken, Competitor, Dataset, ImportedBattle, Output, Prompt
from arena.scopes import SCOPES


@pytest.fixture
def local_cache(settings):
    """A local-memory cache, for query counts: the cache is Redis in production (no SQL), while the tests'
    default database cache would add a query per cache read."""
    from django.core.cache import cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()


@pytest.fixture
def make_token(db, django_user_model):
    """``make_token("read,upload")``: a new token with those scopes, for a user of its own."""
    made = []

    def make(scopes: str, *, username: str | None = None) -> str:
        user = django_user_model.objects.create(username=username or f"token-user-{len(made)}")
        made.append(user)
        return ApiToken.issue(user=user, scopes=scopes.split(","))[1]

    return make


@pytest.fixture
def token(db, django_user_model) -> str:
    """A token with every scope, so that tests of what an endpoint does are not about scopes
    (tests/api/test_scopes.py is)."""
    user = django_user_model.objects.create(username="uploader")
    return ApiToken.issue(user=user, scopes=list(SCOPES))[1]


class ApiClient:
    """Django's test client with a bearer token and JSON/JSONL helpers."""

    def __init__(self, client, token: str):
        self.client = client
        self.token = token

    def post_rows(self, path: str, rows, *, jsonl: bool = False, query: str = "", token: str | None = None):
        body = "\n".join(json.dumps(r) for r in rows) if jsonl else json.dumps(rows)
        return self.post_raw(path, body, jsonl=jsonl, query=query, token=token)

    def post_raw(self, path: str, body, *, jsonl: bool = False, query: str = "", token: str | None = None,
                 **extra):
        headers = {} if token == "" else {"HTTP_AUTHORIZATION": f"Bearer {token or self.token}"}
        content_type = "application/x-ndjson" if jsonl else "application/json"
        url = f"/api/v1/{path}" + (f"?{query}" if query else "")
        return self.client.post(url, data=body, content_type=content_type, **headers, **extra)

    def get(self, path: str, **params):
        return self.client.get(f"/api/v1/{path}", params)


@pytest.fixture
def api(client, token) -> ApiClient:
    return ApiClient(client, token)


def database_state() -> dict:
    """Everything an upload can touch, to show that a rejected one changed nothing."""
    return {
        "prompts": list(Prompt.objects.order_by("id").values_list("external_id", "turns", "category", "reference")),
        "outputs": list(Output.objects.order_by("id").values_list("competitor__name", "prompt__external_id",
                                                                   "turns")),
        "battles": list(ImportedBattle.objects.order_by("id").values_list("external_id", "score_a", "weight")),
        "competitors": list(Competitor.objects.values_list("name", flat=True)),
        "datasets": list(Dataset.objects.values_list("name", flat=True)),
    }


@pytest.fixture
def seeded(api) -> None:
    """Two prompts and two models' outputs, uploaded through the API."""
    prompts = [{"id": "p1", "prompt": "Say hi", "category": "chat"},
               {"id": "p2", "turns": ["Add 2+2", "Now times 3"], "category": "math", "reference": ["4", "12"]}]
    outputs = [{"prompt_id": "p1", "model": "m1", "output": "hi"},
               {"prompt_id": "p1", "model": "m2", "output": "hello there"}]
    assert api.post_rows("prompts", prompts).status_code == 201
    assert api.post_rows("outputs", outputs).status_code == 201
