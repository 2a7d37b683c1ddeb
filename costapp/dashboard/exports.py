"""CSV and Parquet downloads of the overview and units tables and of the allocations, with the
page's filters (the same report query and scope), streamed.

Every table reads the same selectors as its page, so a CSV holds the page's figures exactly,
unrounded (the page rounds for reading). Money columns name their currency and cost basis in
the header. The allocations and the units per-period rows are read a chunk at a time (a
server-side cursor; a month at a time), so a year of rows never sits in memory. A lead gets
their teams' rows only: the company's lines (idle, unmeasured, unallocated) and the pool tables
answer 404 to them, as the pages never show them.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from costapp.attribution import focus
from costapp.attribution.allocations import allocation_rows, chunks
from costapp.attribution.costs import CostRow, cost_report
from costapp.attribution.idle import idle_capacity
from costapp.attribution.models import ClosedPeriod
from costapp.attribution.periods import PeriodError, month_start, next_month, parse_month
from costapp.attribution.query import (
    QueryError,
    ReportQuery,
    currencies,
    parse_query,
    pick_currency,
    window,
)
from costapp.attribution.units import UnitCosts, token_weight, unit_costs
from costapp.core.access import Scope, is_finance, scope_for

# Rows per chunk written to the response: one write per chunk, not per row.
CHUNK_ROWS = 2000
# Cells a spreadsheet would run as a formula; names come from request logs, so never trusted.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def read(request) -> tuple[Scope, ReportQuery]:
    """The reader's scope and the request's report query, narrowed to `team` if asked."""
    query = parse_query(request.GET)
    scope = scope_for(request.user).narrowed(query.team)
    if scope is None:
        raise QueryError("team", f"{query.team[:40]!r} is not among the teams you may see")
    return scope, query


def cell(value) -> object:
    """A CSV cell: Decimals exactly in plain notation, times in ISO 8601 UTC, text that would
    start a formula behind a quote."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def csv_chunks(header: list[str], rows: Iterable[Iterable[list]]) -> Iterator[str]:
    """The CSV text of a header and chunks of rows, one string per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield buffer.getvalue()
    for chunk in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([cell(value) for value in row] for row in chunk)
        yield buffer.getvalue()


def csv_response(name: str, header: list[str], rows: Iterable[Iterable[list]]):
    response = StreamingHttpResponse(csv_chunks(header, rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def bad_request(error: QueryError) -> HttpResponse:
    return HttpResponse(f"{error.field}: {error.message}\n", status=400, content_type="text/plain")


def _in(currency: str, basis: str) -> str:
    return f"({currency}, {basis})"


# Overview tables ------------------------------------------------------------------------------


def _cost_table(scope: Scope, query: ReportQuery, which: str):
    report = cost_report(scope, query)
    money = _in(report.currency, query.basis)
    if which == "daily":
        header = ["day", "series", f"cost {money}"]
        rows = [
            [day, series, amount]
            for series, days in report.daily.items()
            for day, amount in sorted(days.items())
        ]
        return report, header, sorted(rows, key=lambda row: (row[0], row[1]))
    if which == "unallocated":
        header = ["resource_id", "service", "description", "on_gpu", f"unallocated {money}"]
        rows = [
            [item.resource_id, item.service, item.description, item.on_gpu, item.cost]
            for item in report.unallocated
        ]
        return report, header, rows
    label = {"teams": "team", "models": "model", "endpoints": "endpoint"}[which]
    header = [
        label, f"busy {money}", f"idle share {money}", f"cost {money}", "idle view",
        "requests", "input_tokens", "output_tokens",
        f"per 1M tokens fully loaded {money}", f"per 1M tokens busy only {money}",
    ]  # fmt: skip
    rows = [_cost_row(row, query) for row in getattr(report, which)]
    rows += [[row.label, row.cost, "", row.cost, query.idle] for row in report.company]
    return report, header, rows


def _cost_row(row: CostRow, query: ReportQuery) -> list:
    return [
        row.key,
        row.busy,
        row.idle if query.share_idle else "",
        row.cost,
        query.idle,
        row.requests,
        row.input_tokens,
        row.output_tokens,
        row.per_million_loaded,
        row.per_million_busy,
    ]


# Units tables ---------------------------------------------------------------------------------


def _unit_header(query: ReportQuery, money: str, with_period: bool) -> list[str]:
    header = [query.grain] if with_period else []
    return [
        *header,
        query.group_by, f"cost {money}", f"busy {money}", f"idle share {money}", "idle view",
        "idle shares withheld", "requests", "input_tokens", "output_tokens",
        f"per 1M tokens fully loaded {money}", f"per 1M tokens busy only {money}",
        f"per 1M input fully loaded {money}", f"per 1M input busy only {money}",
        f"per 1M output fully loaded {money}", f"per 1M output busy only {money}",
        f"per 1K requests fully loaded {money}", "busy GPU-hours", "idle GPU-hours",
        "GPU-hours per 1M tokens",
    ]  # fmt: skip


def _unit_row(row: UnitCosts, query: ReportQuery, with_period: bool) -> list:
    values = [row.period] if with_period else []
    return [
        *values,
        row.key, row.cost, row.busy, row.idle, query.idle, row.idle_withheld, row.requests,
        row.input_tokens, row.output_tokens, row.per_million_loaded, row.per_million_busy,
        row.per_million_input_loaded, row.per_million_input_busy,
        row.per_million_output_loaded, row.per_million_output_busy, row.per_thousand_requests,
        row.busy_gpu_hours, row.idle_gpu_hours, row.gpu_hours_per_million_tokens,
    ]  # fmt: skip


def _months(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) cut at UTC month starts: every hour, day and month falls in one piece."""
    cursor = start
    while cursor < end:
        following = month_start(next_month(cursor.date()))
        yield cursor, min(following, end)
        cursor = following


