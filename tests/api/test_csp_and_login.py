"""Issue 13, item 9: every page carries a Content-Security-Policy that refuses inline script (and the
pages have none), and logins are throttled: after five wrong passwords the right one is refused too,
however the client dresses up its address. CI runs these on PostgreSQL too (axes keeps its counts in
the database)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from arena import lifecycle
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password-9"


@pytest.fixture
def pages(db, settings) -> list[str]:
    settings.ARENA_BOOTSTRAP_ROUNDS = 10  # the pages fit leaderboards inline here; a few rounds do
    factories.prompts_with_outputs({"small": 5, "large": 60}, prompts=2)
    factories.fake_judge()
    tournament, _ = lifecycle.open_tournament(name="t", schedule="round_robin", models=["small", "large"],
                                              judge="fake")
    match = tournament.matches.first()
    factories.judge(match_ids=[match.pk])
    return ["/", "/leaderboard/", "/tournaments/", f"/tournaments/{tournament.pk}/", f"/matches/{match.pk}/",
            "/models/small/", "/vote/", "/judges/", "/accounts/login/", "/api/v1/docs", "/admin/login/"]


def policy(response) -> dict[str, str]:
    header = response.headers.get("Content-Security-Policy", "")
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I), "inline script"),
    (re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I), "event handler attribute"),
    (re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"<style", re.I), "style element"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_every_page_has_a_policy_refusing_inline_script_and_style_and_has_none(client, admin_client, pages):
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        directives = policy(response)
        assert directives.get("script-src") == "script-src 'self'", (path, directives)
        assert directives.get("style-src") == "style-src 'self'", (path, directives)
        assert directives["object-src"] == "object-src 'none'" and directives["frame-ancestors"]
        assert "unsafe" not in response.headers["Content-Security-Policy"]
        html = response.content.decode()
        for pattern, what in INLINE:
            assert not pattern.search(html), f"{what} on {path}: {pattern.search(html).group()}"
    staff_page = admin_client.get(reverse("tournament-new")).content.decode()
    for pattern, what in INLINE:
        assert not pattern.search(staff_page), f"{what} on /tournaments/new"


# --- login throttling ---------------------------------------------------------------------------

@pytest.fixture
def ada(django_user_model, settings):
    # A fast hasher: these tests are about counting tries, not about the cost of each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return django_user_model.objects.create_user(username="ada", password=PASSWORD, is_staff=True,
                                                 is_superuser=True)


def log_in(client, path: str, password: str, **headers):
    return client.post(path, {"username": "ada", "password": password, "next": "/"}, **headers)


@pytest.mark.parametrize("path", ["/admin/login/", "/accounts/login/"])
def test_fifteen_wrong_passwords_then_the_right_one_is_refused(client, ada, path):
    for _ in range(15):
        assert log_in(client, path, "guess").status_code in (200, 429)
    refused = log_in(client, path, PASSWORD)
    assert refused.status_code == 429
    assert "Too many failed logins" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_right_password_works_before_the_limit(client, ada):
    for _ in range(4):
        log_in(client, "/accounts/login/", "guess")
    assert log_in(client, "/accounts/login/", PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(ada.pk)


def test_a_new_x_forwarded_for_on_every_try_does_not_escape_the_lockout(client, ada):
    for i in range(15):
        log_in(client, "/admin/login/", "guess", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
    refused = log_in(client, "/admin/login/", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert refused.status_code == 429 and "_auth_user_id" not in client.session


def test_behind_a_configured_proxy_each_client_address_is_counted_on_its_own(client, ada, settings):
    settings.ARENA_PROXY_COUNT = 1
    # What the proxy appends is the last entry; what the client wrote before it is not trusted.
    for i in range(6):
        log_in(client, "/admin/login/", "guess", HTTP_X_FORWARDED_FOR=f"10.9.9.{i}, 198.51.100.7")
    assert log_in(client, "/admin/login/", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429
    other = log_in(client, "/admin/login/", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert other.status_code == 302 and client.session["_auth_user_id"] == str(ada.pk)
