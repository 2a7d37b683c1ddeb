"""Dashboard pages: parse the request, call selectors, render. No business logic here."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def overview(request):
    return render(request, "dashboard/overview.html", {})
