"""The periods page: finance closes and reopens months (a reason required), leads cannot."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from costapp.attribution.models import ClosedPeriod, PeriodEvent
from costapp.ingest.models import IngestionRun, LoadedBill

from .builders import PASSWORD, finance_user, page, team_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def october_bill():
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


def test_finance_closes_a_month_and_reopens_it_with_a_reason(client, october_bill):
    user = finance_user()
    html = page(client, user, "/periods/")
    assert 'data-month="2026-10"' in html and "120.50 USD" in html

    response = client.post("/periods/", {"month": "2026-10", "action": "close"})
    assert response.status_code == 302
    assert ClosedPeriod.objects.get().closed_by == user.username

    response = client.post("/periods/", {"month": "2026-10", "action": "reopen", "reason": ""})
    assert response.status_code == 400
    assert "reason is required" in response.content.decode()
    assert ClosedPeriod.objects.exists()

    client.post("/periods/", {"month": "2026-10", "action": "reopen", "reason": "late credit"})
    assert not ClosedPeriod.objects.exists()
    assert PeriodEvent.objects.filter(action="reopen", reason="late credit").exists()


def test_a_restated_bill_of_a_closed_month_is_listed_with_its_delta(client, october_bill):
    client.login(username=finance_user().username, password=PASSWORD)
    client.post("/periods/", {"month": "2026-10", "action": "close"})
    LoadedBill.objects.filter(pk=october_bill.pk).update(billed_cost=Decimal("125.75"))
    html = client.get("/periods/").content.decode()
    restated = html.split('id="restated"')[1].split("</section>")[0]
    assert "120.50 USD" in restated and "125.75 USD" in restated and "5.25 USD" in restated


def test_a_bad_month_answers_400_with_the_expected_form(client):
    client.login(username=finance_user().username, password=PASSWORD)
    response = client.post("/periods/", {"month": "October", "action": "close"})
    assert response.status_code == 400
    assert "expected YYYY-MM" in response.content.decode()
    assert ClosedPeriod.objects.filter(month=date(2026, 10, 1)).count() == 0


def test_a_team_lead_cannot_see_or_close_periods(client, october_bill):
    lead = team_lead("search")
    page(client, lead, "/periods/", status=403)
    assert client.post("/periods/", {"month": "2026-10", "action": "close"}).status_code == 403
    assert not ClosedPeriod.objects.exists()
