"""GET /api/v1/costs, /units, /idle, /allocations, /teams, /models, /endpoints and /pools: the
figures of the overview and units pages as JSON, from the same selectors, the same report query
(costapp.attribution.query.parse_query: start, end, basis, currency, idle, team, grain, by) and
the same scope (costapp.core.access). Money is an exact decimal string. A team the caller may
not see answers 404, as one that does not exist; a bad parameter 400 naming it. A lead never
gets the company's lines (idle, unmeasured, unallocated) or the pools' capacity.
"""

from __future__ import annotations

from django.http import JsonResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from costapp.attribution import allocations as rows
from costapp.attribution.breakdown import costs_by
from costapp.attribution.costs import CostReport, CostRow, cost_report
from costapp.attribution.idle import Capacity
from costapp.attribution.query import QueryError, ReportQuery, parse_query
from costapp.attribution.units import UnitCosts, unit_report
from costapp.core.access import Scope, scope_for, visible_teams

from .errors import bad_request, not_found
from .negotiation import JsonOnly
from .pagination import Pages
from .schemas import ERROR, MONEY
from .views import LedgerEncoder

COST_GROUPS = ("team", "model", "endpoint", "pool", "day")

_QUERY = [
    OpenApiParameter("start", str, description="first day, YYYY-MM-DD (default: the data's first)"),
    OpenApiParameter("end", str, description="last day, YYYY-MM-DD (default: the data's last)"),
    OpenApiParameter("basis", str, enum=["amortized", "billed"], description="cost basis"),
    OpenApiParameter("currency", str, description="ISO 4217 (default: the biggest)"),
    OpenApiParameter("idle", str, enum=["separate", "share"], description="idle view"),
    OpenApiParameter("team", str, description="one team's figures (404 if not yours)"),
]  # fmt: skip
_PAGE = [
    OpenApiParameter("limit", int, description="rows per page, 1 to 1000 (default 100)"),
    OpenApiParameter("offset", int, description="rows to skip"),
]
_REPORT = {
    "currency": {"type": "string"},
    "currencies": {"type": "array", "items": {"type": "string"}},
    "basis": {"type": "string"},
    "idle": {"type": "string"},
    "start": {"type": "string", "format": "date", "nullable": True},
    "end": {"type": "string", "format": "date", "nullable": True},
}
_ROW = {"type": "object", "additionalProperties": True, "properties": {"key": {"type": "string"}}}
_ROWS = {"type": "array", "items": _ROW}
_LIST = {
    "type": "object",
    "required": ["count", "results"],
    "properties": {
        "count": {"type": "integer"},
        "next": {"type": "string", "nullable": True},
        "previous": {"type": "string", "nullable": True},
        "results": _ROWS,
    },
}
_FAILURES = {400: ERROR, 401: ERROR, 404: ERROR}


def _read(request, groups: tuple[str, ...] | None = None) -> tuple[Scope, ReportQuery, str]:
    """The caller's scope, the report query and the grouping `by` (checked against `groups`
    here when it has more than the report query's)."""
    params = request.query_params.copy()
    by = (params.get("by") or "").strip() or "team"
    if groups is not None:
        if by not in groups:
            raise bad_request(f"{by[:40]!r} is not one of {', '.join(groups)}", "by")
        params.pop("by", None)
    try:
        query = parse_query(params)
    except QueryError as error:
        raise bad_request(error.message, error.field) from None
    scope = scope_for(request.user).narrowed(query.team)
    if scope is None:
        raise not_found("no such team among those you may see")
    return scope, query, by if groups is not None else query.group_by


def _json(body: dict) -> JsonResponse:
    return JsonResponse(body, encoder=LedgerEncoder)


def _head(report, query: ReportQuery) -> dict:
    return {
        "currency": report.currency,
        "currencies": report.currencies,
        "basis": query.basis,
        "idle": query.idle,
        "start": query.start,
        "end": query.end,
    }


