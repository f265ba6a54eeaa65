"""Names stored by anyone, however hostile, render as text on every page and link to their pages
(issue 13, items 2-4); bad names are refused at every way in; the CSV export is formula-safe.

The hostile rows are written straight into the database, as an old release or a hand-written SQL
insert could have, bypassing today's validation: every page must still answer 200 and escape them."""

import csv
import io
import json
import re
from html import unescape
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db.models import Q
from django.urls import reverse

from arena import voting
from arena.lifecycle import create_tournament
from arena.models import BattleTicket, Competitor, Dataset, ImportedBattle, Match, Prompt, Tournament
from arena.tournaments import TournamentError
from tests import factories
from tests.conftest import database_state

pytestmark = pytest.mark.django_db

PLAIN = "plain-anchor"
HOSTILE_MODELS = [
    "nl\nX",  # a line break: NoReverseMatch on / and /leaderboard/ before issue 13
    "tab\there", "cr\rhere", "esc\x1b[31mred", "del\x7fhere", "nel\x85here",
    "<script>window.pwned=1</script>",
    "\"'><img src=x onerror=alert(1)>",
    "a/b", "/leading-slash", "trailing-slash/", "%2F", "100%", "..", ".", "a/../b", "~..", "x/./y",
    "?q=1#frag", "&amp;",
    "\u202eevil-rtl",
    "L" * 200,
    "🤖 model 👨\u200d👩\u200d👧",
    "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1)", "\u2028separated",
]
HOSTILE_DATASET = "data\n<script>window.pwned=2</script>"
HOSTILE_CATEGORY = "cat\u202e<b>bold</b>"
HOSTILE_SOURCE = "=src|cmd\n<i>"
HOSTILE_TOURNAMENT = "cup\n<script>window.pwned=3</script>"
RAW_MARKUP = ("<script>window.pwned", "<img src=x", "<b>bold</b>", "<i>")


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()  # with Redis the vote page's cached candidates would outlive the previous test's rows


def name_battles(names: list[str]) -> list[ImportedBattle]:
    """Each hostile model beats the plain one and loses to the next: one connected leaderboard."""
    competitors = {c.name: c for c in Competitor.objects.filter(name__in=[PLAIN, *names])}
    battles = []
    for i, name in enumerate(names):
        battles.append(ImportedBattle(external_id=f"plain-{i}", model_a=competitors[name],
                                      model_b=competitors[PLAIN], score_a=1.0, source=HOSTILE_SOURCE))
        battles.append(ImportedBattle(external_id=f"next-{i}", model_a=competitors[name],
                                      model_b=competitors[names[(i + 1) % len(names)]], score_a=0.25,
                                      source=HOSTILE_SOURCE))
    return ImportedBattle.objects.bulk_create(battles)


@pytest.fixture
def hostile(settings, client):
    """Every kind of hostile name in every name column, a judged tournament, and a human vote."""
    settings.ARENA_VOTE_MIN_SECONDS = 0
    settings.ARENA_BOOTSTRAP_ROUNDS = 20  # intervals are not what these tests look at; 30 models fit slowly
    competitors = factories.prompts_with_outputs({PLAIN: 3, **{n: 5 + i for i, n in enumerate(HOSTILE_MODELS)}},
                                                 prompts=2, dataset=HOSTILE_DATASET, category=HOSTILE_CATEGORY)
    name_battles(HOSTILE_MODELS)
    tournament = create_tournament(name="cup", judge_config=factories.fake_judge(), competitors=competitors,
                                   schedule="anchor", anchor=competitors[0])
    factories.judge_all(tournament)
    Tournament.objects.filter(pk=tournament.pk).update(name=HOSTILE_TOURNAMENT)
    page = client.get("/vote/", {"model": [PLAIN, HOSTILE_MODELS[0]]})
    token = re.search(r'name="ticket" value="([^"]+)"', page.content.decode()).group(1)
    assert client.post("/vote/", {"ticket": token, "choice": "a"}).status_code == 302
    return {"tournament": Tournament.objects.get(), "token": token}