def _unit_table(scope: Scope, query: ReportQuery, which: str):
    present = currencies(scope, query)
    currency, _ = pick_currency(query, present)
    money = _in(currency, query.basis)
    span = window(query) if present else None
    common = dict(
        teams=scope.team_list,
        group_by=(query.group_by,),
        share_idle=query.share_idle,
        basis=query.basis,
        currency=currency,
        viewer=scope.viewer,
    )
    if which in ("idle-pools", "idle-teams"):
        header = [
            "pool" if which == "idle-pools" else "team", "GPU-hours", "idle GPU-hours",
            f"GPU cost {money}", f"idle cost {money}", "idle % of GPU-hours", "idle % of cost",
        ]  # fmt: skip
        if span is None:
            return currency, header, []
        money_args = dict(basis=query.basis, currency=currency)
        if which == "idle-pools":
            capacity = idle_capacity(*span, by="pool", **money_args)
        else:
            capacity = idle_capacity(
                *span, by="team", teams=scope.team_list, viewer=scope.viewer, **money_args
            )
        rows = [
            [c.key, c.gpu_hours, c.idle_gpu_hours, c.gpu_cost, c.idle_cost, c.idle_hours_pct,
             c.idle_cost_pct]
            for c in capacity
        ]  # fmt: skip
        return currency, header, rows
    with_period = which == "units-periods"
    header = _unit_header(query, money, with_period)
    if span is None:
        return currency, header, []
    if not with_period:
        return currency, header, [_unit_row(r, query, False) for r in unit_costs(*span, **common)]
    weight = token_weight(*span)

    def periods() -> Iterator[list[list]]:
        # A month at a time, each row with the whole period's output weight, as the page.
        for piece in _months(*span):
            rows = unit_costs(*piece, period=query.grain, **common)
            yield [_unit_row(replace(r, output_weight=weight), query, True) for r in rows]

    return currency, header, periods()


OVERVIEW_TABLES = ("teams", "models", "endpoints", "daily", "unallocated")
UNITS_TABLES = ("units-summary", "units-periods", "idle-teams", "idle-pools")
FINANCE_TABLES = ("unallocated", "idle-pools")


