"""The pages of one subject — a team, a model, an endpoint, the GPU fleet — and the explorer:
parse the report query (and the slice), call the reads in costapp.attribution, render.

Who may open what: a team page is for finance and the team's members (another team is a 404,
the same as a team that does not exist); a model or endpoint page shows a lead only their own
teams' use of it (a name only other teams use is a 404); the fleet is finance's (403).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render

from costapp.alerts.selectors import visible_budgets
from costapp.alerts.status import budget_status
from costapp.attribution import explorer as slices
from costapp.attribution.costs import cost_report, top_rows
from costapp.attribution.explorer import (
    DIMENSIONS,
    parse_spec,
    slice_rows,
    sort_columns,
)
from costapp.attribution.fleet import fleet
from costapp.attribution.query import GRAINS, QueryError, currencies, pick_currency, window
from costapp.attribution.subjects import exists_for, team_report, usage_report
from costapp.core.access import scope_for
from costapp.whatif import recommendations

from . import charts
from .paging import paginate
from .views import TABLE_ROWS, _query_error, _read, _weight

NUMERIC_COLUMNS = {
    "cost": "Cost",
    "idle": "Idle share",
    "requests": "Requests",
    "tokens": "Tokens",
    "gpu_hours": "GPU-hours",
    "per_million": "per 1M tokens, fully loaded",
}


def _common(query, currency: str, present: list[str]) -> dict:
    return {
        "q": query,
        "currency": currency,
        "currencies": present,
        "start": query.start,
        "end": query.end,
        "grains": GRAINS,
    }


@login_required
def teams(request):
    """Every team the reader may see, with its cost in the period, each linked to its page."""
    try:
        scope, query = _read(request)
    except QueryError as error:
        return _query_error(request, "dashboard/teams.html", error)
    report = cost_report(scope, query)
    context = _common(query, report.currency, report.currencies)
    context.update(o=report, w=_weight(report.output_weight))
    return render(request, "dashboard/teams.html", context)


@login_required
def team(request, team: str):
    scope = scope_for(request.user).narrowed(team)
    # Not "forbidden": a lead learns nothing of which other teams exist.
    if scope is None or not exists_for(scope, "team", team):
        raise Http404("no such team among yours")
    try:
        _, query = _read(request)
        if query.team and query.team != team:
            raise QueryError("team", "the page's team is in its address; leave team= out")
    except QueryError as error:
        return _query_error(request, "dashboard/team.html", error, subject=team)
    report = team_report(scope, query, team)
    costs = report.costs
    context = _common(query, costs.currency, costs.currencies)
    budgets = visible_budgets(request.user).filter(scope_kind="team", scope_value=team)
    context.update(
        t=report,
        o=costs,
        # As on the overview: the top rows and one linking to the explorer for the rest.
        models=top_rows(costs.models, TABLE_ROWS, costs),
        endpoints=top_rows(costs.endpoints, TABLE_ROWS, costs),
        subject=team,
        w=_weight(costs.output_weight),
        budgets=[budget_status(budget) for budget in budgets.order_by("name")],
        recommendations=recommendations.visible(scope, team)[:5],
        trend_chart=charts.daily_by(report.trend, "model", costs.currency)
        if report.trend
        else None,
        unit_chart=charts.cost_per_million(costs.models, "model", costs.currency)
        if costs.all_teams.tokens
        else None,
    )
    return render(request, "dashboard/team.html", context)


def _usage(request, dimension: str, name: str):
    if not name:
        raise Http404(f"no {dimension} named")
    reader = scope_for(request.user)
    if not exists_for(reader, dimension, name):
        raise Http404(f"no such {dimension} among yours")
    template = "dashboard/usage.html"
    try:
        scope, query = _read(request)
    except QueryError as error:
        return _query_error(request, template, error, subject=name, dimension=dimension)
    report = usage_report(scope, query, dimension, name)
    periods = list(reversed(report.periods))
    try:
        page = paginate(request, periods)
    except QueryError as error:
        return _query_error(request, template, error, subject=name, dimension=dimension)
    context = _common(query, report.currency, report.currencies)
    context.update(
        r=report,
        w=_weight(report.total.output_weight) if report.total else "1",
        subject=name,
        dimension=dimension,
        period_page=page,
        chart=charts.unit_cost_over_time(report.periods, query.grain, report.currency)
        if report.total and report.total.tokens
        else None,
        volume_chart=charts.volume_over_time(report.periods, query.grain)
        if report.periods
        else None,
    )
    return render(request, template, context)


@login_required
def model(request, name: str):
    return _usage(request, "model", name)


@login_required
def endpoint(request):
    # Endpoint names are paths ("/search/answer"): a query parameter carries them intact
    # through proxies that merge slashes, where a path segment would not.
    return _usage(request, "endpoint", (request.GET.get("name") or "").strip())


@login_required
def fleet_page(request):
    scope = scope_for(request.user)
    if not scope.whole_company:
        raise PermissionDenied("the GPU fleet is for finance")
    try:
        _, query = _read(request)
        if query.team:
            raise QueryError("team", "the fleet is the whole company's; leave team= out")
    except QueryError as error:
        return _query_error(request, "dashboard/fleet.html", error)
    present = currencies(scope, query)
    currency, missing = pick_currency(query, present)
    pool = (request.GET.get("pool") or "").strip() or None
    span = window(query)
    found = fleet(span, query.basis, currency, pool) if span and present else None
    context = _common(query, currency, present)
    context.update(
        f=found,
        pool=pool,
        currency_missing=missing,
        heatmap=charts.utilization_heatmap(found.heatmap) if found and found.heatmap.days else None,
    )
    return render(request, "dashboard/fleet.html", context)


def _columns(request, spec) -> list[dict]:
    """The explorer's sortable headings: each links to sorting by it (descending first for
    figures, ascending for names), the current one flipping its direction."""
    labels = {d: d.capitalize() for d in DIMENSIONS} | NUMERIC_COLUMNS
    columns = []
    for name in sort_columns(spec.dimensions):
        if name not in labels:
            continue
        current = spec.sort.lstrip("-") == name
        descending = spec.sort.startswith("-")
        if current:
            target = name if descending else f"-{name}"
        else:
            target = name if name in DIMENSIONS else f"-{name}"
        columns.append(
            dict(
                name=name,
                label=labels[name],
                sort=target,
                current=("descending" if descending else "ascending") if current else "",
                numeric=name not in DIMENSIONS,
            )
        )
    return columns


@login_required
def explorer(request):
    try:
        scope, query = _read(request)
        spec = parse_spec(request.GET)
    except QueryError as error:
        context = {"dimensions": DIMENSIONS, "chosen": ()}
        return _query_error(request, "dashboard/explorer.html", error, **context)
    present = currencies(scope, query)
    currency, missing = pick_currency(query, present)
    span = window(query)
    found = None
    if span and present:
        try:
            found = slice_rows(scope, query, span, currency, spec, slices.PAGE_ROWS)
        except QueryError as error:
            return _query_error(request, "dashboard/explorer.html", error, dimensions=DIMENSIONS)
    context = _common(query, currency, present)
    context.update(
        s=found,
        spec=spec,
        scope=scope,
        currency_missing=missing,
        dimensions=DIMENSIONS,
        chosen=spec.dimensions,
        named=any(d in spec.dimensions for d in ("team", "model", "endpoint")),
        columns=_columns(request, spec),
        filters=spec.filters,
    )
    return render(request, "dashboard/explorer.html", context)
