"""Source pages: data freshness and the bills loaded, for finance and administrators."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from costapp.core.access import is_finance

from .selectors import attribution_problems, freshness, loaded_bills


@login_required
def freshness_page(request):
    if not is_finance(request.user):
        raise PermissionDenied("data freshness is for finance and administrators")
    context = {
        "rows": freshness(),
        "bills": loaded_bills(),
        "attribution_problems": attribution_problems(),
    }
    return render(request, "sources/freshness.html", context)
