"""Issue 13, item 8: a token does only what its scopes allow, and people on the pages only what their
permissions allow (staff, or the scope's permission through a group). CI runs these on PostgreSQL too."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.urls import reverse

from arena import lifecycle
from arena.api import api as ninja_api
from arena.api.auth import ScopedToken
from arena.models import ApiToken, JudgeConfig, Tournament
from arena.scopes import SCOPES
from tests import factories

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"


def write_operations() -> list[tuple[str, str, str]]:
    """(method, path, scope) of every API operation that is not a read, from the API itself."""
    found = []
    for _prefix, router in ninja_api._routers:
        for path, view in router.path_operations.items():
            for operation in view.operations:
                if operation.methods == ["GET"]:
                    continue
                scopes = [a.scope for a in operation.auth_callbacks if isinstance(a, ScopedToken)]
                found.append((operation.methods[0], path, scopes[0] if len(scopes) == 1 else None))
    return found


def test_every_write_endpoint_declares_one_scope_and_the_readme_table_lists_it():
    operations = write_operations()
    assert len(operations) >= 7
    readme = README.read_text()
    for method, path, scope in operations:
        assert scope in SCOPES, f"{method} {path} declares no scope"
        shown = f"`{method} {path.replace('{tournament_id}', '{id}')}`"
        rows = [line for line in readme.splitlines() if shown in line and line.startswith("|")]
        assert any(f"`{scope}`" in row for row in rows), f"README lists no scope {scope} for {shown}"


def call(client, method_path: str, token: str, tournament: Tournament | None = None):
    body = {
        "/prompts": [{"id": "q1", "prompt": "hi"}],
        "/outputs": [{"prompt_id": "set-0", "model": "small", "output": "hello"}],
        "/battles": [{"model_a": "small", "model_b": "large", "winner": "tie"}],
        "/tournaments": {"name": "cup", "schedule": "round_robin", "models": ["small", "large"], "judge": "fake"},
        "/tournaments/{id}/models": {"models": ["huge"]},
        "/judges": {"name": "j", "backend": "fake", "model": "m", "rubric": "test"},
    }
    path = method_path
    if tournament is not None:
        path = path.replace("{id}", str(tournament.pk))
    data = body.get(method_path, {})
    return client.post(f"/api/v1{path}", data=json.dumps(data), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}")


ENDPOINTS = [
    ("/prompts", "upload"), ("/outputs", "upload"), ("/battles", "upload"),
    ("/tournaments", "run"), ("/tournaments/{id}/models", "run"), ("/tournaments/{id}/pause", "run"),
    ("/tournaments/{id}/resume", "run"), ("/tournaments/{id}/cancel", "run"),
    ("/tournaments/{id}/retry-failed", "run"), ("/tournaments/{id}/start", "run"), ("/judges", "admin"),
]


@pytest.fixture
def running():
    factories.prompts_with_outputs({"small": 5, "large": 60, "huge": 120}, prompts=2)
    factories.fake_judge()
    tournament, _ = lifecycle.open_tournament(name="live", schedule="round_robin", models=["small", "large"],
                                              judge="fake")
    return tournament


@pytest.mark.parametrize(("path", "scope"), ENDPOINTS)
def test_a_token_without_the_scope_gets_403_naming_it_and_nothing_changes(client, make_token, running, path, scope):
    others = ",".join(s for s in SCOPES if s != scope)
    before = (Tournament.objects.get(pk=running.pk).status, Tournament.objects.count(), JudgeConfig.objects.count(),
              running.matches.count())
    response = call(client, path, make_token(others), running)
    assert response.status_code == 403, response.content
    assert f"lacks the '{scope}' scope" in response.json()["detail"]
    after = (Tournament.objects.get(pk=running.pk).status, Tournament.objects.count(), JudgeConfig.objects.count(),
             running.matches.count())
    assert after == before


@pytest.mark.parametrize(("path", "scope"), ENDPOINTS)
def test_a_token_with_only_that_scope_gets_past_the_check(client, make_token, running, path, scope):
    response = call(client, path, make_token(scope), running)
    assert response.status_code not in (401, 403), response.content


def test_an_anonymous_write_is_401_and_an_inactive_users_token_too(client, make_token, django_user_model):
    assert client.post("/api/v1/prompts", data="[]", content_type="application/json").status_code == 401
    token = make_token("upload", username="gone")
    django_user_model.objects.filter(username="gone").update(is_active=False)
    assert call(client, "/prompts", token).status_code == 401


def test_the_issue_8_attack_a_plain_token_pausing_and_cancelling_someone_elses_tournament_is_refused(
        client, make_token, running):
    token = make_token("read,upload")  # what create_api_token gives by default
    for action in ("pause", "cancel"):
        assert call(client, f"/tournaments/{{id}}/{action}", token, running).status_code == 403
    assert Tournament.objects.get(pk=running.pk).status == "running"


# --- issuing and editing scopes --------------------------------------------------------------------

def issued(*args) -> ApiToken:
    out = StringIO()
    call_command("create_api_token", *args, stdout=out)
    return ApiToken.objects.get(key_hash=ApiToken.hash(out.getvalue().strip()))


def test_create_api_token_defaults_to_read_and_upload_and_takes_scope():
    assert issued("alice").scope_list == ["read", "upload"]
    assert issued("bob", "--scope", "run, read").scope_list == ["read", "run"]
    with pytest.raises(CommandError, match="unknown scope.*'root'"):
        issued("eve", "--scope", "read,root")
    with pytest.raises(CommandError, match="at least one scope"):
        issued("eve", "--scope", ",")


def test_the_admin_shows_and_edits_a_tokens_scopes(admin_client, make_token):
    token = make_token("read,upload")
    row = ApiToken.objects.get(key_hash=ApiToken.hash(token))
    assert "read,upload" in admin_client.get("/admin/arena/apitoken/").content.decode()
    form = admin_client.get(f"/admin/arena/apitoken/{row.pk}/change/").content.decode()
    assert re.search(r'value="run"[^>]*>', form) and re.search(r'value="upload"[^>]*checked', form)
    changed = admin_client.post(f"/admin/arena/apitoken/{row.pk}/change/",
                                {"user": row.user_id, "name": "", "scopes": ["read", "run"]})
    assert changed.status_code == 302, changed.content
    row.refresh_from_db()
    assert row.scope_list == ["read", "run"]


def test_the_demo_token_can_upload_and_run_tournaments_but_not_add_judges():
    from arena.management.commands.demo import Command

    token = Command()._demo_token()
    assert ApiToken.objects.get(key_hash=ApiToken.hash(token)).scope_list == ["read", "upload", "run"]


def test_existing_tokens_get_the_defaults_and_only_staff_tokens_get_run(django_user_model, running):
    from importlib import import_module

    from django.apps import apps

    staff = django_user_model.objects.create(username="op", is_staff=True)
    plain = django_user_model.objects.create(username="script")
    Tournament.objects.filter(pk=running.pk).update(created_by=plain)  # it created a tournament before
    staff_token, _ = ApiToken.issue(user=staff)
    plain_token, _ = ApiToken.issue(user=plain)
    import_module("arena.migrations.0008_sec_auth_scopes").scopes_and_scrubbed_errors(apps, None)
    staff_token.refresh_from_db()
    plain_token.refresh_from_db()
    assert staff_token.scope_list == ["read", "upload", "run"]
    assert plain_token.scope_list == ["read", "upload"]


# --- pages ---------------------------------------------------------------------------------------------

@pytest.fixture
def runner(client, django_user_model):
    """Not staff: the run permission through a group, as an operator would grant it."""
    group = Group.objects.create(name="tournament runners")
    group.permissions.add(Permission.objects.get(codename="scope_run"))
    user = django_user_model.objects.create(username="runner")
    user.groups.add(group)
    client.force_login(user)
    return client


def test_a_person_with_the_run_permission_through_a_group_creates_and_controls_tournaments(runner, running):
    page = runner.get(reverse("tournament", args=[running.pk])).content.decode()
    assert ">Pause</button>" in page
    runner.post(reverse("tournament-action", args=[running.pk, "pause"]))
    assert Tournament.objects.get(pk=running.pk).status == "paused"
    assert runner.get(reverse("tournament-new")).status_code == 200
    assert "New tournament" in runner.get(reverse("tournaments")).content.decode()


def test_a_signed_in_person_without_the_permission_gets_403_and_no_controls(client, django_user_model, running):
    client.force_login(django_user_model.objects.create(username="voter"))
    assert client.get(reverse("tournament-new")).status_code == 403
    for action in ("pause", "cancel", "retry-failed"):
        assert client.post(reverse("tournament-action", args=[running.pk, action])).status_code == 403
    assert Tournament.objects.get(pk=running.pk).status == "running"
    page = client.get(reverse("tournament", args=[running.pk])).content.decode()
    assert "Pause</button>" not in page and "Cancel</button>" not in page
    assert "New tournament" not in client.get(reverse("tournaments")).content.decode()


def test_anonymous_visitors_are_sent_to_the_login_page(client, running):
    response = client.get(reverse("tournament-new"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")



# --- what the checks cost ----------------------------------------------------------------------------

def queries(client, path: str, **headers) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as context:
        assert client.get(path, **headers).status_code == 200
    return len(context)


def test_the_run_permission_costs_a_page_a_fixed_few_queries(client, django_user_model, running):
    anonymous = {path: queries(client, path) for path in ("/tournaments/", f"/tournaments/{running.pk}/")}
    group = Group.objects.create(name="runners")
    group.permissions.add(Permission.objects.get(codename="scope_run"))
    user = django_user_model.objects.create(username="runner")
    user.groups.add(group)
    client.force_login(user)
    for path, count in anonymous.items():
        # The session, the user, and the user's own and group permissions (each read once per request).
        assert queries(client, path) <= count + 4, path


def test_the_judge_listing_reads_a_fixed_number_of_queries_whatever_the_number_of_judges(client, make_token):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {make_token('admin')}"}
    factories.fake_judge("first")
    one = (queries(client, "/api/v1/judges"), queries(client, "/api/v1/judges", **headers))
    for i in range(10):
        factories.fake_judge(f"judge-{i}")
    assert (queries(client, "/api/v1/judges"), queries(client, "/api/v1/judges", **headers)) == one