def cost_row(row: CostRow) -> dict:
    return {
        "key": row.key,
        "cost": row.cost,
        "busy": row.busy,
        "idle_share": row.idle,
        "requests": row.requests,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "per_1m_tokens_loaded": row.per_million_loaded,
        "per_1m_tokens_busy": row.per_million_busy,
    }


def _grouped(scope: Scope, report: CostReport, by: str) -> list[CostRow]:
    if by in ("pool", "day"):
        return costs_by(scope, report, by)
    return {"team": report.teams, "model": report.models, "endpoint": report.endpoints}[by]


def _paged(request, view, items) -> JsonResponse:
    pages = Pages()
    page = pages.paginate_queryset(items, request, view=view)
    return _json(pages.get_paginated_response(page).data)


class Costs(APIView):
    permission_classes = [IsAuthenticated]
    content_negotiation_class = JsonOnly

    @extend_schema(
        summary="Costs grouped by team, model, endpoint, pool or day, with totals",
        description=(
            "The overview's figures: each row's cost in the idle view (busy, plus its idle "
            "share under share-idle), tokens and cost per 1M tokens. `carried` is the rows' "
            "sum; finance also gets the company's own lines and `total` = carried + company."
        ),
        parameters=[
            *_QUERY,
            OpenApiParameter("by", str, enum=list(COST_GROUPS), description="grouping"),
        ],
        responses={
            200: {
                "type": "object",
                "properties": {
                    **_REPORT,
                    "by": {"type": "string"},
                    "rows": _ROWS,
                    "carried": MONEY,
                    "company": _ROWS,
                    "total": MONEY,
                },
            },
            **_FAILURES,
        },
    )
    def get(self, request) -> JsonResponse:
        scope, query, by = _read(request, COST_GROUPS)
        report = cost_report(scope, query, daily=False)
        grouped = _grouped(scope, report, by)
        return _json(
            {
                **_head(report, query),
                "by": by,
                "rows": [cost_row(row) for row in grouped],
                "carried": report.carried,
                "company": [
                    {"key": row.key, "label": row.label, "cost": row.cost} for row in report.company
                ],
                "total": report.total,
                "idle_shares_withheld": report.idle_withheld,
            }
        )


def unit_row(row: UnitCosts) -> dict:
    return {
        "key": row.key,
        "period": row.period,
        "cost": row.cost,
        "busy": row.busy,
        "idle_share": row.idle,
        "idle_shares_withheld": row.idle_withheld,
        "requests": row.requests,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "per_1m_tokens_loaded": row.per_million_loaded,
        "per_1m_tokens_busy": row.per_million_busy,
        "per_1m_input_loaded": row.per_million_input_loaded,
        "per_1m_output_loaded": row.per_million_output_loaded,
        "per_1k_requests_loaded": row.per_thousand_requests,
        "gpu_hours": row.gpu_hours,
        "gpu_hours_per_1m_tokens": row.gpu_hours_per_million_tokens,
    }


class Units(APIView):
    permission_classes = [IsAuthenticated]
    content_negotiation_class = JsonOnly

    @extend_schema(
        summary="Unit costs: cost per 1M tokens and per 1K requests, fully loaded and busy only",
        description=(
            "`summary` over the whole period by `by`; the per-`grain` rows are paginated in "
            "`results`, oldest first."
        ),
        parameters=[
            *_QUERY,
            *_PAGE,
            OpenApiParameter("by", str, enum=["team", "model", "endpoint"]),
            OpenApiParameter("grain", str, enum=["hour", "day", "month"]),
        ],
        responses={
            200: {**_LIST, "properties": {**_LIST["properties"], "summary": _ROWS}},
            **_FAILURES,
        },
    )
    def get(self, request) -> JsonResponse:
        scope, query, _ = _read(request)
        report = unit_report(scope, query)
        pages = Pages()
        page = pages.paginate_queryset(report.periods, request, view=self)
        body = pages.get_paginated_response([unit_row(row) for row in page]).data
        body = {
            **_head(report, query),
            "by": query.group_by,
            "grain": query.grain,
            "summary": [unit_row(row) for row in report.summary],
            **body,
        }
        return _json(body)


