"""The periods page: finance closes a month (its allocations then never move) or reopens it
with a reason, and sees the bills restated since a close with their delta."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from costapp.attribution.models import ClosedPeriod, PeriodEvent
from costapp.attribution.periods import (
    PeriodError,
    close_month,
    parse_month,
    reopen_month,
    restated_bills,
)
from costapp.core.access import is_finance
from costapp.ingest.models import LoadedBill


@dataclass
class MonthRow:
    month: date
    closed: ClosedPeriod | None = None
    billed: dict[str, Decimal] = field(default_factory=dict)


def month_rows() -> list[MonthRow]:
    """Every month with a bill loaded or a close, newest first, with the bills' totals."""
    today = timezone.now().date()
    rows: dict[date, MonthRow] = {today.replace(day=1): MonthRow(today.replace(day=1))}
    totals = (
        LoadedBill.objects.annotate(month=TruncMonth("billing_period_start"))
        .values("month", "billing_currency")
        .annotate(billed=Sum("billed_cost"))
    )
    for total in totals:
        month = total["month"].date() if hasattr(total["month"], "date") else total["month"]
        row = rows.setdefault(month, MonthRow(month))
        row.billed[total["billing_currency"]] = total["billed"]
    for period in ClosedPeriod.objects.all():
        rows.setdefault(period.month, MonthRow(period.month)).closed = period
    return sorted(rows.values(), key=lambda row: row.month, reverse=True)


@login_required
@require_http_methods(["GET", "POST"])
def periods(request):
    if not is_finance(request.user):
        raise PermissionDenied("closing periods is for finance")
    error = ""
    if request.method == "POST":
        try:
            month = parse_month(request.POST.get("month", ""))
            who = request.user.get_username()
            if request.POST.get("action") == "reopen":
                reopen_month(month, by=who, reason=request.POST.get("reason", ""))
            else:
                close_month(month, by=who, reason=request.POST.get("reason", ""))
            return redirect("dashboard:periods")
        except PeriodError as exc:
            error = str(exc)
    context = {
        "rows": month_rows(),
        "restated": restated_bills(),
        "events": PeriodEvent.objects.all()[:50],
        "error": error,
    }
    return render(request, "dashboard/periods.html", context, status=400 if error else 200)
