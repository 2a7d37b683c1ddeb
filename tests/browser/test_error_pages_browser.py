"""The 403, 404 and 500 pages as a browser shows them with DEBUG off, as in production: styled
by the stylesheet, with the navigation where there is a user, and a way back that works."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection

from costapp.attribution.rollup_tables import AllocationDay
from tests.dashboard.builders import finance_user, team_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The unstyled page a browser draws without our stylesheet has a transparent top bar.
TOPBAR_COLOUR = "getComputedStyle(document.querySelector('.topbar')).backgroundColor"


@pytest.fixture(autouse=True)
def production_errors(settings):
    # pytest-django turns DEBUG off already; said here because the pages depend on it.
    settings.DEBUG = False


def _assert_styled(page, heading: str) -> None:
    assert page.inner_text("#error-page h1") == heading
    assert page.evaluate(TOPBAR_COLOUR) not in ("rgba(0, 0, 0, 0)", "transparent")
    assert "Traceback" not in page.content()


@contextmanager
def _table_gone(model) -> Iterator[None]:
    """The model's table renamed away for a while: every query of it fails, as when the database
    is damaged or a deploy ran ahead of its migration."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{table}_away"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER TABLE "{table}_away" RENAME TO "{table}"')


@pytest.mark.parametrize("who", ["finance", "lead"])
def test_a_missing_page_is_a_styled_404_with_the_navigation_and_a_way_back(who, logged_in, visit):
    finance_user("finance")
    team_lead("search", username="lead")
    page = logged_in(who)
    response = visit(page, "/no-such-page/")
    assert response.status == 404
    _assert_styled(page, "There is nothing here")
    assert "/no-such-page/" in page.inner_text("#error-page")
    assert "Explain" in page.locator("nav a").all_inner_texts()
    page.click("#error-page >> text=Back to the overview")
    assert page.inner_text("h1") == "Overview"


@pytest.mark.parametrize("path", ["/periods/", "/sources/"])
def test_a_lead_on_a_finance_page_gets_a_styled_403_with_their_navigation(path, logged_in, visit):
    team_lead("search", username="lead")
    page = logged_in("lead")
    response = visit(page, path)
    assert response.status == 403
    _assert_styled(page, "You may not open this page")
    assert page.locator("nav a").all_inner_texts() == [
        "Overview",
        "Unit economics",
        "Teams",
        "Explorer",
        "Explain",
        "What-if",
        "Budgets",
    ]
    page.click("#error-page >> text=Back to the overview")
    assert page.inner_text("h1") == "Overview"


def test_a_lead_explaining_a_team_not_theirs_gets_the_styled_404(logged_in, visit):
    team_lead("search", username="lead")
    team_lead("ads")
    page = logged_in("lead")
    response = visit(page, "/explain/?team=ads&hour=2026-10-01T10:00Z")
    assert response.status == 404  # not 403: a lead does not learn which other teams exist
    _assert_styled(page, "There is nothing here")


def test_a_failing_database_gives_the_styled_500_and_the_way_back_works_after(logged_in, visit):
    finance_user("finance")
    page = logged_in("finance")
    # The overview reads the daily rollup (costapp.attribution.rollups), not raw allocations.
    with _table_gone(AllocationDay):
        response = visit(page, "/")
        assert response.status == 500
        _assert_styled(page, "Something went wrong on our side")
        assert "attribution_rollup" not in page.content()  # no SQL or table names shown
    page.click("#error-page >> text=Back to the overview")
    assert page.inner_text("h1") == "Overview"
