"""Dashboard pages: parse the request, call selectors, render. No business logic here."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from costapp.core.access import is_finance, sees_whole_company, visible_teams
from costapp.sources.selectors import needing_attention

from . import charts, selectors
from .explanation import explanation
from .params import ParamError, parse_hour, parse_period
from .unit_economics import DIMENSIONS, GRAINS, units


def _bad_request(request, error: ParamError) -> HttpResponse:
    """A 400 page that names the query parameter and what to send instead."""
    context = {"field": error.field, "message": error.message, "path": request.path}
    return render(request, "dashboard/bad_request.html", context, status=400)


def _choice(value: str | None, choices, default: str) -> str:
    return value if value in choices else default


@login_required
def overview(request):
    basis = _choice(request.GET.get("basis"), selectors.BASES, "amortized")
    share_idle = selectors.share_idle_param(request.GET.get("idle"))
    try:
        period = parse_period(request.GET.get("start"), request.GET.get("end"))
    except ParamError as error:
        return _bad_request(request, error)
    start, end = period.start, period.end
    currency = request.GET.get("currency")
    data = selectors.overview(
        request.user, basis, start, end, share_idle=share_idle, currency=currency
    )
    context = {
        "o": data,
        "currency": data.currency,
        "currencies": data.currencies,
        "start": start,
        "end": end,
        "idle": data.by_kind.get(selectors.LineKind.IDLE),
        "unallocated": data.by_kind.get(selectors.LineKind.UNALLOCATED),
        "unmeasured": data.by_kind.get(selectors.LineKind.UNMEASURED),
        "daily_chart": charts.daily_cost(data.daily, data.currency) if data.daily else None,
        "unit_chart": charts.cost_per_million(data.models, "model", data.currency)
        if data.tokens
        else None,
    }
    if is_finance(request.user):
        # Figures are only as current as their sources: say so where finance reads them.
        context["sources_total"], context["sources_attention"] = needing_attention()
    return render(request, "dashboard/overview.html", context)


@login_required
def unit_economics(request):
    basis = _choice(request.GET.get("basis"), selectors.BASES, "amortized")
    try:
        period = parse_period(request.GET.get("start"), request.GET.get("end"))
    except ParamError as error:
        return _bad_request(request, error)
    data = units(
        request.user,
        basis,
        period.start,
        period.end,
        by=_choice(request.GET.get("by"), DIMENSIONS, "team"),
        grain=_choice(request.GET.get("grain"), GRAINS, "day"),
        share_idle=selectors.share_idle_param(request.GET.get("idle")),
        currency=request.GET.get("currency"),
    )
    context = {
        "u": data,
        "currency": data.currency,
        "currencies": data.currencies,
        "start": period.start,
        "end": period.end,
        "grains": GRAINS,
        "dimensions": DIMENSIONS,
        "chart": charts.unit_cost_over_time(data.periods, data.by, data.grain, data.currency)
        if data.periods
        else None,
    }
    return render(request, "dashboard/units.html", context)


@login_required
def explain(request):
    """The arithmetic behind one team's cost in one hour; the form to pick them."""
    basis = _choice(request.GET.get("basis"), selectors.BASES, "amortized")
    team, hour_text = request.GET.get("team", "").strip(), request.GET.get("hour", "").strip()
    context = {
        "basis": basis,
        "team": team,
        "hour_text": hour_text,
        "teams": visible_teams(request.user).values_list("slug", flat=True),
        "whole_company": sees_whole_company(request.user),
    }
    if team and hour_text:
        try:
            hour = parse_hour(hour_text)
        except ParamError as error:
            context["error"] = f"Hour: {error.message}."
            return render(request, "dashboard/explain.html", context, status=400)
        found = explanation(request.user, team, hour, request.GET.get("currency"))
        if found is None:
            # Not "forbidden": a lead should not learn which other teams exist.
            raise Http404("no such team among yours")
        context.update(
            x=found,
            hour=hour,
            steps=found.steps(basis),
            currency=found.currency,
            currencies=found.currencies,
        )
    return render(request, "dashboard/explain.html", context)
