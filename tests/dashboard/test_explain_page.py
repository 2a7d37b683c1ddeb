"""The /explain/ page: the arithmetic of one team's hour, reachable from the overview."""

from __future__ import annotations

import re
from html import unescape

import pytest

from .builders import PASSWORD, allocation, explained_hour, finance_user, page, team_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def hour():
    explained_hour()


def _page(client, user, query: str, status: int = 200) -> str:
    return page(client, user, "/explain/" + query, status)


def _steps(html: str, step: str) -> list[str]:
    return re.findall(rf'data-step="{step}">([^<]*)<', html)


def test_finance_can_follow_the_arithmetic_from_line_to_result(client, hour):
    html = _page(client, finance_user(), "?team=search&hour=2026-10-01T10:00Z")
    assert _steps(html, "line") == ["100.0000000001"]  # half of the two-hour line
    assert _steps(html, "hour-cost") == ["100.0000000001"]
    assert _steps(html, "gpu-hours") == ["8.0000"]
    assert _steps(html, "utilization") == ["0.750000"]
    assert _steps(html, "idle") == ["25.0000000000"]
    assert _steps(html, "busy") == ["75.0000000001"]
    assert _steps(html, "share") == ["0.600000"]
    # Storage by tag rule first (its resource sorts first), then the GPU usage line.
    assert _steps(html, "result") == ["3.5000000000", "45.0000000001"]
    assert "by tokens: 600 / 1000" in html
    assert re.search(r'id="explain-total">\$48\.50<', html)


def test_the_billed_basis_shows_billed_figures(client, hour):
    html = _page(client, finance_user(), "?team=search&hour=2026-10-01T10:00Z&basis=billed")
    assert _steps(html, "hour-cost") == ["120.0000000000"]
    assert _steps(html, "idle") == ["30.0000000000"]
    assert _steps(html, "result")[-1] == "54.0000000000"


def test_a_team_lead_explains_their_team_but_not_another(client, hour):
    lead = team_lead("ads")
    html = _page(client, lead, "?team=ads&hour=2026-10-01T10:00Z")
    assert _steps(html, "result") == ["30.0000000000"]
    assert '<option value="search"' not in html
    _page(client, lead, "?team=search&hour=2026-10-01T10:00Z", status=404)


def test_anonymous_visitors_are_sent_to_log_in(client, hour):
    response = client.get("/explain/?team=search&hour=2026-10-01T10:00Z")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_without_a_choice_the_page_offers_the_form_with_visible_teams(client, hour):
    team_lead("search")
    team_lead("ads")
    html = _page(client, finance_user(), "")
    assert "Pick a team and an hour" in html
    assert '<option value="ads">' in html and '<option value="search">' in html


def test_a_malformed_hour_is_a_400_with_the_expected_form(client, hour):
    html = _page(client, finance_user(), "?team=search&hour=noon", status=400)
    assert "ISO 8601" in html


def test_overview_links_each_team_to_its_most_expensive_hour(client, hour):
    # A cheaper later hour for search: the link must still pick 10:00.
    allocation("2026-10-01T11:00", team="search", amortized="1", model="llama-70b")
    assert client.login(username=finance_user().username, password=PASSWORD)
    overview = client.get("/").content.decode()
    links = dict(
        re.findall(r'href="(/explain/\?team=([a-z]+)&amp;[^"]+)"', overview)[i][::-1]
        for i in range(2)
    )
    assert set(links) == {"ads", "search"}
    assert "hour=2026-10-01T10%3A00Z" in links["search"]
    followed = client.get(unescape(links["search"]))
    assert followed.status_code == 200
    assert _steps(followed.content.decode(), "result") == ["3.5000000000", "45.0000000001"]


def _links(html: str) -> dict[str, str]:
    return {
        name: unescape(href)
        for name, href in re.findall(
            r'id="(previous-hour|next-hour)" rel="[a-z]+" href="([^"]+)"', html
        )
    }


def test_the_form_has_an_hour_picker_in_utc_and_a_submit_button(client, hour):
    html = _page(client, finance_user(), "?team=search&hour=2026-10-01T10:00Z&basis=billed")
    picker = re.search(
        r'<input type="datetime-local" name="hour" step="3600" value="([^"]*)"', html
    )
    # The picker's own format, no zone: the page says the hours are UTC.
    assert picker and picker.group(1) == "2026-10-01T10:00"
    assert "Hour (UTC)" in html
    # The button Enter presses keeps the basis the page is on.
    assert re.search(
        r'<button type="submit"[^>]*name="basis" value="billed" id="explain-submit"', html
    )


def test_a_picked_hour_without_a_zone_is_read_as_utc(client, hour):
    # What the datetime-local picker sends.
    html = _page(client, finance_user(), "?team=search&hour=2026-10-01T10:00&basis=amortized")
    assert _steps(html, "result") == ["3.5000000000", "45.0000000001"]


def test_previous_and_next_hour_move_by_one_hour_and_keep_basis_and_currency(client, hour):
    html = _page(
        client, finance_user(), "?team=search&hour=2026-10-01T10:00Z&basis=billed&currency=USD"
    )
    links = _links(html)
    assert links == {
        "previous-hour": "?team=search&hour=2026-10-01T09%3A00Z&basis=billed&currency=USD",
        "next-hour": "?team=search&hour=2026-10-01T11%3A00Z&basis=billed&currency=USD",
    }
    # Following them lands on the neighbouring hour with the same basis.
    after = client.get("/explain/" + links["next-hour"]).content.decode()
    assert "2026-10-01 11:00 UTC" in after
    assert 'value="billed" class="on"' in after
    assert _links(after)["previous-hour"] == (
        "?team=search&hour=2026-10-01T10%3A00Z&basis=billed&currency=USD"
    )


def test_there_is_no_link_to_an_hour_outside_the_time_window(client, hour):
    html = _page(client, finance_user(), "?team=search&hour=2000-01-01T00:00Z")
    assert set(_links(html)) == {"next-hour"}


def test_a_malformed_hour_without_a_team_is_also_a_400(client, hour):
    html = _page(client, finance_user(), "?hour=9999-12-31T23:00Z", status=400)
    assert "outside the plausible time window" in html
