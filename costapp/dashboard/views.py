"""Dashboard pages: parse the request, call selectors, render. No business logic here."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from . import charts, selectors


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None  # a mistyped date shows the whole period rather than an error page


@login_required
def overview(request):
    basis = request.GET.get("basis", "amortized")
    if basis not in selectors.BASES:
        basis = "amortized"
    start, end = _date(request.GET.get("start")), _date(request.GET.get("end"))
    data = selectors.overview(request.user, basis, start, end)
    context = {
        "o": data,
        "start": start,
        "end": end,
        "idle": data.by_kind.get(selectors.LineKind.IDLE),
        "unallocated": data.by_kind.get(selectors.LineKind.UNALLOCATED),
        "unmeasured": data.by_kind.get(selectors.LineKind.UNMEASURED),
        "daily_chart": charts.daily_cost(data.daily) if data.daily else None,
        "unit_chart": charts.cost_per_million(data.models, "model") if data.tokens else None,
    }
    return render(request, "dashboard/overview.html", context)
