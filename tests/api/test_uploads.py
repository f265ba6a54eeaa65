"""The bulk upload API: success, idempotency, and every kind of bad input changing nothing."""

import json

import pytest

from arena.models import Competitor, ImportedBattle, Output, Prompt
from tests.conftest import database_state

pytestmark = pytest.mark.django_db


def assert_rejected(response, status: int, *fragments: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    text = json.dumps(body)
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text}"
    return body


# --- success and idempotency ------------------------------------------------------------------------

def test_prompts_upload_creates_rows_and_reports_counts(api):
    rows = [{"id": 1, "prompt": "Hi"}, {"id": "two", "turns": ["a", "b"], "category": "writing",
                                         "reference": "ref", "dataset": "mine"}]
    response = api.post_rows("prompts", rows)
    assert response.status_code == 201
    assert response.json() == {"created": 2, "unchanged": 0, "replaced": 0}
    two = Prompt.objects.get(external_id="two")
    assert (two.turns, two.category, two.reference, two.dataset.name) == (["a", "b"], "writing", ["ref"], "mine")
    assert Prompt.objects.get(external_id="1").turns == ["Hi"]


def test_uploading_the_same_rows_again_creates_nothing(api, seeded):
    before = database_state()
    again = api.post_rows("outputs", [{"prompt_id": "p1", "model": "m1", "output": "hi"}])
    assert again.status_code == 201
    assert again.json()["created"] == 0 and again.json()["unchanged"] == 1
    assert database_state() == before


def test_outputs_upload_creates_unknown_models_and_counts_characters(api, seeded):
    response = api.post_rows("outputs", [{"prompt_id": "p2", "model": "new-model", "turns": ["4", "twelve"],
                                          "metadata": {"token_count": 3}}], jsonl=True)
    assert response.status_code == 201
    output = Output.objects.get(competitor__name="new-model")
    assert (output.turns, output.char_count, output.token_count) == (["4", "twelve"], 7, 3)


def test_jsonl_upload_of_battles_with_winner_and_probability(api, seeded):
    rows = [{"model_a": "m1", "model_b": "m2", "winner": "model_a", "prompt_id": "p1"},
            {"model_a": "m1", "model_b": "x", "score_a": 0.25, "source": "alpaca_eval", "weight": 2}]
    response = api.post_rows("battles", rows, jsonl=True)
    assert response.status_code == 201 and response.json()["created"] == 2
    scores = sorted(ImportedBattle.objects.values_list("score_a", "source", "weight"))
    assert scores == [(0.25, "alpaca_eval", 2.0), (1.0, "imported", 1.0)]


def test_identical_battles_without_ids_are_distinct_but_idempotent(api):
    rows = [{"model_a": "a", "model_b": "b", "winner": "tie"}] * 3
    assert api.post_rows("battles", rows).json()["created"] == 3
    assert api.post_rows("battles", rows).json() == {"created": 0, "unchanged": 3, "replaced": 0}
    assert ImportedBattle.objects.count() == 3


def test_changed_row_is_a_conflict_unless_replace(api, seeded):
    changed = [{"prompt_id": "p1", "model": "m1", "output": "HI!"}]
    before = database_state()
    assert_rejected(api.post_rows("outputs", changed), 409, "already has a different output", "replace=true")
    assert database_state() == before
    response = api.post_rows("outputs", changed, query="replace=true")
    assert response.status_code == 201 and response.json()["replaced"] == 1
    assert Output.objects.get(competitor__name="m1", prompt__external_id="p1").turns == ["HI!"]


# --- bad input: the status, the message, and nothing written ------------------------------------------

