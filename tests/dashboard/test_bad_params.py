"""Bad report parameters on every page and the explain API: a 400 that names the parameter and
the expected form, with the page re-rendered around an inline error — never a silent fallback
to the default, nor a 500 from date arithmetic that overflows."""

from __future__ import annotations

import re

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


BAD_CHOICES = [
    ("basis", "list", "'list' is not one of amortized, billed"),
    ("idle", "hide", "'hide' is not one of separate, share"),
    ("grain", "week", "'week' is not one of hour, day, month"),
    ("by", "region", "'region' is not one of team, model, endpoint"),
    ("currency", "dollar", "'dollar' is not a currency code (expected three letters, e.g. USD)"),
]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(("field", "value", "message"), BAD_CHOICES)
def test_an_unknown_choice_is_a_400_naming_it_on_the_page_itself(
    finance, path, field, value, message
):
    response = finance.get(path, {field: value, "start": "2026-10-01"})
    assert response.status_code == 400
    html = response.content.decode().replace("&#x27;", "'")
    assert f"Query parameter <code>{field}</code>: {message}" in html
    # The page itself, its controls kept, without figures: the reader fixes the request there.
    assert 'class="controls"' in html and 'name="start" value="2026-10-01"' in html
    assert 'id="total-spend"' not in html and 'id="units-summary"' not in html


def test_a_lead_asking_for_another_team_is_told_the_same_as_for_no_team(client):
    explained_hour()
    from .builders import team_lead

    lead = team_lead("search")
    assert client.login(username=lead.username, password=PASSWORD)
    other = client.get("/", {"team": "ads"})
    none = client.get("/", {"team": "zzz"})
    assert other.status_code == none.status_code == 400

    def error(response) -> str:
        return re.search(r'id="bad-param">(.*?)</p>', response.content.decode()).group(1)

    assert (
        error(other)
        == "Query parameter <code>team</code>: &#x27;ads&#x27; is not among the teams you may see."
    )
    assert error(other).replace("ads", "zzz") == error(none)
    assert client.get("/", {"team": "search"}).status_code == 200


def test_finance_narrows_a_report_to_one_team(finance):
    html = finance.get("/", {"team": "ads"}).content.decode()
    assert "team: ads" in html and "search" not in html.split('id="by-team"')[1]


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


def test_a_malformed_currency_in_the_explain_api_is_a_json_400_naming_it(finance):
    query = {"team": "search", "hour": "2026-10-01T10:00Z", "currency": "euros"}
    response = finance.get("/api/v1/explain", query)
    assert response.status_code == 400
    assert response.json()["field"] == "currency"
