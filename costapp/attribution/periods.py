"""Closed periods: months whose allocations finance has closed, and nothing may move.

Closing a month records what was closed (allocated totals per currency, and each loaded bill's
totals) and, from then on, the engine recomputes only the open hours of any window it is given
(`open_intervals`): an edited rule, a late file or a restated bill never changes a closed
month. A bill restated for a closed month is still stored, and `restated_bills` shows its delta
against what was closed; the month's attribution follows it only when finance reopens the month,
with a reason. Both actions are kept in PeriodEvent.

Closing and reopening take the engine's lock, so a recompute in flight finishes first and every
later one sees the new state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum

from costapp.ingest.models import LoadedBill

from .models import Allocation, ClosedPeriod, PeriodAction, PeriodEvent


class PeriodError(ValueError):
    """A close or reopen that cannot be done as asked (already closed, no reason given...)."""


def month_start(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def parse_month(text: str) -> date:
    """'2026-10' -> date(2026, 10, 1); a clear error for anything else."""
    try:
        year, month = (int(part) for part in text.strip().split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError):
        raise PeriodError(f"{text!r} is not a month (expected YYYY-MM, e.g. 2026-10)") from None


def closed_months() -> list[date]:
    return sorted(ClosedPeriod.objects.values_list("month", flat=True))


def is_closed(moment: datetime) -> bool:
    return ClosedPeriod.objects.filter(month=date(moment.year, moment.month, 1)).exists()


def open_intervals(
    start: datetime, end: datetime, closed: list[date] | None = None
) -> list[tuple[datetime, datetime]]:
    """[start, end) less every closed month, as ordered disjoint intervals."""
    intervals = []
    cursor = start
    for month in closed if closed is not None else closed_months():
        low, high = month_start(month), month_start(next_month(month))
        if high <= cursor or low >= end:
            continue
        if low > cursor:
            intervals.append((cursor, low))
        cursor = max(cursor, high)
    if cursor < end:
        intervals.append((cursor, end))
    return intervals


def _totals(month: date) -> dict:
    low, high = month_start(month), month_start(next_month(month))
    allocated = (
        Allocation.objects.filter(hour__gte=low, hour__lt=high)
        .values("currency")
        .annotate(amortized=Sum("amortized_cost"), billed=Sum("billed_cost"))
        .order_by("currency")
    )
    bills = LoadedBill.objects.filter(billing_period_start__gte=low, billing_period_start__lt=high)
    return {
        "allocated": {
            row["currency"]: {"amortized": str(row["amortized"]), "billed": str(row["billed"])}
            for row in allocated
        },
        "bills": [_bill_entry(bill) for bill in bills.order_by("pk")],
    }


def _bill_key(bill) -> list[str]:
    return [
        bill.stream,
        bill.provider,
        bill.billing_account_id,
        bill.sub_account_id,
        bill.billing_currency,
    ]


def _bill_entry(bill: LoadedBill) -> dict:
    return {
        "key": _bill_key(bill),
        "billed": str(bill.billed_cost),
        "amortized": str(bill.effective_cost),
    }


def _lock_engine() -> None:
    """Every hour, exclusively: a close waits for the windows in flight, and none starts until
    it commits (they read the closed months under their shared hold)."""
    from .locking import lock_engine

    with connection.cursor() as cursor:
        lock_engine(cursor)


def close_month(month: date, *, by: str = "", reason: str = "") -> ClosedPeriod:
    """Close a month: from now on no recompute touches its allocations."""
    month = date(month.year, month.month, 1)
    with transaction.atomic():
        _lock_engine()
        if ClosedPeriod.objects.filter(month=month).exists():
            raise PeriodError(f"{month:%Y-%m} is already closed")
        totals = _totals(month)
        period = ClosedPeriod.objects.create(month=month, closed_by=by, totals=totals)
        PeriodEvent.objects.create(
            month=month, action=PeriodAction.CLOSE, by=by, reason=reason, totals=totals
        )
    return period


def reopen_month(month: date, *, by: str = "", reason: str) -> None:
    """Reopen a closed month, with a reason, and recompute it with today's data and rules."""
    from .engine import run_attribution

    month = date(month.year, month.month, 1)
    if not reason or not reason.strip():
        raise PeriodError("say why the month is reopened (a reason is required)")
    with transaction.atomic():
        _lock_engine()
        deleted, _ = ClosedPeriod.objects.filter(month=month).delete()
        if not deleted:
            raise PeriodError(f"{month:%Y-%m} is not closed")
        PeriodEvent.objects.create(
            month=month,
            action=PeriodAction.REOPEN,
            by=by,
            reason=reason.strip(),
            totals=_totals(month),
        )
    run_attribution(month_start(month), month_start(next_month(month)))


@dataclass(frozen=True)
class RestatedBill:
    """A bill of a closed month whose stored totals differ from what was closed."""

    month: date
    stream: str
    provider: str
    billing_account_id: str
    sub_account_id: str
    currency: str
    closed_billed: Decimal
    billed: Decimal
    closed_amortized: Decimal
    amortized: Decimal

    @property
    def billed_delta(self) -> Decimal:
        return self.billed - self.closed_billed

    @property
    def amortized_delta(self) -> Decimal:
        return self.amortized - self.closed_amortized


def restated_bills() -> list[RestatedBill]:
    """Every bill of a closed month stored (or gone) since the close with other totals."""
    found = []
    for period in ClosedPeriod.objects.all():
        low, high = month_start(period.month), month_start(next_month(period.month))
        closed = {tuple(entry["key"]): entry for entry in period.totals.get("bills", [])}
        now = {
            tuple(_bill_key(bill)): _bill_entry(bill)
            for bill in LoadedBill.objects.filter(
                billing_period_start__gte=low, billing_period_start__lt=high
            )
        }
        zero = {"billed": "0", "amortized": "0"}
        for key in sorted(set(closed) | set(now)):
            before, after = closed.get(key, zero), now.get(key, zero)
            if all(Decimal(before[basis]) == Decimal(after[basis]) for basis in zero):
                continue
            found.append(
                RestatedBill(
                    period.month,
                    *key,
                    closed_billed=Decimal(before["billed"]),
                    billed=Decimal(after["billed"]),
                    closed_amortized=Decimal(before["amortized"]),
                    amortized=Decimal(after["amortized"]),
                )
            )
    return found