BAD_UPLOADS = [
    pytest.param("prompts", '[{"id": "x", "prompt": "ok"}, {"id": "y", "prompt": ', False, 400, ["malformed JSON"],
                 id="malformed-json"),
    pytest.param("prompts", '{"id": "x", "prompt": "ok"}\n{"id": "y", "prompt": \n', True, 400,
                 ['"line": 2', "malformed JSON"], id="malformed-jsonl-line"),
    pytest.param("prompts", "", False, 400, ["empty body"], id="empty-body"),
    pytest.param("prompts", "\n\n", True, 400, ["empty body"], id="empty-jsonl"),
    pytest.param("prompts", '[{"id": "x", "prompt": 5}]', False, 422, ['"field": "prompt"', "valid string"],
                 id="wrong-type"),
    pytest.param("prompts", '[{"prompt": "no id"}]', False, 422, ['"field": "id"', "Field required"],
                 id="missing-id"),
    pytest.param("prompts", '[{"id": "x"}]', False, 422, ["exactly one of 'prompt'"], id="missing-prompt"),
    pytest.param("prompts", '[3]', False, 422, ["must be a JSON object"], id="not-an-object"),
    pytest.param("prompts", '[{"id": "x", "prompt": "a"}, {"id": "x", "prompt": "b"}]', False, 422,
                 ["duplicate key 'x'", "first given on line 1", '"line": 2'], id="duplicate-key"),
    pytest.param("outputs", '[{"prompt_id": "nope", "model": "m1", "output": "a"}]', False, 422,
                 ["unknown prompt id 'nope'"], id="unknown-prompt"),
    pytest.param("outputs", '[{"prompt_id": "p1", "model": "m3", "output": "a"},'
                            ' {"prompt_id": "p1", "model": "m3", "output": "b"}]', False, 422,
                 ["duplicate key 'm3' / 'p1'"], id="duplicate-output"),
    pytest.param("outputs", '[{"prompt_id": "p1", "model": "", "output": "a"}]', False, 422,
                 ['"field": "model"'], id="empty-model-name"),
    pytest.param("battles", '[{"model_a": "m1", "model_b": "m1", "winner": "tie"}]', False, 422,
                 ["cannot battle itself"], id="self-battle"),
    pytest.param("battles", '[{"model_a": "m1", "model_b": "m2", "score_a": 1.5}]', False, 422,
                 ['"field": "score_a"', "less than or equal to 1"], id="probability-above-one"),
    pytest.param("battles", '[{"model_a": "m1", "model_b": "m2", "score_a": -0.1}]', False, 422,
                 ["greater than or equal to 0"], id="probability-below-zero"),
    pytest.param("battles", '[{"model_a": "m1", "model_b": "m2", "winner": "model_c"}]', False, 422,
                 ['"field": "winner"'], id="unknown-winner"),
    pytest.param("battles", '[{"model_a": "m1", "model_b": "m2", "winner": "tie", "weight": 0}]', False, 422,
                 ['"field": "weight"'], id="zero-weight"),
    pytest.param("battles", '[{"model_a": "m1", "model_b": "m2", "winner": "tie", "prompt_id": "zz"}]', False,
                 422, ["unknown prompt id 'zz'"], id="battle-unknown-prompt"),
    pytest.param("battles", '[{"model_a": "m1", "model_b": "m2", "winner": "tie", "source": "judge"}]', False, 422,
                 ["source 'judge' is reserved"], id="reserved-source"),
    pytest.param("battles", '[{"id": 7, "model_a": "a", "model_b": "b", "winner": "tie"},'
                            ' {"id": "7", "model_a": "a", "model_b": "b", "winner": "tie"}]', False, 422,
                 ["duplicate key '7'"], id="duplicate-battle-id"),
]


@pytest.mark.parametrize(("path", "body", "jsonl", "status", "fragments"), BAD_UPLOADS)
def test_bad_upload_is_rejected_with_a_message_and_changes_nothing(api, seeded, path, body, jsonl, status,
                                                                    fragments):
    before = database_state()
    body_json = assert_rejected(api.post_raw(path, body, jsonl=jsonl), status, *fragments)
    assert body_json["detail"]
    assert database_state() == before


def test_good_rows_before_a_bad_row_are_not_written(api, seeded):
    before = database_state()
    rows = [{"prompt_id": "p2", "model": f"fresh-{i}", "output": "x"} for i in range(30)]
    rows.append({"prompt_id": "p2", "model": "late", "output": ["not", "a", "string"]})
    assert_rejected(api.post_rows("outputs", rows, jsonl=True), 422, '"line": 31')
    assert database_state() == before
    assert not Competitor.objects.filter(name__startswith="fresh-").exists()


def test_errors_name_every_bad_row_up_to_one_hundred(api, seeded):
    rows = [{"prompt_id": "missing", "model": f"m{i}", "output": "x"} for i in range(150)]
    body = assert_rejected(api.post_rows("outputs", rows, jsonl=True), 422, "150 bad row(s)", "first 100 shown")
    assert [e["line"] for e in body["errors"]] == list(range(1, 101))


def test_huge_field_is_rejected(api, seeded, settings):
    settings.ARENA_MAX_FIELD_CHARS = 1000
    before = database_state()
    rows = [{"prompt_id": "p1", "model": "m9", "output": "x" * 1001}]
    assert_rejected(api.post_rows("outputs", rows), 422, "1001 characters", "ARENA_MAX_FIELD_CHARS")
    assert database_state() == before


def test_body_over_the_size_limit_is_413(api, seeded, settings):
    settings.ARENA_MAX_UPLOAD_BYTES = 2000
    before = database_state()
    rows = [{"prompt_id": "p1", "model": f"m{i}", "output": "y" * 50} for i in range(100)]
    assert_rejected(api.post_rows("outputs", rows, jsonl=True), 413, "2000", "ARENA_MAX_UPLOAD_BYTES")
    assert database_state() == before


