"""Inputs that once made the API answer 500 (issue 10): each is now a 4xx naming the problem, and a
rejected upload writes nothing. CI runs these on PostgreSQL, where most of them used to fail."""

import json
import threading

import pytest
from django.db import IntegrityError, connection
from django.test import Client

from arena.bulk import insert_rows
from arena.ingest import OUTPUT_COLUMNS
from arena.limits import MAX_JSON_DEPTH
from arena.models import ImportedBattle, Output, Prompt
from tests.conftest import database_state

pytestmark = pytest.mark.django_db

NUL, SURROGATE = "a\u0000b", "a\ud800"


def assert_rejected(response, status: int, *fragments: str) -> dict:
    assert response.status_code == status, response.content
    text = response.content.decode()
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text}"
    return response.json()


def post_json_text(api, path: str, text: str, *, jsonl: bool = False):
    """Send JSON text as it is: json.dumps of a lone surrogate keeps the ``\\ud800`` escape."""
    return api.post_raw(path, text.encode("utf-8"), jsonl=jsonl)


# --- 1: NUL and lone surrogates, in every uploaded string and every text query parameter -------------

UNSTORABLE_TEXT = [
    ("prompts", {"id": "q", "prompt": "{bad}"}, "prompt"),
    ("prompts", {"id": "q", "turns": ["fine", "{bad}"]}, "turns.1"),
    ("prompts", {"id": "{bad}", "prompt": "x"}, "id"),
    ("prompts", {"id": "q", "prompt": "x", "category": "{bad}"}, "category"),
    ("prompts", {"id": "q", "prompt": "x", "reference": "{bad}"}, "reference"),
    ("prompts", {"id": "q", "prompt": "x", "dataset": "{bad}"}, "dataset"),
    ("outputs", {"prompt_id": "p1", "model": "{bad}", "output": "x"}, "model"),
    ("outputs", {"prompt_id": "p1", "model": "m9", "output": "{bad}"}, "output"),
    ("outputs", {"prompt_id": "{bad}", "model": "m9", "output": "x"}, "prompt_id"),
    ("outputs", {"prompt_id": "p1", "model": "m9", "output": "x", "metadata": {"note": "{bad}"}}, "metadata.note"),
    ("outputs", {"prompt_id": "p1", "model": "m9", "output": "x", "metadata": {"{bad}": 1}}, "metadata"),
    ("battles", {"model_a": "m1", "model_b": "m2", "winner": "tie", "source": "{bad}"}, "source"),
    ("battles", {"model_a": "m1", "model_b": "m2", "winner": "tie", "id": "{bad}"}, "id"),
    ("battles", {"model_a": "{bad}", "model_b": "m2", "winner": "tie"}, "model_a"),
]


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "lone-surrogate"])
@pytest.mark.parametrize(("path", "row", "field"), UNSTORABLE_TEXT)
def test_unstorable_text_in_any_uploaded_field_is_422_naming_the_field(api, seeded, path, row, field, bad):
    before = database_state()
    text = json.dumps([row]).replace("{bad}", json.dumps(bad)[1:-1])
    reason = "NUL character" if bad == NUL else "lone surrogate"
    body = assert_rejected(post_json_text(api, path, text), 422, reason)
    assert body["errors"][0]["field"].startswith(field)
    assert database_state() == before


def test_lone_surrogate_in_a_json_lines_upload_is_422(api, seeded):
    before = database_state()
    line = json.dumps({"prompt_id": "p1", "model": "m9", "output": SURROGATE})
    assert_rejected(post_json_text(api, "outputs", line, jsonl=True), 422, "lone surrogate", '"line": 1')
    assert database_state() == before


@pytest.mark.parametrize("query", ["category=%00", "anchor=%00", "tournament=%00", "source=%00"])
def test_unstorable_leaderboard_parameters_are_400(api, seeded, query):
    assert_rejected(api.client.get(f"/api/v1/leaderboard?{query}"), 400, "NUL character")


@pytest.mark.parametrize("query", ["dataset=%00", "category=x%00"])
def test_unstorable_prompt_filters_are_422(api, seeded, query):
    assert_rejected(api.client.get(f"/api/v1/prompts?{query}"), 422, "NUL character")


# --- 2: bytes that are not UTF-8, nesting, byte order marks ------------------------------------------

def test_invalid_utf8_in_a_json_array_is_400_naming_the_byte(api, seeded):
    before = database_state()
    body = b'[{"id": "u1", "prompt": "ok"},\n {"id": "u2", "prompt": "bad \xff here"}]'
    offset = body.index(b"\xff")
    assert_rejected(api.post_raw("prompts", body), 400, "invalid UTF-8", f"byte {offset}", "line 2")
    assert database_state() == before


def test_invalid_utf8_in_json_lines_is_400_naming_the_line(api, seeded):
    body = b'{"id": "u1", "prompt": "ok"}\n{"id": "u2", "prompt": "\xc3("}\n'
    assert_rejected(api.post_raw("prompts", body, jsonl=True), 400, "invalid UTF-8", '"line": 2')


@pytest.mark.parametrize("body", [
    pytest.param("[" * 100_000 + "]" * 100_000, id="100000-deep-array"),
    pytest.param('[{"id": "d", "prompt": "x", "category": ' + "[" * 5000 + "]" * 5000 + "}]", id="5000-deep-field"),
])
@pytest.mark.parametrize("jsonl", [False, True], ids=["array", "jsonl"])
def test_deeply_nested_json_is_400(api, seeded, body, jsonl):
    before = database_state()
    if jsonl:
        body = body[1:-1] if body.startswith("[{") else body
    assert_rejected(api.post_raw("prompts", body, jsonl=jsonl), 400, "nested too deeply")
    assert database_state() == before