def assert_escaped(response, status: int = 200) -> str:
    assert response.status_code == status, response.content[:2000]
    body = response.content.decode()
    for markup in RAW_MARKUP:
        assert markup not in body, f"{markup!r} reached the page unescaped"
    return body


def hostile_pages(hostile) -> list[str]:
    tournament = hostile["tournament"]
    hostile_match = Q(competitor_a__name=HOSTILE_MODELS[0]) | Q(competitor_b__name=HOSTILE_MODELS[0])
    match = tournament.matches.filter(hostile_match)[0]
    return ["/", "/leaderboard/", "/leaderboard/?" + urlencode({"source": HOSTILE_SOURCE}),
            "/leaderboard/?" + urlencode({"category": HOSTILE_CATEGORY}),
            f"/leaderboard/?tournament={tournament.pk}",
            "/leaderboard/?" + urlencode({"source": "judge", "anchor": HOSTILE_MODELS[6]}),
            "/leaderboard/?sort=model&dir=desc",
            "/leaderboard/?source=human", "/tournaments/", f"/tournaments/{tournament.pk}/", f"/matches/{match.pk}/",
            f"/vote/voted/{hostile['token']}/", "/vote/filters/", "/judges/"]


def test_every_page_renders_hostile_names_stored_in_the_database_as_text(client, hostile):
    for path in hostile_pages(hostile):
        body = assert_escaped(client.get(path))
        assert unescape(body).count("window.pwned") >= (1 if path in ("/", "/leaderboard/") else 0), path
    leaderboard = unescape(client.get("/leaderboard/").content.decode())
    assert all(name in leaderboard for name in HOSTILE_MODELS if "\r" not in name)


def test_every_htmx_partial_renders_hostile_names(client, hostile):
    tournament = hostile["tournament"]
    for path in ("/", "/leaderboard/", "/leaderboard/?sort=model", f"/tournaments/{tournament.pk}/"):
        body = assert_escaped(client.get(path, HTTP_HX_REQUEST="true"))
        assert "<html" not in body


def test_every_stored_name_links_to_its_own_model_page(client, hostile):
    """The links on the leaderboard and the dashboard, followed as a browser would: each lands on the
    page of the model it names, including names with slashes, dots, percent signs and line breaks."""
    hrefs = set()
    for path in ("/", "/leaderboard/", f"/tournaments/{hostile['tournament'].pk}/"):
        hrefs |= {unescape(h) for h in re.findall(r'href="(/models/[^"]*)"', client.get(path).content.decode())}
    linked = {}
    for href in hrefs:
        body = assert_escaped(client.get(href))
        linked[unescape(re.search(r"<h1[^>]*>(.*?)</h1>", body, re.S).group(1))] = href
    assert set(HOSTILE_MODELS) <= set(linked)
    # The model page links every opponent the same way.
    model_page = client.get(reverse("model", args=[HOSTILE_MODELS[0]])).content.decode()
    opponents = {unescape(h) for h in re.findall(r'href="(/models/[^"]*)"', model_page)}
    assert opponents and all(client.get(h).status_code == 200 for h in opponents)


@pytest.mark.parametrize("name", HOSTILE_MODELS, ids=range(len(HOSTILE_MODELS)))
def test_a_model_page_url_names_exactly_its_model(client, name):
    Competitor.objects.create(name=name)
    Competitor.objects.create(name=(name + "-other")[-200:])  # a neighbour the URL must not reach
    url = reverse("model", args=[name])
    assert not re.search(r"(^|/)\.\.?(/|$)", url.removeprefix("/models/").removesuffix("/")), url
    body = assert_escaped(client.get(url))
    assert unescape(re.search(r"<h1[^>]*>(.*?)</h1>", body, re.S).group(1)) == name