def test_body_over_the_limit_without_content_length_is_413_while_streaming(seeded, settings):
    import io

    from arena import ingest
    from arena.uploads import UploadError

    settings.ARENA_MAX_UPLOAD_BYTES = 5000
    settings.ARENA_UPLOAD_BATCH_ROWS = 3
    before = database_state()
    body = "\n".join(json.dumps({"prompt_id": "p1", "model": f"s{i}", "output": "z" * 40}) for i in range(200))
    with pytest.raises(UploadError) as raised:
        ingest.import_outputs(stream=io.BytesIO(body.encode()), jsonl=True)
    assert raised.value.status == 413
    assert database_state() == before


@pytest.mark.parametrize(
    ("header", "message"),
    [(None, "missing Authorization header"), ("Token abc", "must be 'Bearer <token>'"),
     ("Bearer wrong", "invalid API token")],
)
def test_uploads_need_a_valid_token(client, seeded, header, message):
    before = database_state()
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.post("/api/v1/prompts", data='[{"id": "z", "prompt": "q"}]', content_type="application/json",
                           **extra)
    assert_rejected(response, 401, message)
    assert database_state() == before


# --- reads --------------------------------------------------------------------------------------------

def test_competitors_list_counts_outputs(api, seeded):
    response = api.get("competitors")
    assert response.status_code == 200
    assert {(c["name"], c["outputs"]) for c in response.json()} == {("m1", 1), ("m2", 1)}


def test_prompts_list_filters_by_category_and_dataset(api, seeded):
    body = api.get("prompts", category="math").json()
    assert body["count"] == 1
    assert body["items"][0] == {"id": "p2", "dataset": "default", "category": "math",
                                "turns": ["Add 2+2", "Now times 3"], "reference": ["4", "12"]}
    assert api.get("prompts", dataset="other").json()["count"] == 0


def test_openapi_schema_is_published(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/prompts", "/api/v1/outputs", "/api/v1/battles", "/api/v1/competitors"} <= set(schema["paths"])


def test_api_docs_page_needs_no_cdn(client):
    page = client.get("/api/v1/docs").content.decode()
    assert "swagger-ui-bundle.js" in page and "cdn.jsdelivr.net" not in page


def test_a_token_made_in_the_admin_is_shown_once_and_works(admin_client, admin_user, client):
    response = admin_client.post("/admin/arena/apitoken/add/",
                                 {"user": admin_user.pk, "name": "ci", "scopes": ["read", "upload"]}, follow=True)
    shown = [str(m) for m in response.context["messages"] if "shown only once" in str(m)]
    token = shown[0].rsplit(" ", 1)[-1]
    upload = client.post("/api/v1/prompts", data='[{"id": "adm", "prompt": "q"}]', content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {token}")
    assert upload.status_code == 201


def test_create_api_token_command_prints_a_working_token(client):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("create_api_token", "carol", stdout=out)
    upload = client.post("/api/v1/prompts", data='[{"id": "cmd", "prompt": "q"}]', content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {out.getvalue().strip()}")
    assert upload.status_code == 201


def test_import_commands_take_the_same_path_as_the_api(tmp_path, db):
    from io import StringIO

    from django.core.management import CommandError, call_command

    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"id": "c1", "prompt": "Hi?"}\n{"id": "c2", "turns": ["a", "b"]}\n')
    out = StringIO()
    call_command("import_prompts", str(prompts), stdout=out)
    assert json.loads(out.getvalue()) == {"created": 2, "unchanged": 0}
    bad = tmp_path / "outputs.jsonl"
    bad.write_text('{"prompt_id": "c1", "model": "m", "output": "x"}\n'
                   '{"prompt_id": "zz", "model": "m", "output": "y"}\n')
    before = database_state()
    with pytest.raises(CommandError, match="unknown prompt id 'zz'"):
        call_command("import_outputs", str(bad))
    assert database_state() == before


def test_a_battle_with_an_id_can_be_corrected_with_replace(api):
    first = [{"id": "b-1", "model_a": "x", "model_b": "y", "winner": "model_a"}]
    assert api.post_rows("battles", first).status_code == 201
    corrected = [{"id": "b-1", "model_a": "x", "model_b": "y", "winner": "model_b", "weight": 2}]
    assert_rejected(api.post_rows("battles", corrected), 409, "battle 'b-1' already exists")
    assert api.post_rows("battles", corrected, query="replace=true").json()["replaced"] == 1
    battle = ImportedBattle.objects.get(external_id="b-1")
    assert (battle.score_a, battle.weight, battle.winner) == (0.0, 2.0, "model_b")