@login_required
@require_GET
def table(request, name: str):
    """GET /exports/<table>.csv with the page's query string."""
    if name not in OVERVIEW_TABLES + UNITS_TABLES:
        raise Http404("no such table")
    try:
        scope, query = read(request)
    except QueryError as error:
        return bad_request(error)
    if name in FINANCE_TABLES and not scope.whole_company:
        raise Http404("no such table among yours")
    if name in OVERVIEW_TABLES:
        report, header, rows = _cost_table(scope, query, name)
        currency = report.currency
        chunked: Iterable = [rows]
    else:
        currency, header, rows = _unit_table(scope, query, name)
        chunked = [rows] if isinstance(rows, list) else rows
    return csv_response(f"{name}-{currency}-{query.basis}", header, chunked)


# Allocations -----------------------------------------------------------------------------------

_ARROW = {
    "hour": pa.timestamp("us", tz="UTC"),
    "cost": pa.decimal128(28, 10),
    "requests": pa.int64(),
    "input_tokens": pa.int64(),
    "output_tokens": pa.int64(),
    "gpu_hours": pa.decimal128(20, 10),
    "weight": pa.decimal128(38, 10),
    "weight_total": pa.decimal128(38, 10),
    "utilization": pa.decimal128(7, 6),
}


def _allocations(request, render: Callable):
    try:
        scope, query = read(request)
    except QueryError as error:
        return bad_request(error)
    return render(allocation_rows(scope, query), query)


def _csv_allocations(rows, query: ReportQuery):
    if rows is None:
        return csv_response("allocations", ["hour"], [])
    header = [
        f"cost {_in(rows.currency, rows.basis)}" if name == "cost" else name
        for name in rows.columns
    ]
    name = f"allocations-{rows.currency}-{rows.basis}"
    return csv_response(name, header, chunks(rows.sql, rows.params, CHUNK_ROWS))


def _parquet_allocations(rows, query: ReportQuery):
    """A Parquet file written a row group per chunk to a temporary file, then streamed."""
    columns = rows.columns if rows is not None else ("hour",)
    schema = pa.schema(
        [pa.field(name, _ARROW.get(name, pa.string())) for name in columns],
        metadata={
            "currency": rows.currency if rows else "",
            "basis": rows.basis if rows else query.basis,
        },
    )
    # Handed to FileResponse, which closes it when sent; unlinked already, so never left over.
    spool = tempfile.TemporaryFile()  # noqa: SIM115
    with pq.ParquetWriter(spool, schema) as writer:
        for chunk in chunks(rows.sql, rows.params, CHUNK_ROWS) if rows else []:
            arrays = [
                pa.array([row[i] for row in chunk], type=schema.field(i).type)
                for i in range(len(columns))
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
    spool.seek(0)
    name = f"allocations-{rows.currency}-{rows.basis}.parquet" if rows else "allocations.parquet"
    return FileResponse(
        spool, as_attachment=True, filename=name, content_type="application/vnd.apache.parquet"
    )


@login_required
@require_GET
def allocations_csv(request):
    return _allocations(request, _csv_allocations)


@login_required
@require_GET
def allocations_parquet(request):
    return _allocations(request, _parquet_allocations)


# FOCUS -----------------------------------------------------------------------------------------


@login_required
@require_GET
def focus_allocation(request, month: str):
    """GET /exports/focus-allocation/<YYYY-MM>.csv: a closed month's allocations as FOCUS 1.3
    rows. Finance only: each row's ratio of its resource-hour is every team's figure."""
    if not is_finance(request.user):
        raise Http404("no such export among yours")
    try:
        first = parse_month(month)
    except PeriodError as error:
        return bad_request(QueryError("month", str(error)))
    if not ClosedPeriod.objects.filter(month=first).exists():
        return HttpResponse(
            f"month: {first:%Y-%m} is open; close the month first (/periods/), so the export "
            "cannot change after it is sent\n",
            status=400,
            content_type="text/plain",
        )
    period = (month_start(first), month_start(next_month(first)))
    name = f"focus-allocation-{first:%Y-%m}"
    return csv_response(name, list(focus.COLUMNS), focus.focus_rows(period))
