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
from hypothesis import HealthCheck
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
