"""Close the demo's oldest complete month, as finance would after the bill is final, so the
closed-month pages (/periods/, /chargeback/YYYY-MM/) have a month to show.

The default 30-day window holds a whole calendar month only when it ends on a month's first
hours (e.g. 1 March: all of February); otherwise nothing is closed and the demo says so.
"""

from __future__ import annotations

from datetime import date, datetime

from costapp.attribution.models import ClosedPeriod
from costapp.attribution.periods import close_month, month_start, next_month

CLOSED_BY = "demo"


def complete_months(start: datetime, end: datetime) -> list[date]:
    """The calendar months (UTC) wholly inside [start, end), oldest first."""
    month = date(start.year, start.month, 1)
    if month_start(month) < start:
        month = next_month(month)
    months = []
    while month_start(next_month(month)) <= end:
        months.append(month)
        month = next_month(month)
    return months


def close_oldest_month(start: datetime, end: datetime) -> tuple[date | None, bool]:
    """(the oldest complete month of the window or None, whether this call closed it)."""
    months = complete_months(start, end)
    if not months:
        return None, False
    month = months[0]
    if ClosedPeriod.objects.filter(month=month).exists():
        return month, False
    close_month(month, by=CLOSED_BY, reason="demo: the month's bill is final")
    return month, True
