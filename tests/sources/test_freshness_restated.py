"""/sources/ lists the bills restated for a closed month with their delta against the close."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from costapp.attribution.periods import close_month
from costapp.ingest.models import IngestionRun, LoadedBill
from tests.dashboard.builders import finance_user, page

pytestmark = pytest.mark.django_db


def _bill(billed: str, effective: str) -> LoadedBill:
    return LoadedBill.objects.create(
        run=IngestionRun.objects.create(format="focus", location="cur.csv"),
        stream="s3:cur",
        provider="AWS",
        billing_account_id="1111",
        billing_period_start=datetime(2026, 10, 1, tzinfo=UTC),
        billing_currency="USD",
        rows=3,
        billed_cost=Decimal(billed),
        effective_cost=Decimal(effective),
    )


def _restated_section(html: str) -> str:
    return html.split('id="restated"')[1].split("</section>")[0]


def test_a_bill_restated_after_the_close_is_listed_with_its_delta(client):
    bill = _bill("120.50", "110")
    close_month(date(2026, 10, 1), by="fin")
    LoadedBill.objects.filter(pk=bill.pk).update(
        billed_cost=Decimal("125.75"), effective_cost=Decimal("109")
    )
    section = _restated_section(page(client, finance_user(), "/sources/"))
    assert "2026-10" in section and "1111" in section and "s3:cur" in section
    assert "120.50 USD" in section and "125.75 USD" in section
    assert 'data-delta="billed">5.25 USD' in section
    assert 'data-delta="amortized">-1.00 USD' in section
    assert 'href="/periods/"' in section


def test_an_unchanged_closed_month_lists_nothing(client):
    _bill("120.50", "110")
    close_month(date(2026, 10, 1), by="fin")
    assert 'id="restated"' not in page(client, finance_user(), "/sources/")
