"""Dashboard pages: parse the request, call selectors, render. No business logic here."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from costapp.attribution.costs import cost_report, top_rows
from costapp.attribution.query import (
    BASES,
    GRAINS,
    GROUPS,
    QueryError,
    ReportQuery,
    parse_hour,
    parse_query,
)
from costapp.attribution.units import unit_report
from costapp.core.access import Scope, scope_for, sees_whole_company, visible_teams
from costapp.sources.selectors import needing_attention
from costapp.whatif import recommendations

from . import charts
from .explanation import explanation, neighbour_hour
from .paging import paginate

# The overview's model and endpoint tables show this many rows, the rest summed in one row that
# links to the explorer's full, paginated table.
TABLE_ROWS = 20


def _weight(weight: Decimal) -> str:
    """The output token weight as the method sentence states it: 1, 1.5, not 1.000000."""
    return format(weight.normalize(), "f")


def _choice(value: str | None, choices, default: str) -> str:
    return value if value in choices else default


def _read(request) -> tuple[Scope, ReportQuery]:
    """The reader's scope and the report query of the request, narrowed to `team` if asked."""
    query = parse_query(request.GET)
    scope = scope_for(request.user).narrowed(query.team)
    if scope is None:
        # The same answer for a team that exists and one that does not: leads learn no names.
        raise QueryError("team", f"{query.team[:40]!r} is not among the teams you may see")
    return scope, query


def _query_error(request, template: str, error: QueryError, **extra) -> HttpResponse:
    """The page again, without figures, with the bad parameter named inline: a 400. `extra`:
    what the page needs to draw its heading and controls (its subject's name, say)."""
    context = {
        "error": error,
        "q": ReportQuery(),
        "start_text": request.GET.get("start", ""),
        "end_text": request.GET.get("end", ""),
        "grains": GRAINS,
        "dimensions": GROUPS,
        **extra,
    }
    return render(request, template, context, status=400)


@login_required
def overview(request):
    try:
        scope, query = _read(request)
    except QueryError as error:
        return _query_error(request, "dashboard/overview.html", error)
    report = cost_report(scope, query, top_series=charts.TOP_SERIES)
    context = {
        "o": report,
        "models": top_rows(report.models, TABLE_ROWS, report),
        "endpoints": top_rows(report.endpoints, TABLE_ROWS, report),
        "q": query,
        "w": _weight(report.output_weight),
        "currency": report.currency,
        "currencies": report.currencies,
        "start": query.start,
        "end": query.end,
        "daily_chart": charts.daily_cost(report.daily, report.currency, report.other_series)
        if report.daily
        else None,
        "unit_chart": charts.cost_per_million(report.models, "model", report.currency)
        if report.all_teams.tokens
        else None,
    }
    context["recommendations"] = recommendations.visible(scope)[:5]
    if scope.whole_company:
        # Figures are only as current as their sources: say so where finance reads them.
        context["sources_total"], context["sources_attention"] = needing_attention()
    return render(request, "dashboard/overview.html", context)


@login_required
def unit_economics(request):
    try:
        scope, query = _read(request)
    except QueryError as error:
        return _query_error(request, "dashboard/units.html", error)
    report = unit_report(scope, query)
    # Newest first, then by key; the chart draws every period, the table a page of them.
    by_key = sorted(report.periods, key=lambda row: row.key)
    try:
        period_page = paginate(request, sorted(by_key, key=lambda row: row.period, reverse=True))
    except QueryError as error:
        return _query_error(request, "dashboard/units.html", error)
    context = {
        "u": report,
        "period_page": period_page,
        "q": query,
        "w": _weight(report.output_weight),
        "currency": report.currency,
        "currencies": report.currencies,
        "start": query.start,
        "end": query.end,
        "grains": GRAINS,
        "dimensions": GROUPS,
        "chart": charts.unit_cost_over_time(report.periods, query.grain, report.currency)
        if report.periods
        else None,
    }
    return render(request, "dashboard/units.html", context)


@login_required
def explain(request):
    """The arithmetic behind one team's cost in one hour; the form to pick them."""
    basis = _choice(request.GET.get("basis"), BASES, "amortized")
    team, hour_text = request.GET.get("team", "").strip(), request.GET.get("hour", "").strip()
    context = {
        "basis": basis,
        "team": team,
        "hour_text": hour_text,
        "teams": visible_teams(request.user).values_list("slug", flat=True),
        "whole_company": sees_whole_company(request.user),
    }
    if hour_text:
        try:
            context["hour"] = hour = parse_hour(hour_text)
        except QueryError as error:
            context["error"] = f"Hour: {error.message}."
            return render(request, "dashboard/explain.html", context, status=400)
    if team and hour_text:
        found = explanation(request.user, team, hour, request.GET.get("currency"))
        if found is None:
            # Not "forbidden": a lead should not learn which other teams exist.
            raise Http404("no such team among yours")
        context.update(
            x=found,
            steps=found.steps(basis),
            currency=found.currency,
            currencies=found.currencies,
            previous_hour=neighbour_hour(hour, -1),
            next_hour=neighbour_hour(hour, +1),
        )
    return render(request, "dashboard/explain.html", context)
