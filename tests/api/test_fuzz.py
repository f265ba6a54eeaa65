"""The public API fuzzed from its own OpenAPI schema (schemathesis): no request may be a server error.

Every operation gets generated parameters and bodies (uploads as a JSON array or as JSON Lines, from
the row schemas the API publishes), sent with a valid token through the WSGI application onto the
test database; CI runs it on PostgreSQL. Bounded and derandomized: the same few hundred requests
each run, in well under a minute. The request count is written to
``$ARENA_ARTIFACTS/fuzz-requests.json`` (default ``var/artifacts/``).
"""

import json
import os
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from arena.wsgi import application

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_PER_OPERATION = 60


@schemathesis.serializer("application/x-ndjson")
def json_lines(ctx, value) -> bytes:
    # The JSON Lines body documents one row; a one-line upload is that row on its own line.
    return json.dumps(value).encode() + b"\n"


@pytest.fixture
def wsgi_keeps_the_test_connection(db):
    """As Django's test client does: a request must not close the connection that holds the test's
    transaction (the WSGI handler closes it when a request finishes)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def requests_made():
    counts: Counter[str] = Counter()
    yield counts
    artifacts = Path(os.environ.get("ARENA_ARTIFACTS", ROOT / "var" / "artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    report = {"requests": sum(counts.values()), "by_status": dict(sorted(counts.items()))}
    (artifacts / "fuzz-requests.json").write_text(json.dumps(report, indent=2))


# Loaded from the application itself when the module is collected (no database needed for it).
# (schemathesis.pytest.from_fixture would be lazier, but does not run under pytest 9.)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@schema.parametrize()
@hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                     suppress_health_check=list(HealthCheck))
def test_no_generated_request_is_a_server_error(case, wsgi_keeps_the_test_connection, token, settings,
                                                requests_made):
    # Leaderboards are fitted on every read here; a few bootstrap rounds exercise the same code.
    settings.ARENA_BOOTSTRAP_ROUNDS = 10
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    requests_made[str(response.status_code)] += 1
    assert response.status_code < 500, f"{case.method} {case.formatted_path} {case.query} {case.body!r}"


# --- the schemas state what validation accepts ---------------------------------------------------------
# Schemathesis warns of a "schema validation mismatch" when an operation refuses nearly everything its
# schema allows: the schema hides constraints (names are one line of visible text, no NUL in text,
# exactly one of two fields). Positive cases drawn from the schema must mostly be accepted.

# Some refusals stay, about the data rather than the schema: a battle of a model with itself, an
# unknown prompt id, a changed row (409), a NUL in a nested metadata key. Before the schemas said what
# a name and a text may hold, 1 battle upload in 136 was accepted.
UPLOADS_ACCEPTED_AT_LEAST = 0.1


def drawn_responses(operation, token: str, examples: int = 40) -> list:
    """The responses to ``examples`` positive cases drawn from the operation's schema."""
    responses = []

    @hypothesis_settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def send(case):
        responses.append(case.call(headers={"Authorization": f"Bearer {token}"}))

    send()
    return responses


@pytest.mark.parametrize("path", ["/api/v1/prompts", "/api/v1/battles"])
def test_most_uploads_drawn_from_the_schema_are_accepted(path, wsgi_keeps_the_test_connection, token):
    statuses = Counter(r.status_code for r in drawn_responses(schema[path]["POST"], token))
    assert statuses[201] >= UPLOADS_ACCEPTED_AT_LEAST * sum(statuses.values()), statuses


def test_tournaments_drawn_from_the_schema_are_refused_for_their_names_not_their_shape(
        wsgi_keeps_the_test_connection, token):
    # Random names name no model or judge: a 400 saying so is about the data. The schedule, seeding and
    # stop rule are enums in the schema, and names follow the name pattern, so none is refused for those.
    refusals = [r.json()["detail"] for r in drawn_responses(schema["/api/v1/tournaments"]["POST"], token)
                if r.status_code == 400]
    assert refusals
    shape = [d for d in refusals if any(word in d for word in ("schedule", "seeding", "stop rule", "character"))]
    assert not shape, shape


def test_the_tournament_example_of_the_schema_is_accepted_when_its_names_exist(client, token, api):
    example = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["TournamentIn"]["examples"][0]
    prompts = [{"id": f"w{i}", "prompt": f"Write {i}", "category": example["prompts"]["category"],
                "dataset": example["prompts"]["dataset"]} for i in range(2)]
    assert api.post_rows("prompts", prompts).status_code == 201
    outputs = [{"prompt_id": p["id"], "model": m, "output": f"{m} says {p['id']}"}
               for p in prompts for m in example["models"]]
    assert api.post_rows("outputs", outputs).status_code == 201
    response = client.post("/api/v1/tournaments", example, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 201, response.content