def test_metadata_nested_past_the_documented_depth_is_422(api, seeded):
    deep: object = "leaf"
    for _ in range(MAX_JSON_DEPTH + 1):
        deep = [deep]
    rows = [{"prompt_id": "p1", "model": "m9", "output": "x", "metadata": {"deep": deep}}]
    assert_rejected(api.post_rows("outputs", rows), 422, f"nested more than {MAX_JSON_DEPTH} levels")


@pytest.mark.parametrize("jsonl", [False, True], ids=["array", "jsonl"])
def test_a_utf8_byte_order_mark_is_skipped(api, jsonl):
    rows = [{"id": "bom-1", "prompt": "Hi"}, {"id": "bom-2", "prompt": "Ho"}]
    text = "\n".join(json.dumps(r) for r in rows) if jsonl else json.dumps(rows)
    response = api.post_raw("prompts", b"\xef\xbb\xbf" + text.encode(), jsonl=jsonl)
    assert response.status_code == 201, response.content
    assert set(Prompt.objects.values_list("external_id", flat=True)) == {"bom-1", "bom-2"}


# --- 3: numbers the database cannot store -------------------------------------------------------------

@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_in_metadata_are_422(api, seeded, value):
    before = database_state()
    text = '[{"prompt_id": "p1", "model": "m9", "output": "x", "metadata": {"score": VALUE}}]'.replace("VALUE", value)
    body = assert_rejected(api.post_raw("outputs", text), 422, "not a JSON number")
    assert body["errors"][0]["field"] == "metadata.score"
    assert database_state() == before


def test_a_token_count_past_the_integer_column_is_422(api, seeded):
    rows = [{"prompt_id": "p1", "model": "m9", "output": "x", "metadata": {"token_count": 10**12}}]
    assert_rejected(api.post_rows("outputs", rows), 422, '"field": "metadata"', "2147483647")


def test_a_boolean_token_count_is_no_count_and_is_estimated(api, seeded):
    rows = [{"prompt_id": "p1", "model": "m9", "output": "12345678", "metadata": {"token_count": True}}]
    assert api.post_rows("outputs", rows).status_code == 201
    assert Output.objects.get(competitor__name="m9").token_count == 2


# --- 4: lengths come from the columns -------------------------------------------------------------------

def test_battle_ids_longer_than_the_column_are_422_and_the_longest_fits(api):
    too_long = [{"id": "b" * 101, "model_a": "x", "model_b": "y", "winner": "tie"}]
    assert_rejected(api.post_rows("battles", too_long), 422, '"field": "id"', "at most 100 characters")
    longest = [{"id": "b" * 100, "model_a": "x", "model_b": "y", "winner": "tie"}]
    assert api.post_rows("battles", longest).status_code == 201
    assert ImportedBattle.objects.get().external_id == "b" * 100


# --- 5: a duplicate key on the COPY path is Django's IntegrityError, and a race is a 409 --------------

def test_a_duplicate_output_on_the_fast_insert_path_is_an_integrity_error(seeded):
    existing = Output.objects.values_list("competitor_id", "prompt_id").first()
    with pytest.raises(IntegrityError):
        insert_rows(Output, OUTPUT_COLUMNS, [(*existing, '["x"]', "{}", 1, 1)], stamp=("created_at", "updated_at"))


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_of_the_same_outputs_give_201_or_409_never_500(token):
    prompts = [{"id": f"c{i}", "prompt": "q"} for i in range(50)]
    assert Client().post("/api/v1/prompts", json.dumps(prompts), content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 201
    for burst in range(3):
        body = json.dumps([{"prompt_id": f"c{i}", "model": f"burst-{burst}", "output": "same"} for i in range(50)])
        statuses = []
        start = threading.Barrier(6)

        def upload(body=body, statuses=statuses, start=start):
            start.wait()
            try:
                statuses.append(Client().post("/api/v1/outputs", body, content_type="application/json",
                                              HTTP_AUTHORIZATION=f"Bearer {token}").status_code)
            finally:
                connection.close()

        threads = [threading.Thread(target=upload) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert set(statuses) <= {201, 409} and 201 in statuses, statuses
        assert Output.objects.filter(competitor__name=f"burst-{burst}").count() == 50


# --- 6: query parameters: ids, lengths, pages -----------------------------------------------------------

@pytest.mark.parametrize("query", ["tournament=%C2%B2", "tournament=99999999999999999999999",
                                   "category=" + "c" * 300, "anchor=" + "a" * 300])
def test_odd_leaderboard_parameters_are_400(api, seeded, query):
    response = api.client.get(f"/api/v1/leaderboard?{query}")
    assert response.status_code == 400, response.content


@pytest.mark.parametrize("query", [f"limit={10**20}", "limit=1000000", f"offset={10**20}", "limit=0", "offset=-1"])
def test_out_of_range_pages_are_422(api, seeded, query):
    assert api.client.get(f"/api/v1/prompts?{query}").status_code == 422


def test_the_largest_page_is_served(api, seeded):
    body = api.client.get("/api/v1/prompts?limit=1000&offset=1").json()
    assert body["count"] == 2 and [p["id"] for p in body["items"]] == ["p2"]
