"""Bad date and hour parameters on every page and the explain API: a 400 that names the
parameter and the expected form, never a 500 from date arithmetic that overflows."""

from __future__ import annotations

import pytest

from .builders import PASSWORD, explained_hour, finance_user

pytestmark = pytest.mark.django_db

PAGES = ["/", "/units/"]
BAD_DAYS = [
    ("end", "9999-12-31", "outside the plausible time window"),
    ("start", "9999-12-31", "outside the plausible time window"),
    ("start", "0001-01-01", "outside the plausible time window"),
    ("end", "0001-01-01", "outside the plausible time window"),
    ("start", "1999-12-31", "outside the plausible time window"),
    ("start", "2026-13-01", "is not a date (expected YYYY-MM-DD)"),
    ("end", "yesterday", "is not a date (expected YYYY-MM-DD)"),
    ("start", "2026-10-01T00:00", "is not a date (expected YYYY-MM-DD)"),
]
BAD_HOURS = [
    ("9999-12-31T23:00Z", "outside the plausible time window"),
    ("9999-12-31T23:59:59-05:00", "is not an ISO 8601 time"),  # past year 9999 in UTC
    ("0001-01-01T00:00Z", "outside the plausible time window"),
    ("0001-01-01T00:00+05:00", "is not an ISO 8601 time"),  # before year 1 in UTC
    ("2026-02-30T10:00Z", "is not an ISO 8601 time"),
    ("noon", "is not an ISO 8601 time"),
]


@pytest.fixture
def finance(client):
    explained_hour()
    assert client.login(username=finance_user().username, password=PASSWORD)
    return client


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(("field", "value", "message"), BAD_DAYS)
def test_a_bad_day_on_a_page_is_a_400_naming_the_parameter(finance, path, field, value, message):
    response = finance.get(path, {field: value})
    assert response.status_code == 400
    html = response.content.decode()
    assert f"Query parameter <code>{field}</code>" in html and message in html


@pytest.mark.parametrize("path", PAGES)
def test_an_end_before_the_start_is_a_400(finance, path):
    response = finance.get(path, {"start": "2026-10-02", "end": "2026-10-01"})
    assert response.status_code == 400
    assert "expected an end after the start" in response.content.decode()


@pytest.mark.parametrize("path", PAGES)
def test_days_inside_the_window_still_show_the_page(finance, path):
    for query in ({"start": "2026-10-01", "end": "2026-10-01"}, {"start": ""}, {}):
        assert finance.get(path, query).status_code == 200, query


@pytest.mark.parametrize(("value", "message"), BAD_HOURS)
def test_a_bad_hour_on_the_explain_page_is_a_400_with_the_message(finance, value, message):
    response = finance.get("/explain/", {"team": "search", "hour": value})
    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.parametrize(("value", "message"), BAD_HOURS)
def test_a_bad_hour_in_the_explain_api_is_a_json_400_naming_the_field(finance, value, message):
    response = finance.get("/api/v1/explain", {"team": "search", "hour": value})
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "hour" and message in body["error"]
