"""Slices: the ledger grouped by any of team x model x endpoint x pool x period, sorted and paged
in SQL, for the explorer and for the team, model and endpoint pages.

A slice reads the same parts as `costs.cost_report` — the stored lines the scope may see plus
each key's share of its pools' idle (less the shares withheld from a lead) — and groups them in
Postgres, so a year of hours never reaches Python. Finance's slices also carry the company's own
lines (idle nobody carries in the view, unmeasured, unallocated) as rows of their own (`line`),
so the sum of a slice's cost column is the overview's headline. Every page of a slice carries
the totals over all its rows (window functions over the grouped rows, before LIMIT), so a
paged table still ends in the slice's total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from costapp.core.access import Scope
from costapp.money import ZERO

from . import rollups
from .idle import fetch, idle_ctes, idle_params
from .query import GRAINS, QueryError, ReportQuery
from .units import UnitFigures, token_weight

# The dimensions a slice groups by; "day" is the time dimension at the slice's grain.
DIMENSIONS = ("team", "model", "endpoint", "pool", "day")
FILTERS = ("model", "endpoint", "pool")  # the team filter is the report query's `team`
PAGE_ROWS = 50
MAX_PAGE = 100_000  # far past any real slice; keeps OFFSET arithmetic small
LINE_LABELS = {"idle": "Idle", "unmeasured": "Unmeasured", "unallocated": "Unallocated"}
_MEASURES = ("busy", "idle", "requests", "input_tokens", "output_tokens")
_MEASURES += ("busy_gpu_hours", "idle_gpu_hours")


@dataclass(frozen=True, kw_only=True)
class SliceRow(UnitFigures):
    """One group of a slice. `line` is "" for what teams carry, else the company line it is
    (finance only: "idle", "unmeasured", "unallocated"); for those `busy` is the line's cost."""

    team: str = ""
    model: str = ""
    endpoint: str = ""
    pool: str = ""
    period: datetime | date | None = None
    line: str = ""
    busy_gpu_hours: Decimal = ZERO
    idle_gpu_hours: Decimal = ZERO
    first_hour: datetime | None = None  # the row's first hour of team cost: where explain opens
    key: str = ""  # the first dimension's value, for charts that draw one series per key

    @property
    def company(self) -> bool:
        return bool(self.line)

    @property
    def label(self) -> str:
        return LINE_LABELS.get(self.line, self.line)

    @property
    def gpu_hours(self) -> Decimal:
        """Busy GPU-hours, plus the idle share's under share-idle."""
        return self.busy_gpu_hours + (self.idle_gpu_hours if self.share_idle else ZERO)


