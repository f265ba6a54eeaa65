"""The Content-Security-Policy in a real browser: every page, the admin and the API docs (Swagger UI)
load and work without a single violation, and an injected inline script does not run."""

import pytest

from arena import lifecycle
from tests import factories
from tests.browser.support import needs_chromium, screenshots

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
    (e) => window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline")));
"""


def test_pages_admin_and_api_docs_run_under_the_policy_and_injected_script_does_not(
        live_server, browser, django_user_model, settings):
    settings.ARENA_BOOTSTRAP_ROUNDS = 10
    factories.prompts_with_outputs({"small": 5, "large": 60}, prompts=2)
    factories.fake_judge()
    tournament, _ = lifecycle.open_tournament(name="t", schedule="round_robin", models=["small", "large"],
                                              judge="fake")
    match = tournament.matches.first()
    factories.judge(match_ids=[match.pk])
    django_user_model.objects.create_user(username="ada", password="pw-for-tests", is_staff=True,
                                          is_superuser=True)
    page = browser.new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    console = []
    page.on("console", lambda message: console.append(message.text))

    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/admin/")

    paths = ["/", "/leaderboard/", "/tournaments/", f"/tournaments/{tournament.pk}/", "/tournaments/new",
             f"/matches/{match.pk}/", "/models/small/", "/vote/", "/judges/", "/admin/",
             "/admin/arena/judgeconfig/add/", "/admin/arena/apitoken/add/", "/api/v1/docs"]
    for path in paths:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__violations") == [], (path, page.evaluate("window.__violations"))

    # Swagger UI rendered the operations (its scripts ran under the policy).
    assert page.locator(".swagger-ui .opblock").count() >= 10
    screenshots(page, "api-docs-under-csp")
    assert not [text for text in console if "Content Security Policy" in text], console

    # The control: an inline script that made it into a page is refused, and reported.
    page.goto(live_server.url + "/")
    page.evaluate("""() => { const s = document.createElement("script");
                             s.textContent = "window.pwned = 1"; document.body.append(s); }""")
    assert page.evaluate("window.pwned") is None
    assert any(v.startswith("script-src") for v in page.evaluate("window.__violations"))


def test_a_locked_out_login_says_so_readably(live_server, browser, django_user_model):
    django_user_model.objects.create_user(username="ada", password="pw-for-tests")
    page = browser.new_page()
    for _ in range(6):
        page.goto(live_server.url + "/accounts/login/")
        page.get_by_label("Username").fill("ada")
        page.get_by_label("Password").fill("not-it")
        page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("heading", name="Too many failed logins").is_visible()
    screenshots(page, "login-locked-out")
