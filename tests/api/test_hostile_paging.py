"""Page parameters of the lists, as an attacker would send them (percent-encoded, so that the bytes reach
the server as sent): the HTML list falls back to a page it has, the API answers 4xx; never a 500, on
SQLite and PostgreSQL alike (PostgreSQL refuses NUL and integer overflow where SQLite does not)."""

import pytest

HOSTILE = ["%00", "9" * 10000, "1%0A2", "-1", "99999999999999999999", "%ED%A0%80", "abc"]


@pytest.mark.django_db
@pytest.mark.parametrize("value", HOSTILE)
def test_the_tournament_list_page_shows_a_page_it_has_for_any_page_number(client, value):
    assert client.get("/tournaments/", QUERY_STRING=f"page={value}").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("path", ["/api/v1/tournaments", "/api/v1/matches"])
@pytest.mark.parametrize("name", ["limit", "offset"])
def test_api_lists_refuse_hostile_paging_with_a_4xx(client, path, name, value):
    assert client.get(path, QUERY_STRING=f"{name}=1").status_code == 200
    assert client.get(path, QUERY_STRING=f"{name}={value}").status_code in (400, 422)
