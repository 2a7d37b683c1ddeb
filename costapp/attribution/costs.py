"""Costs: what each team, model and endpoint costs in a report query, within a reader's scope.

`cost_report` reads the window once as *parts* — per day and (team, model, endpoint), the
stored lines the scope may see plus each key's share of its pools' idle (costapp.attribution
.idle, less the shares withheld from a lead) — and builds every figure of the report from that
one list: the headline total, the team table, the daily series, by model and by endpoint. So
every total equals the sum of its parts, for every reader and idle view. Finance also gets the
company's own lines (idle nobody carries, unmeasured, unallocated) as rows of every table.
Money is read one currency at a time (nothing converts between them).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from costapp.core.access import Scope
from costapp.money import ZERO, quantize

from . import rollups
from .idle import cost_column, fetch, idle_ctes, idle_params, only, shared_idle, withheld_count
from .models import AttributionPolicy, IdlePolicy, LineKind
from .query import ATTRIBUTED, ReportQuery, currencies, pick_currency, window
from .units import UnitFigures, token_weight

HUNDRED = Decimal(100)
# The company's own lines, in the order tables list them, with their labels.
COMPANY_LINES = {
    LineKind.IDLE: "Idle",
    LineKind.UNMEASURED: "Unmeasured",
    LineKind.UNALLOCATED: "Unallocated",
}
IDLE_SHARE = "idle_share"  # a part that is a key's share of its pools' idle
UNALLOCATED_ITEMS = 5


@dataclass(frozen=True)
class TeamCost:
    team: str
    usage: Decimal  # busy GPU cost split by measured use
    shared: Decimal  # shared / non-GPU cost distributed by rules
    idle: Decimal  # idle handed back under share-idle (zero when idle is kept separate)
    total: Decimal


def _share_idle_default(share_idle: bool | None) -> bool:
    if share_idle is None:
        return AttributionPolicy.current().idle_policy == IdlePolicy.SHARE
    return share_idle


def team_costs(
    start: datetime,
    end: datetime,
    teams: list[str] | None = None,
    share_idle: bool | None = None,
    basis: str = "amortized",
    currency: str | None = None,
    viewer: list[str] | None = None,
) -> list[TeamCost]:
    """Each visible team's cost in the window: usage + shared (+ its idle share when shared,
    less the pool-hours withheld from `viewer`)."""
    col = cost_column(basis)
    rows = fetch(
        f"""SELECT team, sum(CASE WHEN kind = 'usage' THEN {col} ELSE 0 END) AS usage,
                   sum(CASE WHEN kind = 'shared' THEN {col} ELSE 0 END) AS shared
            FROM {rollups.lines()} lines
            WHERE team <> '' AND hour >= %(start)s AND hour < %(end)s {only(currency)}
            GROUP BY team ORDER BY team""",
        {"start": start, "end": end, "currency": currency},
    )
    idle = (
        shared_idle(start, end, basis, currency, viewer) if _share_idle_default(share_idle) else {}
    )
    result = []
    for row in rows:
        if teams is not None and row["team"] not in teams:
            continue
        idle_cost = idle.get(row["team"], (ZERO, ZERO))[0]
        total = row["usage"] + row["shared"] + idle_cost
        result.append(TeamCost(row["team"], row["usage"], row["shared"], idle_cost, total))
    return result


def company_lines(
    start: datetime,
    end: datetime,
    share_idle: bool | None = None,
    basis: str = "amortized",
    currency: str | None = None,
) -> dict[LineKind, Decimal]:
    """Whole-company lines that belong to no team: idle (what is left of it when shared),
    unallocated and unmeasured. For finance only (Scope.whole_company)."""
    col = cost_column(basis)
    rows = fetch(
        f"""SELECT kind, sum({col}) AS cost FROM {rollups.lines()} lines
            WHERE kind IN ('idle', 'unallocated', 'unmeasured')
              AND hour >= %(start)s AND hour < %(end)s {only(currency)} GROUP BY kind""",
        {"start": start, "end": end, "currency": currency},
    )
    lines = {kind: ZERO for kind in COMPANY_LINES}
    lines.update({LineKind(r["kind"]): r["cost"] for r in rows})
    if _share_idle_default(share_idle):
        handed = sum((c for c, _ in shared_idle(start, end, basis, currency).values()), ZERO)
        lines[LineKind.IDLE] = quantize(lines[LineKind.IDLE] - handed)
    return lines


def _scoped(scope: Scope) -> str:
    return (
        "" if scope.whole_company else "AND team = ANY(%(teams)s) AND kind IN ('usage', 'shared')"
    )


@dataclass(frozen=True, kw_only=True)
class CostRow(UnitFigures):
    """A row of a cost table: a team, model or endpoint (`key`), or one of the company's own
    lines (`company`, finance only: its cost is the line's, and it has no unit prices)."""

    key: str
    label: str = ""
    company: bool = False
    peak_hour: datetime | None = None  # the team's most expensive hour: where "explain" opens


@dataclass(frozen=True)
class UnallocatedItem:
    """One resource's unallocated cost, and why no rule placed it."""

    resource_id: str
    cost: Decimal
    on_gpu: bool  # busy GPU time with no requests and no rule, else a line no rule places
    service: str
    description: str


@dataclass
class CostReport:
    query: ReportQuery
    scope: Scope
    currency: str
    currencies: list[str]  # every currency the scope has in the period, biggest first
    currency_missing: str | None = None  # asked for, but not in the period: said on the page
    first_day: date | None = None
    last_day: date | None = None
    output_weight: Decimal = Decimal(1)
    teams: list[CostRow] = field(default_factory=list)
    models: list[CostRow] = field(default_factory=list)
    endpoints: list[CostRow] = field(default_factory=list)
    company: list[CostRow] = field(default_factory=list)  # finance only
    daily: dict[str, dict[date, Decimal]] = field(default_factory=dict)  # series -> day -> cost
    other_series: str | None = None  # the daily series summing the teams not kept (top_series)
    stored: dict[str, Decimal] = field(default_factory=dict)  # each line kind as stored
    idle_withheld: int = 0  # pool-hours whose idle share the reader may not see
    gpu_cost: Decimal = ZERO
    idle_gpu_hours_pct: Decimal | None = None
    unallocated: list[UnallocatedItem] = field(default_factory=list)  # biggest first

    @property
    def share_idle(self) -> bool:
        return self.query.share_idle

    @property
    def carried(self) -> Decimal:
        """What the teams carry in this idle view."""
        return sum((row.cost for row in self.teams), ZERO)

    @property
    def total(self) -> Decimal:
        """The headline: the teams' rows plus the company's lines (finance), in this view."""
        return self.carried + sum((row.cost for row in self.company), ZERO)

    @property
    def all_teams(self) -> CostRow:
        """The teams' rows summed: the headline unit prices."""
        return _summed("all", self.teams, self.output_weight, self.share_idle)

    @property
    def idle_shared(self) -> Decimal:
        return sum((row.idle for row in self.teams), ZERO)

    @property
    def idle_left(self) -> Decimal:
        """Idle nobody carries in this view: all of it when separate, else the pool-hours nobody
        used."""
        return sum((row.cost for row in self.company if row.key == LineKind.IDLE), ZERO)

    @property
    def idle_cost_pct(self) -> Decimal | None:
        idle = self.stored.get(LineKind.IDLE, ZERO)
        return idle * HUNDRED / self.gpu_cost if self.gpu_cost else None

    @property
    def unallocated_on_gpu(self) -> bool:
        return any(item.on_gpu for item in self.unallocated)

    @property
    def unallocated_shared(self) -> bool:
        return any(not item.on_gpu for item in self.unallocated)


def _summed(key: str, rows: list[CostRow], weight: Decimal, share_idle: bool) -> CostRow:
    return CostRow(
        key=key,
        busy=sum((r.busy for r in rows), ZERO),
        idle=sum((r.idle for r in rows), ZERO),
        requests=sum(r.requests for r in rows),
        input_tokens=sum(r.input_tokens for r in rows),
        output_tokens=sum(r.output_tokens for r in rows),
        output_weight=weight,
        share_idle=share_idle,
    )


# The window's parts: per bucket (a day, or an hour at the edges) and (line, team, model,
# endpoint), the stored lines the scope may see and each key's share of its pools' idle.
_PARTS = """
WITH {idle}, parts AS (
    SELECT (date_trunc('day', hour AT TIME ZONE 'UTC'))::date AS day, kind AS line, team, model,
           endpoint, {col} AS cost, requests, input_tokens, output_tokens
    FROM {lines} lines
    WHERE hour >= %(start)s AND hour < %(end)s AND currency = %(currency)s {scoped}
    UNION ALL
    SELECT (date_trunc('day', hour AT TIME ZONE 'UTC'))::date, '{share}', team, model, endpoint,
           part_a, 0, 0, 0
    FROM shares WHERE NOT withheld {teams}
)
"""

# Per key over the whole window: what every table and total is summed from (independent of the
# number of days).
_KEYED = """
SELECT line, team, model, endpoint, sum(cost) AS cost, sum(requests)::bigint AS requests,
       sum(input_tokens)::bigint AS input_tokens, sum(output_tokens)::bigint AS output_tokens,
       min(day) AS first_day, max(day) AS last_day
FROM parts GROUP BY 1, 2, 3, 4
"""

# Per day and series: the teams' series (folded to the kept ones plus one "other" when asked)
# and the company's lines; `series` is '' where only the company's lines are wanted.
_DAILY = """
SELECT day, line, {series} AS series, sum(cost) AS cost
FROM parts WHERE {which} GROUP BY 1, 2, 3
"""
SHARED_SERIES = "(shared costs)"


def _parts_sql(scope: Scope, query: ReportQuery, currency: str, select: str) -> str:
    return (
        _PARTS.format(
            idle=idle_ctes(query.cost_column, currency, scope.viewer, own_only=True),
            lines=rollups.lines(),
            col=query.cost_column,
            scoped=_scoped(scope),
            share=IDLE_SHARE,
            teams="" if scope.whole_company else "AND team = ANY(%(teams)s)",
        )
        + select
    )


def _params(scope: Scope, query: ReportQuery, span, currency: str) -> dict:
    params = idle_params(*span, query.basis, currency, scope.viewer)
    params["teams"] = scope.team_list
    return params


def _keyed(scope: Scope, query: ReportQuery, span, currency: str) -> list[dict]:
    return fetch(_parts_sql(scope, query, currency, _KEYED), _params(scope, query, span, currency))


def _daily_parts(
    scope: Scope, query: ReportQuery, span, currency: str, teams: bool, kept, other
) -> list[dict]:
    """Per day: the teams' series when `teams` (those outside `kept` summed as `other`, when
    `other` is set), and the company's lines (finance)."""
    params = _params(scope, query, span, currency)
    company = [str(kind) for kind in COMPANY_LINES] if scope.whole_company else []
    series_lines = [str(kind) for kind in ATTRIBUTED]
    if query.share_idle:
        series_lines.append(IDLE_SHARE)
    name = f"coalesce(nullif(team, ''), '{SHARED_SERIES}')"
    if not teams:
        series, which = "''", "line = ANY(%(company)s)"
        if query.share_idle and company:
            which += f" OR line = '{IDLE_SHARE}'"
    else:
        series, which = name, "line = ANY(%(company)s) OR line = ANY(%(series_lines)s)"
        if other is not None:
            series = f"CASE WHEN {name} = ANY(%(kept)s) THEN {name} ELSE %(other)s END"
    params.update(company=company, series_lines=series_lines, kept=list(kept), other=other)
    if not teams and not company:
        return []
    return fetch(
        _parts_sql(scope, query, currency, _DAILY.format(series=series, which=which)), params
    )


def _peak_hours(scope: Scope, span, col: str, currency: str) -> dict[str, datetime]:
    """Each team's most expensive hour of the window (rollups.peak_hours)."""
    teams = "" if scope.whole_company else "AND team = ANY(%(teams)s)"
    params = {"start": span[0], "end": span[1], "teams": scope.team_list, "currency": currency}
    return {row["team"]: row["hour"] for row in fetch(rollups.peak_hours(col, teams), params)}


def _grouped(parts: list[dict], dimension: str, report: CostReport, peaks=None) -> list[CostRow]:
    sums: dict[str, dict] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for part in parts:
        if part["line"] not in (*ATTRIBUTED, IDLE_SHARE):
            continue
        into = sums[part[dimension]]
        into["idle" if part["line"] == IDLE_SHARE else "busy"] += part["cost"]
        for count in ("requests", "input_tokens", "output_tokens"):
            into[count] += part[count]
    return sorted(cost_rows(sums, report, peaks), key=lambda row: (-row.cost, row.key))


def cost_rows(sums: dict[str, dict], report: CostReport, peaks=None) -> list[CostRow]:
    """A CostRow per key from its summed busy, idle, requests and tokens."""
    return [
        CostRow(
            key=key,
            busy=values["busy"],
            idle=values["idle"],
            requests=int(values["requests"]),
            input_tokens=int(values["input_tokens"]),
            output_tokens=int(values["output_tokens"]),
            output_weight=report.output_weight,
            share_idle=report.share_idle,
            peak_hour=(peaks or {}).get(key),
        )
        for key, values in sums.items()
    ]


def _company(parts: list[dict], report: CostReport) -> None:
    """The company's lines as rows and daily series: idle less what the teams carry in this
    view, unmeasured, unallocated."""
    series: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for part in parts:
        if part["line"] in COMPANY_LINES:
            series[part["line"]][part["day"]] += part["cost"]
        elif part["line"] == IDLE_SHARE and report.share_idle:
            series[LineKind.IDLE][part["day"]] -= part["cost"]
    for kind, label in COMPANY_LINES.items():
        if kind not in series:
            continue
        days = {day: quantize(amount) for day, amount in series[kind].items()}
        if kind == LineKind.IDLE and report.share_idle:
            label = "Idle (pools unused)"
        report.company.append(
            CostRow(key=kind, label=label, company=True, busy=sum(days.values(), ZERO))
        )
        report.daily[label] = days


def _gpu_capacity(report: CostReport, span, currency: str) -> None:
    """Idle capacity, whole company only: GPU cost and the idle share of GPU-hours."""
    col = report.query.cost_column
    sums = fetch(
        f"""SELECT sum({col}) AS cost, sum(gpu_hours) AS gpu_hours,
                   sum(gpu_hours) FILTER (WHERE kind = 'idle') AS idle_gpu_hours
            FROM {rollups.lines()} lines
            WHERE on_gpu AND hour >= %(start)s AND hour < %(end)s AND currency = %(currency)s""",
        {"start": span[0], "end": span[1], "currency": currency},
    )[0]
    report.gpu_cost = sums["cost"] or ZERO
    if sums["gpu_hours"]:
        report.idle_gpu_hours_pct = (sums["idle_gpu_hours"] or ZERO) * HUNDRED / sums["gpu_hours"]


_UNALLOCATED = """
SELECT a.resource_id, sum(a.{col}) AS cost, bool_or(a.pool <> '' OR a.gpu_count IS NOT NULL)
       AS on_gpu
FROM attribution_allocation a
WHERE a.kind = 'unallocated' AND a.hour >= %(start)s AND a.hour < %(end)s
  AND a.currency = %(currency)s
GROUP BY a.resource_id ORDER BY abs(sum(a.{col})) DESC, a.resource_id LIMIT %(limit)s
"""

_DESCRIPTIONS = """
SELECT DISTINCT ON (resource_id) resource_id, service_name, charge_description
FROM ingest_costline WHERE resource_id = ANY(%(ids)s)
ORDER BY resource_id, abs(billed_cost) DESC
"""


def unallocated_items(
    span: tuple[datetime, datetime], basis: str, currency: str, limit: int = UNALLOCATED_ITEMS
) -> list[UnallocatedItem]:
    """The biggest unallocated resources of the window, with their bill's service and
    description: what a cost rule would have to place. Finance only."""
    col = cost_column(basis)
    params = {"start": span[0], "end": span[1], "currency": currency, "limit": limit}
    rows = fetch(_UNALLOCATED.format(col=col), params)
    ids = [row["resource_id"] for row in rows]
    described = {r["resource_id"]: r for r in fetch(_DESCRIPTIONS, {"ids": ids})} if ids else {}
    return [
        UnallocatedItem(
            resource_id=row["resource_id"],
            cost=row["cost"],
            on_gpu=row["on_gpu"],
            service=described.get(row["resource_id"], {}).get("service_name", ""),
            description=described.get(row["resource_id"], {}).get("charge_description", ""),
        )
        for row in rows
    ]


def cost_report(
    scope: Scope, query: ReportQuery, daily: bool = True, top_series: int | None = None
) -> CostReport:
    """Every figure of a cost report for what `scope` may see, in one currency: the query's
    when the period has it, else the biggest (and `currency_missing` says so).

    Tables and totals are summed in SQL per key over the whole window; the daily series per day
    and team. `daily` False leaves the teams' daily series out (the company's lines are kept:
    their rows are their days summed); `top_series` keeps that many series at most, the biggest
    `top_series - 1` teams and one "(N others)" series summing the rest per day, as the charts
    draw them (costapp.dashboard.charts._top_series)."""
    present = currencies(scope, query)
    chosen, missing = pick_currency(query, present)
    report = CostReport(
        query=query, scope=scope, currency=chosen, currencies=present, currency_missing=missing
    )
    span = window(query)
    if span is None or not present:
        return report
    keyed = _keyed(scope, query, span, report.currency)
    stored = [part for part in keyed if part["line"] != IDLE_SHARE]
    if not stored:
        return report
    report.first_day = min(part["first_day"] for part in stored)
    report.last_day = max(part["last_day"] for part in stored)
    report.output_weight = token_weight(*span)
    report.stored = {kind: ZERO for kind in (*ATTRIBUTED, *COMPANY_LINES)}
    for part in stored:
        report.stored[part["line"]] = report.stored.get(part["line"], ZERO) + part["cost"]
    peaks = _peak_hours(scope, span, query.cost_column, report.currency)
    report.teams = _grouped(keyed, "team", report, peaks)
    report.models = _grouped(keyed, "model", report)
    report.endpoints = _grouped(keyed, "endpoint", report)
    kept, other = _kept_series(report.teams, top_series) if daily else ((), None)
    report.other_series = other
    days = _daily_parts(scope, query, span, report.currency, daily, kept, other)
    for part in days:
        if part["line"] in ATTRIBUTED or (part["line"] == IDLE_SHARE and query.share_idle):
            if not daily:
                continue
            series = report.daily.setdefault(part["series"], {})
            series[part["day"]] = series.get(part["day"], ZERO) + part["cost"]
    report.idle_withheld = withheld_count(*span, scope.viewer, query.basis, report.currency)
    if scope.whole_company:
        _company(days, report)
        _gpu_capacity(report, span, report.currency)
        report.unallocated = unallocated_items(span, query.basis, report.currency)
    return report


def _kept_series(teams: list[CostRow], top: int | None) -> tuple[list[str], str | None]:
    """The teams' series kept by name, and the name of the one summing the rest (None: every
    series kept): the biggest `top - 1` by total, ties by name, when there are more than `top`.
    A team's series total is its row's cost in the view."""
    if top is None or len(teams) <= top:
        return [], None
    ranked = sorted(teams, key=lambda row: (-row.cost, row.key or SHARED_SERIES))
    rest = ranked[top - 1 :]
    return [row.key or SHARED_SERIES for row in ranked[: top - 1]], f"({len(rest)} others)"


@dataclass(frozen=True)
class TopRows:
    """The biggest rows of a long table, and the rest summed (None when all are shown)."""

    rows: list[CostRow]
    rest: CostRow | None = None
    rest_count: int = 0


def top_rows(rows: list[CostRow], limit: int, report: CostReport) -> TopRows:
    """The first `limit` of `rows` (biggest first) and one row summing the rest: shown rows
    plus the rest still add up to the table's total."""
    if len(rows) <= limit:
        return TopRows(rows)
    rest = rows[limit:]
    summed = _summed("rest", rest, report.output_weight, report.share_idle)
    return TopRows(rows[:limit], summed, len(rest))