def capacity(row: Capacity) -> dict:
    return {
        "key": row.key,
        "gpu_hours": row.gpu_hours,
        "idle_gpu_hours": row.idle_gpu_hours,
        "gpu_cost": row.gpu_cost,
        "idle_cost": row.idle_cost,
        "idle_hours_pct": row.idle_hours_pct,
        "idle_cost_pct": row.idle_cost_pct,
    }


class Idle(APIView):
    permission_classes = [IsAuthenticated]
    content_negotiation_class = JsonOnly

    @extend_schema(
        summary="Idle capacity: by team as if shared back; by pool and company (finance)",
        parameters=_QUERY,
        responses={
            200: {
                "type": "object",
                "properties": {
                    **_REPORT,
                    "teams": _ROWS,
                    "pools": _ROWS,
                    "company": {**_ROW, "nullable": True},
                },
            },
            **_FAILURES,
        },
    )
    def get(self, request) -> JsonResponse:
        scope, query, _ = _read(request)
        report = unit_report(scope, query)
        return _json(
            {
                **_head(report, query),
                "teams": [capacity(row) for row in report.teams_idle],
                "pools": [capacity(row) for row in report.pools],
                "company": capacity(report.org) if report.org else None,
                "idle_shares_withheld": report.idle_withheld,
            }
        )


class _Rows:
    """Allocation rows as the paginator takes them: a count and a slice, each one query."""

    def __init__(self, read: rows.RowsQuery | None):
        self.read = read

    def count(self) -> int:
        return rows.count(self.read) if self.read else 0

    def __getitem__(self, part: slice) -> list[dict]:
        if self.read is None:
            return []
        return rows.page(self.read, part.stop - part.start, part.start)


class Allocations(APIView):
    permission_classes = [IsAuthenticated]
    content_negotiation_class = JsonOnly

    @extend_schema(
        summary="The stored allocation rows, oldest first, paginated",
        description=(
            "Finance: every row with its utilization and split weights. A lead: the usage and "
            "shared rows of their teams, without the hour's utilization or weight total (which "
            "with one other team on the resource-hour would give that team's figures)."
        ),
        parameters=[*_QUERY, *_PAGE],
        responses={200: _LIST, **_FAILURES},
    )
    def get(self, request) -> JsonResponse:
        scope, query, _ = _read(request)
        return _paged(request, self, _Rows(rows.allocation_rows(scope, query)))


class Teams(APIView):
    permission_classes = [IsAuthenticated]
    content_negotiation_class = JsonOnly

    @extend_schema(
        summary="The teams you may see", parameters=_PAGE, responses={200: _LIST, **_FAILURES}
    )
    def get(self, request) -> JsonResponse:
        teams = visible_teams(request.user).order_by("slug").values("slug", "name")
        return _paged(request, self, list(teams))


def _named(by: str, summary: str):
    class Named(APIView):
        permission_classes = [IsAuthenticated]
        content_negotiation_class = JsonOnly

        @extend_schema(
            summary=summary,
            description="With each one's cost in the period (as GET /costs?by=" + by + ").",
            parameters=[*_QUERY, *_PAGE],
            responses={200: _LIST, **_FAILURES},
        )
        def get(self, request) -> JsonResponse:
            scope, query, _ = _read(request)
            report = cost_report(scope, query, daily=False)
            grouped = [cost_row(row) for row in _grouped(scope, report, by)]
            return _paged(request, self, grouped)

    Named.__name__ = Named.__qualname__ = f"{by.title()}s"
    return Named


Models = _named("model", "The models your teams' costs ran on")
Endpoints = _named("endpoint", "The endpoints your teams' costs ran on")
Pools = _named("pool", "The GPU pools your teams' costs ran on")
