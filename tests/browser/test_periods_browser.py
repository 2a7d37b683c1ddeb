"""The periods page in a browser: finance closes a month from the nav, sees the row say so and a
restated bill on /sources/, and reopening asks for a reason, in the browser (the field is
required) and on the server (a blank reason is a 400). Leads get the styled 403 there."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from costapp.attribution.models import ClosedPeriod, PeriodEvent
from costapp.ingest.models import IngestionRun, LoadedBill
from tests.dashboard.builders import finance_user, team_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OCTOBER = "tr[data-month='2026-10']"


@pytest.fixture
def october_bill() -> LoadedBill:
    return LoadedBill.objects.create(
        run=IngestionRun.objects.create(format="focus", location="cur.csv"),
        stream="s3:cur",
        provider="AWS",
        billing_account_id="1111",
        billing_period_start=datetime(2026, 10, 1, tzinfo=UTC),
        billing_currency="USD",
        rows=3,
        billed_cost=Decimal("120.50"),
        effective_cost=Decimal("110"),
    )


def test_finance_closes_a_month_sees_its_restated_bill_and_reopens_it_with_a_reason(
    october_bill, logged_in
):
    finance_user("finance")
    page = logged_in("finance")
    posts: list[str] = []
    page.on("request", lambda request: request.method == "POST" and posts.append(request.url))

    page.click("nav >> text=Periods")
    assert page.inner_text("h1") == "Periods"
    assert page.locator("nav a[aria-current=page]").all_inner_texts() == ["Periods"]
    row = page.locator(OCTOBER)
    assert "open" in row.inner_text() and "120.50 USD" in row.inner_text()

    with page.expect_navigation():
        row.locator("button", has_text="Close 2026-10").click()
    assert "closed" in page.locator(OCTOBER).inner_text()
    assert "by finance" in page.locator(OCTOBER).inner_text()

    # The bill is restated after the close: /sources/ shows it with its delta.
    LoadedBill.objects.filter(pk=october_bill.pk).update(billed_cost=Decimal("125.75"))
    page.click("nav >> text=Sources")
    restated = page.inner_text("#restated")
    assert "120.50 USD" in restated and "125.75 USD" in restated and "5.25 USD" in restated
    page.click("#restated >> text=Periods")
    assert page.inner_text("h1") == "Periods"

    # No reason: the browser does not send the form.
    posts.clear()
    page.locator(OCTOBER).locator("button", has_text="Reopen").click()
    reason = page.locator(OCTOBER).locator("input[name=reason]")
    assert reason.evaluate("input => input.validity.valueMissing")
    assert posts == [] and ClosedPeriod.objects.filter(month="2026-10-01").exists()

    # Spaces pass the browser's check; the server refuses them.
    reason.fill("   ")
    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        page.locator(OCTOBER).locator("button", has_text="Reopen").click()
    assert answer.value.status == 400
    assert "reason is required" in page.inner_text("#period-error")
    assert ClosedPeriod.objects.filter(month="2026-10-01").exists()

    page.locator(OCTOBER).locator("input[name=reason]").fill("late credit note")
    with page.expect_navigation():
        page.locator(OCTOBER).locator("button", has_text="Reopen").click()
    assert "open" in page.locator(OCTOBER).inner_text()
    assert "late credit note" in page.inner_text("#history")
    assert PeriodEvent.objects.filter(action="reopen", reason="late credit note").exists()


def test_a_lead_has_no_way_to_periods_or_sources(october_bill, logged_in, visit):
    team_lead("search", username="lead")
    page = logged_in("lead")
    assert "Periods" not in page.locator("nav a").all_inner_texts()
    for path in ("/periods/", "/sources/"):
        assert visit(page, path).status == 403
        assert page.inner_text("#error-page h1") == "You may not open this page"
    assert not ClosedPeriod.objects.exists()