def test_the_old_model_urls_still_work(client):
    Competitor.objects.create(name="vicuna-13b-v1.3")
    Competitor.objects.create(name="org/model")
    assert reverse("model", args=["vicuna-13b-v1.3"]) == "/models/vicuna-13b-v1.3/"
    assert client.get("/models/vicuna-13b-v1.3/").status_code == 200
    assert client.get("/models/org/model/").status_code == 200


def test_the_leaderboard_downloads_carry_hostile_names_exactly_and_the_csv_is_formula_safe(client, hostile):
    rows = list(csv.reader(io.StringIO(client.get("/leaderboard/?format=csv").content.decode())))
    names = [row[2] for row in rows[1:]]
    for formula in ("=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1)"):
        assert "'" + formula in names and formula not in names
    assert "nl\nX" in names and "<script>window.pwned=1</script>" in names
    data = json.loads(client.get("/leaderboard/?format=json").content)
    assert set(HOSTILE_MODELS) <= {row["model"] for row in data["rows"]}


def test_csv_cells_are_neutralised_but_numbers_stay_numbers():
    from arena.spreadsheets import safe_cell

    for text in ("=1+1", "+A1", "-2+3", "@A1", "\tx", "\rx", "\nx", "-", "-inf", "=cmd|' /C calc'!A0"):
        assert safe_cell(text) == "'" + text
    for kept in ("-3.2", "+12", "-1,012", "-5%", "1e-3", "-1.5E+3", "plain", "", "a=b", "'quoted"):
        assert safe_cell(kept) == kept
    assert safe_cell(-3.2) == -3.2 and safe_cell(7) == 7 and safe_cell(None) is None