@dataclass(frozen=True)
class Slice:
    """A page of a slice's rows with the totals over all of them."""

    dimensions: tuple[str, ...]
    sort: str
    rows: list[SliceRow]
    total: SliceRow
    count: int  # rows in the whole slice
    page: int = 1
    page_rows: int | None = PAGE_ROWS

    @property
    def pages(self) -> int:
        if not self.page_rows:
            return 1
        return max(1, -(-self.count // self.page_rows))

    @property
    def first_index(self) -> int:
        return (self.page - 1) * (self.page_rows or 0) + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.rows) - 1 if self.rows else 0


@dataclass(frozen=True)
class SliceSpec:
    """What to slice: dimensions (in order), filters on model/endpoint/pool, the sort (a column
    name, "-" first for descending), the page, and the time dimension's grain."""

    dimensions: tuple[str, ...] = ("team",)
    filters: dict[str, str] = field(default_factory=dict)
    sort: str = "-cost"
    page: int = 1
    grain: str = "day"


def parse_spec(params, default_dimensions: tuple[str, ...] = ("team",)) -> SliceSpec:
    """The slice of request parameters `dims` (repeated or comma-separated), `model`,
    `endpoint`, `pool`, `sort` and `page`; QueryError names the bad one."""
    given = params.getlist("dims") if hasattr(params, "getlist") else [params.get("dims") or ""]
    names = [name.strip() for value in given for name in value.split(",") if name.strip()]
    for name in names:
        if name not in DIMENSIONS:
            raise QueryError("dims", f"{name[:40]!r} is not one of {', '.join(DIMENSIONS)}")
    dimensions = tuple(dict.fromkeys(names)) or default_dimensions
    filters = {name: params[name] for name in FILTERS if (params.get(name) or "").strip()}
    sort = (params.get("sort") or "").strip() or "-cost"
    if sort.lstrip("-") not in sort_columns(dimensions):
        choices = ", ".join(sort_columns(dimensions))
        raise QueryError("sort", f"{sort[:40]!r} is not one of {choices} (- first: descending)")
    return SliceSpec(dimensions, filters, sort, parse_page(params.get("page")))


def parse_page(value: str | None, field_name: str = "page") -> int:
    """A page number from 1; blank is the first page."""
    text = (value or "").strip()
    if not text:
        return 1
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise QueryError(
            field_name, f"{text[:20]!r} is not a page number (expected 1 to {MAX_PAGE})"
        )
    return int(text)


_KEYS = {
    "team": "team",
    "model": "model",
    "endpoint": "endpoint",
    "pool": "pool",
    "day": "period",
}
_NUMERIC = {
    "cost": None,  # busy, or busy + idle share under share-idle: set per query
    "busy": "busy",
    "idle": "idle",
    "requests": "requests",
    "tokens": "input_tokens + output_tokens",
    "gpu_hours": None,
    "per_million": "(busy + idle) * 1000000 / nullif(input_tokens + output_tokens, 0)",
}


def sort_columns(dimensions: tuple[str, ...]) -> tuple[str, ...]:
    return (*dimensions, *_NUMERIC)


def _order(spec: SliceSpec, share_idle: bool) -> str:
    name = spec.sort.lstrip("-")
    direction = "DESC" if spec.sort.startswith("-") else "ASC"
    numeric = dict(_NUMERIC)
    numeric["cost"] = "busy + idle" if share_idle else "busy"
    numeric["gpu_hours"] = "busy_gpu_hours + idle_gpu_hours" if share_idle else "busy_gpu_hours"
    first = numeric.get(name) or _KEYS[name]
    # Company lines after the teams' rows when sorting by a name; ties in a stable key order.
    ties = ", ".join(_KEYS[d] for d in spec.dimensions)
    return f"{first} {direction} NULLS LAST, line, {ties}" if ties else f"{first} {direction}, line"


_SLICE = """
WITH {idle}, parts AS (
    SELECT hour, first_hour, team, model, endpoint, pool,
           CASE WHEN kind IN ('usage', 'shared') THEN '' ELSE kind END AS line,
           {col} AS busy, 0 AS idle, requests, input_tokens, output_tokens,
           gpu_hours AS busy_gpu_hours, 0 AS idle_gpu_hours
    FROM {lines} lines
    WHERE hour >= %(start)s AND hour < %(end)s AND currency = %(currency)s {scoped}
    UNION ALL
    SELECT hour, first_hour, team, model, endpoint, pool, '', 0, part_a, 0, 0, 0, 0, part_b
    FROM shares WHERE NOT withheld {teams}
    {handed}
), grouped AS (
    SELECT line{select}, sum(busy) AS busy, sum(idle) AS idle,
           sum(requests)::bigint AS requests, sum(input_tokens)::bigint AS input_tokens,
           sum(output_tokens)::bigint AS output_tokens, sum(busy_gpu_hours) AS busy_gpu_hours,
           sum(idle_gpu_hours) AS idle_gpu_hours,
           min(first_hour) FILTER (WHERE line = '' AND team <> '') AS first_hour
    FROM parts WHERE true {filters}
    GROUP BY line{keys}
    -- a company idle row that share-idle handed out entirely is nothing left to show
    HAVING line = '' OR sum(busy) <> 0 OR sum(busy_gpu_hours) <> 0
)
SELECT *, count(*) OVER () AS total_rows, {totals}
FROM grouped ORDER BY {order} {limit}
"""
# Under share-idle the idle line is what no team carries: the stored idle less the shares.
_HANDED = """UNION ALL
    SELECT hour, first_hour, '', '', '', pool, 'idle', -part_a, 0, 0, 0, 0, -part_b, 0
    FROM shares"""


def _sql(scope: Scope, query: ReportQuery, spec: SliceSpec, currency: str, paged: bool) -> str:
    keys, select = [], []
    for name in spec.dimensions:
        if name == "day":
            keys.append(f"date_trunc('{spec.grain}', hour AT TIME ZONE 'UTC')")
            select.append(f"{keys[-1]} AS period")
        else:
            keys.append(name)
            select.append(name)
    company = scope.whole_company
    # Hours are read from the hourly rollup only when the slice is per hour.
    hourly = "day" in spec.dimensions and spec.grain == "hour"
    totals = ", ".join(f"sum({m}) OVER () AS total_{m}" for m in _MEASURES)
    return _SLICE.format(
        idle=idle_ctes(query.cost_column, currency, scope.viewer, own_only=True, hourly=hourly),
        lines=rollups.lines(hourly),
        col=query.cost_column,
        scoped="" if company else "AND team = ANY(%(teams)s) AND kind IN ('usage', 'shared')",
        teams="" if company else "AND team = ANY(%(teams)s)",
        handed=_HANDED if company and query.share_idle else "",
        keys="".join(f", {key}" for key in keys),
        select="".join(f", {key}" for key in select),
        filters="".join(f" AND {name} = %(filter_{name})s" for name in spec.filters),
        totals=totals,
        order=_order(spec, query.share_idle),
        limit="LIMIT %(limit)s OFFSET %(offset)s" if paged else "",
    )


def _row(values: dict, spec: SliceSpec, weight: Decimal, share_idle: bool, prefix="") -> SliceRow:
    figures = {m: values[prefix + m] or (0 if "tokens" in m or m == "requests" else ZERO)
               for m in _MEASURES}  # fmt: skip
    figures["requests"] = int(figures["requests"])
    figures["input_tokens"] = int(figures["input_tokens"])
    figures["output_tokens"] = int(figures["output_tokens"])
    if prefix:
        return SliceRow(output_weight=weight, share_idle=share_idle, **figures)
    names = {d: values[_KEYS[d]] for d in spec.dimensions}
    period = names.pop("day", None)
    first = spec.dimensions[0] if spec.dimensions else None
    key = "" if first is None else (period if first == "day" else names[first])
    return SliceRow(
        output_weight=weight,
        share_idle=share_idle,
        line=values["line"],
        period=period,
        first_hour=values["first_hour"],
        key=key if isinstance(key, str) else "",
        **names,
        **figures,
    )


def slice_rows(
    scope: Scope,
    query: ReportQuery,
    span: tuple[datetime, datetime],
    currency: str,
    spec: SliceSpec,
    page_rows: int | None = PAGE_ROWS,
) -> Slice:
    """One page of `spec`'s slice of what `scope` may see in [span) and `currency` (every row
    when `page_rows` is None), with the totals over the whole slice. A page past the last is a
    QueryError naming `page`."""
    if spec.grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}")
    params = idle_params(*span, query.basis, currency, scope.viewer)
    params["teams"] = scope.team_list
    params.update({f"filter_{name}": value for name, value in spec.filters.items()})
    paged = page_rows is not None
    if paged:
        params.update(limit=page_rows, offset=(spec.page - 1) * page_rows)
    found = fetch(_sql(scope, query, spec, currency, paged), params)
    weight = token_weight(*span)
    if not found and spec.page > 1:
        first_page = SliceSpec(spec.dimensions, spec.filters, spec.sort, 1, spec.grain)
        sql = _sql(scope, query, first_page, currency, True)
        everything = fetch(sql, {**params, "limit": 1, "offset": 0})
        last = -(-everything[0]["total_rows"] // page_rows) if everything else 1
        raise QueryError("page", f"{spec.page} is past the last page ({last})")
    rows = [_row(values, spec, weight, query.share_idle) for values in found]
    if found:
        total = _row(found[0], spec, weight, query.share_idle, prefix="total_")
    else:
        total = SliceRow(output_weight=weight, share_idle=query.share_idle)
    count = found[0]["total_rows"] if found else 0
    return Slice(spec.dimensions, spec.sort, rows, total, count, spec.page, page_rows)
