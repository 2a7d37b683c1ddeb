"""Source pages: data freshness and the bills loaded, for finance and administrators.

The bills restated for a closed month come from costapp.attribution.periods, which holds what
was closed. The import runs from sources to attribution, the one direction between the two
rooms: attribution reads ingest's tables and never imports sources, while the tasks that poll
sources enqueue attribution's (costapp.attribution.tasks)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from costapp.attribution.periods import restated_bills
from costapp.core.access import is_finance

from .selectors import attribution_problems, freshness, invoices, loaded_bills


@login_required
def freshness_page(request):
    if not is_finance(request.user):
        raise PermissionDenied("data freshness is for finance and administrators")
    context = {
        "rows": freshness(),
        "bills": loaded_bills(),
        "invoices": invoices(),
        "attribution_problems": attribution_problems(),
        "restated": restated_bills(),
    }
    return render(request, "sources/freshness.html", context)