def test_the_leaderboard_command_csv_is_formula_safe():
    factories.prompts_with_outputs({PLAIN: 1, "=HYPERLINK(\"http://x\")": 2, "@x": 3}, prompts=1)
    name_battles(["=HYPERLINK(\"http://x\")", "@x"])
    out = io.StringIO()
    call_command("leaderboard", "--format", "csv", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {row["model"] for row in rows} == {PLAIN, "'=HYPERLINK(\"http://x\")", "'@x"}
    # Numbers are written as numbers (an open interval has no rating).
    assert all(re.fullmatch(r"(-?\d+(\.\d+)?(e-?\d+)?)?", row["rating"]) for row in rows)
    assert float(rows[0]["rating"]) > 0


# --- refused at every way in ------------------------------------------------------------------------

BAD_NAMES = {"line feed": "a\nb", "carriage return": "a\rb", "tab": "a\tb", "escape": "a\x1bb",
             "delete": "a\x7fb", "C1 control": "a\x85b", "line separator": "a\u2028b",
             "paragraph separator": "a\u2029b", "right-to-left override": "\u202eab", "zero-width space": "a\u200bb",
             "byte order mark": "\ufeffab", "leading space": " ab", "trailing space": "ab ", "no-break space": "ab\xa0"}
GOOD_NAMES = ["gpt-4o", "org/model:v1", "🤖 bot", "👨\u200d👩\u200d👧 family", "میخواهم\u200cها", "名前 モデル",
              "100% <real>", "=not-a-formula-here", "a b"]

UPLOADS = [
    ("outputs", lambda bad: {"prompt_id": "p1", "model": bad, "output": "x"}, "model"),
    ("prompts", lambda bad: {"id": "q", "prompt": "x", "dataset": bad}, "dataset"),
    ("prompts", lambda bad: {"id": "q", "prompt": "x", "category": bad}, "category"),
    ("battles", lambda bad: {"model_a": bad, "model_b": "m2", "winner": "tie"}, "model_a"),
    ("battles", lambda bad: {"model_a": "m1", "model_b": bad, "winner": "tie"}, "model_b"),
    ("battles", lambda bad: {"model_a": "m1", "model_b": "m2", "winner": "tie", "source": bad}, "source"),
]


@pytest.mark.parametrize("bad", list(BAD_NAMES.values()), ids=list(BAD_NAMES))
@pytest.mark.parametrize(("path", "row", "field"), UPLOADS, ids=[f"{p}-{f}" for p, _, f in UPLOADS])
def test_a_name_with_a_control_character_is_422_naming_the_field_and_nothing_is_written(api, seeded, path, row,
                                                                                        field, bad):
    before = database_state()
    response = api.post_rows(path, [row(bad)])
    assert response.status_code == 422, response.content
    error = response.json()["errors"][0]
    assert error["field"] == field and ("control character" in error["message"] or "whitespace" in error["message"])
    assert database_state() == before


@pytest.mark.parametrize("good", GOOD_NAMES)
def test_names_in_any_script_with_emoji_and_joiners_are_accepted(api, seeded, good):
    assert api.post_rows("outputs", [{"prompt_id": "p1", "model": good, "output": "x"}]).status_code == 201
    assert Competitor.objects.filter(name=good).exists()


def test_the_import_commands_refuse_bad_names(tmp_path):
    from django.core.management.base import CommandError

    path = tmp_path / "battles.jsonl"
    path.write_text(json.dumps({"model_a": "nl\nX", "model_b": "m2", "winner": "tie"}) + "\n")
    with pytest.raises(CommandError, match="control character"):
        call_command("import_battles", str(path))
    assert not Competitor.objects.exists()


@pytest.mark.parametrize("bad", ["cup\nX", "cup\u202e", " cup"])
def test_a_tournament_name_with_a_control_character_is_refused_everywhere(api, seeded, bad, client,
                                                                          django_user_model):
    competitors = list(Competitor.objects.all())
    judge = factories.fake_judge()
    if bad.strip() == bad:  # the front door trims a typed name, so only inner characters are refused there
        with pytest.raises(TournamentError, match="name"):
            create_tournament(name=bad, judge_config=judge, competitors=competitors, schedule="round_robin")
    body = {"name": bad, "schedule": "round_robin", "models": ["m1", "m2"], "judge": judge.pk}
    response = api.post_raw("tournaments", json.dumps(body))
    if bad.strip() == bad:
        assert response.status_code == 400 and "name contains the control character" in response.json()["detail"]
        assert not Tournament.objects.exists()
    else:  # the tournament API and form trim the typed name, as they always did; what is stored is clean
        assert response.status_code == 201 and Tournament.objects.get().name == bad.strip()


def test_the_admin_refuses_a_bad_name(db):
    for model, field in ((Competitor, "name"), (Dataset, "name"), (Tournament, "name")):
        with pytest.raises(ValidationError, match="control character"):
            model._meta.get_field(field).run_validators("a\nb")
    with pytest.raises(ValidationError):
        Prompt._meta.get_field("category").run_validators("\u202ex")
    with pytest.raises(ValidationError):
        ImportedBattle._meta.get_field("source").run_validators("x\t")


def test_the_admin_change_form_answers_with_the_problem(admin_client):
    response = admin_client.post("/admin/arena/competitor/add/", {"name": "evil\u2028name", "description": ""})
    assert response.status_code == 200 and "control character" in response.content.decode()
    assert not Competitor.objects.exists()


# --- the pages' parameters go through arena.limits: 400 or 404, never 500 ------------------------------

PAGE_PARAMETERS = [
    ("get", "/vote/?dataset=%00", 400, "dataset contains a NUL"),
    ("get", "/vote/?category=%00", 400, "category contains a NUL"),
    ("get", "/vote/?model=%00", 400, "model contains a NUL"),
    ("get", "/vote/?model=m1&model=x%00", 400, "model contains a NUL"),
    ("get", f"/vote/?dataset={'d' * 201}", 400, "dataset is 201 characters"),
    ("get", "/vote/filters/?dataset=%00", 400, ""),
    ("get", "/vote/voted/%00/", 404, "no vote of yours"),
    ("get", "/vote/voted/x%00y/?model=%00", 404, "no vote of yours"),
    ("get", "/models/%00/", 404, ""),
    ("get", "/models/a%00b/", 404, ""),
    ("get", f"/models/{'m' * 201}/", 404, ""),
    ("post", "/vote/", 400, "ticket contains a NUL"),
    ("get", "/leaderboard/?source=%00", 400, "NUL"),
    ("get", "/leaderboard/?category=%00", 400, "NUL"),
    ("get", "/leaderboard/?tournament=%00", 400, "NUL"),
    ("get", "/leaderboard/?judge=%00", 400, "NUL"),
    ("get", "/leaderboard/?anchor=%00", 400, "NUL"),
    ("get", "/leaderboard/?method=%00", 400, "unknown method"),
    ("get", "/leaderboard/?prior=%00", 400, "prior"),
    ("get", "/leaderboard/?prior=%C2%B2", 400, "prior"),
    ("get", f"/leaderboard/?prior={'9' * 5000}", 400, "prior"),
    ("get", "/leaderboard/?category=%00&format=csv", 400, "NUL"),
    ("get", "/leaderboard/?sort=%00&dir=%00&format=%00&style_control=%00", 200, ""),
    ("get", "/tournaments/%00/", 404, ""),
    ("get", "/matches/99999999999999999999/", 404, ""),
    ("get", "/tournaments/99999999999999999999/", 404, ""),
]


@pytest.mark.parametrize(("method", "url", "status", "message"), PAGE_PARAMETERS,
                         ids=[f"{m}-{u[:40]}" for m, u, _, _ in PAGE_PARAMETERS])
def test_page_parameters_the_database_cannot_compare_are_4xx(client, seeded, method, url, status, message):
    client.get("/vote/")  # a session with a ticket: the checks must not depend on having none
    before = BattleTicket.objects.count()
    if method == "post":
        response = client.post(url, {"ticket": "a\x00b", "choice": "a", "model": "m1"})
    else:
        response = client.get(url)
    assert response.status_code == status, response.content[:500]
    assert message in unescape(response.content.decode())
    assert BattleTicket.objects.count() == before


def test_a_post_with_a_nul_in_the_filter_is_400_and_records_no_vote(client, seeded, settings):
    settings.ARENA_VOTE_MIN_SECONDS = 0
    token = re.search(r'name="ticket" value="([^"]+)"', client.get("/vote/").content.decode()).group(1)
    response = client.post("/vote/", {"ticket": token, "choice": "a", "category": "x\x00"})
    assert response.status_code == 400 and "category contains a NUL" in response.content.decode()
    assert not BattleTicket.objects.filter(used_at__isnull=False).exists()


def test_a_tournament_match_page_and_vote_reveal_show_hostile_names(client, hostile):
    script = "<script>window.pwned=1</script>"
    match = Match.objects.filter(Q(competitor_a__name=script) | Q(competitor_b__name=script)).first()
    body = assert_escaped(client.get(f"/matches/{match.pk}/"))
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in body
    revealed = assert_escaped(client.get(f"/vote/voted/{hostile['token']}/"))
    assert "nl\nX" in unescape(revealed)


def test_voting_filtered_to_hostile_names_works(client, hostile):
    for params in ({"dataset": HOSTILE_DATASET}, {"category": HOSTILE_CATEGORY},
                   {"model": ["\u202eevil-rtl", "<script>window.pwned=1</script>"]}):
        body = assert_escaped(client.get("/vote/", params))
        assert 'name="ticket"' in body
    ticket = BattleTicket.objects.order_by("-pk").first()
    names = {ticket.output_left.competitor.name, ticket.output_right.competitor.name}
    assert names == {"\u202eevil-rtl", "<script>window.pwned=1</script>"}
    assert voting.battle_filter(models=["a\nb"]).models == ("a\nb",)  # a legacy name is still a valid filter
