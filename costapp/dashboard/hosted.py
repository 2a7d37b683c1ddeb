"""Hosted models' reconciliation page and its CSV (finance only): logged tokens at list price
against the bill, per model and day, with the gap and its likely cause
(costapp.attribution.reconcile). A lead gets a 404: the page is the company's bill."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from costapp.attribution.query import QueryError, parse_query, window
from costapp.attribution.reconcile import MATCH_TOLERANCE, Reconciliation, reconcile
from costapp.core.access import scope_for

from . import charts
from .exports import bad_request, csv_response
from .views import _query_error

TEMPLATE = "dashboard/hosted.html"
HEADER = [
    "day",
    "model key",
    "model",
    "providers",
    "currency",
    "requests",
    "input tokens",
    "output tokens",
    "billed tokens",
    "list price spend",
    "billed",
    "gap",
    "gap %",
    "likely cause",
]


def _finance_only(request) -> None:
    if not scope_for(request.user).whole_company:
        raise Http404("no such page")


def _reconciliation(request) -> Reconciliation | None:
    span = window(parse_query(request.GET))
    return reconcile(*span) if span else None


@login_required
@require_GET
def page(request):
    _finance_only(request)
    try:
        query = parse_query(request.GET)
        found = _reconciliation(request)
    except QueryError as error:
        return _query_error(request, TEMPLATE, error)
    daily = found.daily if found else {}
    currency = query.currency if query.currency in daily else next(iter(sorted(daily)), None)
    context = {
        "q": query,
        "start": found.start.date() if found else query.start,
        "end": query.end,
        "r": found,
        "currency": currency,
        "tolerance": MATCH_TOLERANCE * 100,
        "chart": charts.billed_vs_list(daily[currency], currency) if currency else None,
    }
    return render(request, TEMPLATE, context)


@login_required
@require_GET
def csv(request):
    _finance_only(request)
    try:
        found = _reconciliation(request)
    except QueryError as error:
        return bad_request(error)
    rows = [
        [
            row.day,
            row.key,
            row.model,
            " ".join(sorted(row.providers)),
            row.currency,
            row.requests,
            row.input_tokens,
            row.output_tokens,
            row.billed_tokens,
            row.list_spend,
            row.billed,
            row.gap,
            row.gap_pct,
            row.cause,
        ]
        for row in (found.days if found else [])
    ]
    return csv_response("hosted-reconciliation", HEADER, [rows])
