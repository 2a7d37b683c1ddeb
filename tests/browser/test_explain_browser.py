"""The explain picker in a browser: choose a team and an hour, submit, then step an hour back or
forward with the basis kept; as finance and as a team lead, who is offered only their teams."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.dashboard.builders import allocation, explained_hour, finance_user, team_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def three_hours():
    """search at 09:00, 10:00 (the hand-worked hour, with ads) and 11:00, each its own total."""
    explained_hour()
    allocation("2026-10-01T09:00", team="search", model="llama-70b", amortized="5", billed="6")
    allocation("2026-10-01T11:00", team="search", model="llama-70b", amortized="7", billed="8")


def _query(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def _pick(page, team: str, hour: str) -> None:
    page.select_option("select[name=team]", team)
    page.fill("input[name=hour]", hour)
    with page.expect_navigation():
        page.click("#explain-submit")


def _step(page, link: str) -> None:
    with page.expect_navigation():
        page.click(link)


def test_finance_picks_a_team_and_hour_then_steps_through_hours_keeping_the_basis(
    three_hours, logged_in
):
    finance_user("finance")
    team_lead("search")
    team_lead("ads")
    page = logged_in("finance")
    page.click("nav >> text=Explain")
    assert "Pick a team and an hour" in page.inner_text("main")
    assert "UTC" in page.inner_text("#explain-form")
    assert page.locator("select[name=team] option").all_inner_texts() == ["—", "ads", "search"]

    _pick(page, "search", "2026-10-01T10:00")
    assert _query(page)["basis"] == ["amortized"]
    assert page.inner_text("#explain-total") == "$48.50"

    with page.expect_navigation():
        page.click("#explain-form .segmented button[value=billed]")
    assert page.inner_text("#explain-total") == "$57.50"  # 54 usage + 3.50 storage, billed

    _step(page, "#next-hour")
    assert _query(page)["hour"] == ["2026-10-01T11:00Z"]
    assert _query(page)["basis"] == ["billed"]
    assert page.inner_text("#explain-total") == "$8.00"
    assert page.input_value("input[name=hour]") == "2026-10-01T11:00"
    assert page.input_value("select[name=team]") == "search"

    _step(page, "#previous-hour")
    _step(page, "#previous-hour")
    assert _query(page)["hour"] == ["2026-10-01T09:00Z"]
    assert page.inner_text("#explain-total") == "$6.00"
    assert (
        page.get_attribute("#explain-form .segmented button[value=billed]", "aria-pressed")
        == "true"
    )

    # Enter in the picker submits with the basis the page is on.
    page.fill("input[name=hour]", "2026-10-01T10:00")
    with page.expect_navigation():
        page.press("input[name=hour]", "Enter")
    assert _query(page)["basis"] == ["billed"]
    assert page.inner_text("#explain-total") == "$57.50"


def test_the_browser_will_not_submit_without_a_team(three_hours, logged_in, visit):
    finance_user("finance")
    team_lead("search")
    page = logged_in("finance")
    visit(page, "/explain/")
    page.fill("input[name=hour]", "2026-10-01T10:00")
    page.click("#explain-submit")
    assert page.evaluate("document.querySelector('select[name=team]').validity.valueMissing")
    assert urlsplit(page.url).query == ""


def test_a_lead_is_offered_only_their_team_and_steps_through_its_hours(three_hours, logged_in):
    team_lead("ads", username="lead")
    team_lead("search")
    page = logged_in("lead")
    page.click("nav >> text=Explain")
    assert page.locator("select[name=team] option").all_inner_texts() == ["—", "ads"]

    _pick(page, "ads", "2026-10-01T10:00")
    assert page.inner_text("#explain-total") == "$30.00"
    # One other team (search) on the resource-hour: the hour's totals are withheld.
    assert page.locator(".withheld").count() >= 1
    assert "search" not in page.inner_text("main")

    _step(page, "#next-hour")
    assert _query(page)["hour"] == ["2026-10-01T11:00Z"]
    assert "ads has no cost in this hour" in page.inner_text("main")
    assert "search" not in page.inner_text("main")  # search's 11:00 line is not the lead's
    _step(page, "#previous-hour")
    assert page.inner_text("#explain-total") == "$30.00"
