"""Closed periods: a closed month's allocations never move (edited rules, late data, restated
bills) until finance reopens it with a reason; open months recompute as before."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from costapp.attribution.engine import attribute_pending, run_attribution
from costapp.attribution.models import Allocation, ClosedPeriod, CostRule, PeriodEvent
from costapp.attribution.periods import (
    PeriodError,
    close_month,
    open_intervals,
    reopen_month,
    restated_bills,
)
from costapp.ingest.models import IngestionRun, LoadedBill, RunStatus

from . import builders as b

pytestmark = pytest.mark.django_db

OCT = datetime(2026, 10, 15, 10, tzinfo=UTC)
NOV = datetime(2026, 11, 15, 10, tzinfo=UTC)


def _month_lines(month: int) -> dict[tuple[str, str], Decimal]:
    rows = Allocation.objects.filter(hour__month=month).order_by("kind", "team")
    return {(a.kind, a.team): a.amortized_cost for a in rows}


@pytest.fixture
def two_months():
    """One tagged GPU-hour in October and one in November: 2.5 busy that only a tag rule places."""
    b.gpu_resource(gpus=1)
    for at in (OCT, NOV):
        b.cost_line(cost="10", start=at, tags={"team": "search"})
        b.samples("i-gpu", at, ["0.25"])
    run_attribution()


def test_open_intervals_leave_out_closed_months():
    start, end = datetime(2026, 9, 20, tzinfo=UTC), datetime(2026, 12, 5, tzinfo=UTC)
    closed = [date(2026, 10, 1), date(2026, 11, 1)]
    assert open_intervals(start, end, closed) == [
        (start, datetime(2026, 10, 1, tzinfo=UTC)),
        (datetime(2026, 12, 1, tzinfo=UTC), end),
    ]
    assert open_intervals(start, end, []) == [(start, end)]
    inside = datetime(2026, 10, 2, tzinfo=UTC), datetime(2026, 10, 3, tzinfo=UTC)
    assert open_intervals(*inside, closed) == []


def test_editing_a_rule_changes_open_months_but_never_a_closed_one(two_months):
    close_month(date(2026, 10, 1), by="finance")
    october = _month_lines(10)
    assert october[("unallocated", "")] == Decimal("2.5")

    CostRule.objects.create(name="team tag", tag_key="team", action="assign")
    run_attribution()

    assert _month_lines(10) == october
    assert _month_lines(11)[("usage", "search")] == Decimal("2.5")


def test_late_data_for_a_closed_month_is_stored_but_not_attributed(two_months):
    close_month(date(2026, 10, 1))
    october = _month_lines(10)
    late = b.usage("ads", at=OCT, input_tokens=100).run
    IngestionRun.objects.filter(pk=late.pk).update(
        status=RunStatus.SUCCEEDED, data_start=OCT, data_end=OCT, attributed_at=None
    )
    attribute_pending()
    run_attribution(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    assert _month_lines(10) == october


def test_reopening_needs_a_reason_and_recomputes_the_month(two_months):
    close_month(date(2026, 10, 1), by="finance")
    CostRule.objects.create(name="team tag", tag_key="team", action="assign")
    run_attribution()
    with pytest.raises(PeriodError, match="reason"):
        reopen_month(date(2026, 10, 1), by="finance", reason=" ")

    reopen_month(date(2026, 10, 1), by="finance", reason="tag rule agreed with search")

    assert _month_lines(10)[("usage", "search")] == Decimal("2.5")
    assert not ClosedPeriod.objects.exists()
    actions = list(PeriodEvent.objects.order_by("at", "id").values_list("action", "by", "reason"))
    assert actions == [
        ("close", "finance", ""),
        ("reopen", "finance", "tag rule agreed with search"),
    ]


def test_closing_twice_or_reopening_an_open_month_is_refused(two_months):
    close_month(date(2026, 10, 1))
    with pytest.raises(PeriodError, match="already closed"):
        close_month(date(2026, 10, 1))
    with pytest.raises(PeriodError, match="not closed"):
        reopen_month(date(2026, 11, 1), reason="why not")


def test_the_close_records_the_totals_that_were_closed(two_months):
    period = close_month(date(2026, 10, 1))
    assert Decimal(period.totals["allocated"]["USD"]["amortized"]) == Decimal("10")


def test_a_bill_restated_after_the_close_shows_its_delta():
    bill = LoadedBill.objects.create(
        run=IngestionRun.objects.create(format="focus", location="cur.csv"),
        stream="s3:cur",
        provider="AWS",
        billing_account_id="1111",
        billing_period_start=datetime(2026, 10, 1, tzinfo=UTC),
        billing_currency="USD",
        rows=10,
        billed_cost=Decimal("100.0000000001"),
        effective_cost=Decimal("90"),
    )
    close_month(date(2026, 10, 1))
    assert restated_bills() == []

    LoadedBill.objects.filter(pk=bill.pk).update(billed_cost=Decimal("103.5"))

    (restated,) = restated_bills()
    assert restated.billing_account_id == "1111"
    assert restated.billed_delta == Decimal("3.4999999999")
    assert restated.amortized_delta == 0


def test_close_period_command(two_months, capsys):
    call_command("close_period", "2026-10")
    assert "2026-10 closed (USD 10" in capsys.readouterr().out
    with pytest.raises(CommandError, match="reason"):
        call_command("close_period", "2026-10", "--reopen")
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("close_period", "October")
    call_command("close_period", "2026-10", "--reopen", "--reason", "restated CUR")
    assert not ClosedPeriod.objects.exists()
