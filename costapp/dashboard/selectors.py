"""Read queries behind the dashboard: Allocation rows summed in SQL, within what a user may see.

Finance sees the whole company: every team plus the idle, unmeasured and unallocated lines.
Anyone else sees only the attributed lines (usage and shared) of their own teams, so no other
team's name or figure can reach their page. Sums stay exact Decimals; rounding is for display.
Money is read one currency at a time (FOCUS BillingCurrency; nothing converts between them): a
page shows the currency it is asked for among those present, else the biggest.

The idle view (separate, or shared back to the teams of each pool as OpenCost's share-idle
does) comes from costapp.attribution.selectors, so pages and the API agree on every figure; a
lead's idle shares leave out the pool-hours they share with exactly one other team.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from django.db import connection
from django.db.models import Max, Min, QuerySet, Sum
from django.db.models.functions import TruncDate

from costapp.attribution import selectors as attribution
from costapp.attribution.models import Allocation, AttributionPolicy, IdlePolicy, LineKind
from costapp.core.access import sees_whole_company, visible_teams
from costapp.ingest.models import GpuResource
from costapp.money import DEFAULT_CURRENCY, ZERO

Basis = Literal["amortized", "billed"]
BASES: dict[str, str] = {"amortized": "amortized_cost", "billed": "billed_cost"}
# Lines that belong to a team: its busy share of GPUs and the shared costs a rule gave it.
ATTRIBUTED = (LineKind.USAGE, LineKind.SHARED)
# Whole-company lines that belong to no team; their labels in charts and tables.
UNOWNED = {
    LineKind.IDLE: "Idle",
    LineKind.UNMEASURED: "Unmeasured",
    LineKind.UNALLOCATED: "Unallocated",
}
MILLION = Decimal(1_000_000)
HUNDRED = Decimal(100)
HOUR = timedelta(hours=1)


def share_idle_param(value: str | None) -> bool:
    """The idle view from a query parameter ("separate" / "share"), else the org's policy."""
    if value in (IdlePolicy.SEPARATE, IdlePolicy.SHARE):
        return value == IdlePolicy.SHARE
    return AttributionPolicy.current().idle_policy == IdlePolicy.SHARE


def currency_param(value: str | None, present: list[str]) -> str:
    """The currency a query parameter asks for when it is among those present, else the first
    (the biggest), else the default when there is no data at all."""
    code = (value or "").strip().upper()
    if code in present:
        return code
    return present[0] if present else DEFAULT_CURRENCY


@dataclass(frozen=True)
class Scope:
    """What a user may see: every row (teams=None), or the attributed rows of some teams."""

    teams: tuple[str, ...] | None

    @property
    def whole_company(self) -> bool:
        return self.teams is None

    @property
    def team_list(self) -> list[str] | None:
        """The form costapp.attribution.selectors takes: None for every team."""
        return None if self.teams is None else list(self.teams)

    def may_see(self, team: str) -> bool:
        return self.teams is None or team in self.teams


def scope_for(user) -> Scope:
    if sees_whole_company(user):
        return Scope(teams=None)
    return Scope(teams=tuple(visible_teams(user).values_list("slug", flat=True)))


def window(start: date | None, end: date | None) -> tuple[datetime, datetime] | None:
    """[start, end) as datetimes for whole UTC days; open ends close on the data's first and
    last hour. None when there are no allocations at all."""
    span = Allocation.objects.aggregate(first=Min("hour"), last=Max("hour"))
    if span["first"] is None:
        return None
    low = datetime.combine(start, time.min, tzinfo=UTC) if start else span["first"]
    high = (
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
        if end
        else span["last"] + HOUR
    )
    return low, high


@dataclass(frozen=True)
class UnitCost:
    """Cost and use of one team, model or endpoint over the period.

    `idle` is the idle cost handed to a team under share-idle (zero when idle is shown
    separately); `peak_hour` is the team's most expensive hour, the one its "explain" link opens.
    """

    key: str
    cost: Decimal
    requests: int
    input_tokens: int
    output_tokens: int
    idle: Decimal = ZERO
    peak_hour: datetime | None = None

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def total(self) -> Decimal:
        return self.cost + self.idle

    @property
    def per_million_tokens(self) -> Decimal | None:
        return self.total * MILLION / self.tokens if self.tokens else None


@dataclass
class Overview:
    basis: Basis
    scope: Scope
    currency: str
    currencies: list[str]  # every currency the scope has in the period, biggest first
    first_day: date | None
    last_day: date | None
    share_idle: bool = False
    total: Decimal = ZERO
    attributed: Decimal = ZERO
    idle_shared: Decimal = ZERO  # idle handed back to the teams (share-idle view only)
    idle_left: Decimal = ZERO  # idle of pool-hours nobody used, which stays the company's
    idle_withheld: int = 0  # pool-hours whose idle share a lead may not see (share-idle only)
    by_kind: dict[str, Decimal] = field(default_factory=dict)
    gpu_cost: Decimal = ZERO
    idle_cost_pct: Decimal | None = None
    idle_gpu_hours_pct: Decimal | None = None
    requests: int = 0
    tokens: int = 0
    per_million_tokens: Decimal | None = None
    teams: list[UnitCost] = field(default_factory=list)
    models: list[UnitCost] = field(default_factory=list)
    endpoints: list[UnitCost] = field(default_factory=list)
    daily: dict[str, dict[date, Decimal]] = field(default_factory=dict)  # series -> day -> cost

    @property
    def carried(self) -> Decimal:
        """What the teams carry in this idle view: attributed, plus idle when shared back."""
        return self.attributed + self.idle_shared


def visible_allocations(scope: Scope, start: date | None, end: date | None) -> QuerySet[Allocation]:
    """Allocation rows in [start, end] (whole UTC days) that the scope may see."""
    rows = Allocation.objects.all()
    if start:
        rows = rows.filter(hour__gte=datetime.combine(start, time.min, tzinfo=UTC))
    if end:
        rows = rows.filter(hour__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC))
    if not scope.whole_company:
        rows = rows.filter(team__in=scope.teams, kind__in=ATTRIBUTED)
    return rows


def currencies(
    scope: Scope, basis: Basis = "amortized", start: date | None = None, end: date | None = None
) -> list[str]:
    """The currencies of the rows the scope may see in [start, end], by total cost descending.

    Without exchange rates "biggest" compares face amounts (a yen total outweighs a dollar one
    of the same worth); it only picks the page's default, and every currency gets a button.
    """
    per_currency = (
        visible_allocations(scope, start, end)
        .values("currency")
        .annotate(cost=Sum(BASES[basis]))
        .order_by("-cost", "currency")
    )
    return [row["currency"] for row in per_currency]


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    return part * HUNDRED / whole if whole else None


def _unit_costs(rows: QuerySet[Allocation], dimension: str, cost_field: str) -> list[UnitCost]:
    grouped = (
        rows.filter(kind__in=ATTRIBUTED)
        .values(dimension)
        .annotate(
            cost=Sum(cost_field),
            requests=Sum("requests"),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
        )
        .order_by("-cost", dimension)
    )
    return [
        UnitCost(
            key=row[dimension],
            cost=row["cost"] or ZERO,
            requests=row["requests"] or 0,
            input_tokens=row["input_tokens"] or 0,
            output_tokens=row["output_tokens"] or 0,
        )
        for row in grouped
    ]


def _daily(rows: QuerySet[Allocation], cost_field: str) -> dict[str, dict[date, Decimal]]:
    series: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    per_day = (
        rows.annotate(day=TruncDate("hour", tzinfo=UTC))
        .values("day", "kind", "team")
        .annotate(cost=Sum(cost_field))
        .order_by("day")
    )
    for row in per_day:
        name = UNOWNED.get(row["kind"]) or row["team"] or "Unallocated"
        series[name][row["day"]] += row["cost"] or ZERO
    return {name: dict(days) for name, days in series.items()}


def _idle(overview: Overview, rows: QuerySet[Allocation], cost_field: str) -> None:
    """Idle capacity, whole company only: idle share of GPU cost and of GPU-hours."""
    on_gpus = rows.filter(resource_id__in=GpuResource.objects.values("resource_id"))
    sums = on_gpus.aggregate(cost=Sum(cost_field), gpu_hours=Sum("gpu_hours"))
    idle = on_gpus.filter(kind=LineKind.IDLE).aggregate(gpu_hours=Sum("gpu_hours"))
    overview.gpu_cost = sums["cost"] or ZERO
    overview.idle_cost_pct = _percent(overview.by_kind.get(LineKind.IDLE, ZERO), overview.gpu_cost)
    overview.idle_gpu_hours_pct = _percent(idle["gpu_hours"] or ZERO, sums["gpu_hours"] or ZERO)


_PEAK_HOURS = """
SELECT DISTINCT ON (team) team, hour FROM (
    SELECT team, hour, sum({col}) AS cost FROM attribution_allocation
    WHERE kind IN ('usage', 'shared') AND team <> '' {teams}
      AND hour >= %(start)s AND hour < %(end)s AND currency = %(currency)s
    GROUP BY team, hour
) per_hour ORDER BY team, cost DESC, hour
"""


def peak_hours(
    scope: Scope, span: tuple[datetime, datetime], basis: Basis, currency: str
) -> dict[str, datetime]:
    """Each visible team's most expensive hour in the window and currency: where "explain"
    starts."""
    teams = "AND team = ANY(%(teams)s)" if not scope.whole_company else ""
    params = {"start": span[0], "end": span[1], "teams": scope.team_list, "currency": currency}
    with connection.cursor() as cursor:
        cursor.execute(_PEAK_HOURS.format(col=BASES[basis], teams=teams), params)
        return dict(cursor.fetchall())


def _with_idle_view(result: Overview, span: tuple[datetime, datetime]) -> None:
    """Team rows get their idle share and explain hour; totals follow the idle view."""
    teams = result.scope.team_list
    view = dict(share_idle=result.share_idle, basis=result.basis, currency=result.currency)
    costs = attribution.team_costs(*span, teams, viewer=teams, **view)
    if result.share_idle:
        money = dict(basis=result.basis, currency=result.currency)
        result.idle_withheld = len(attribution.idle_withheld(*span, teams, **money))
    idle = {cost.team: cost.idle for cost in costs}
    peaks = peak_hours(result.scope, span, result.basis, result.currency)
    result.teams = [
        replace(row, idle=idle.get(row.key, ZERO), peak_hour=peaks.get(row.key))
        for row in result.teams
    ]
    result.idle_shared = sum(idle.values(), ZERO)
    if teams is None:
        lines = attribution.company_lines(*span, **view)
        result.idle_left = lines["idle"]
    else:
        # A lead's spend is their teams' cost in the chosen view; idle they do not carry is
        # not theirs to see.
        result.total = result.attributed + result.idle_shared


def overview(
    user,
    basis: Basis = "amortized",
    start: date | None = None,
    end: date | None = None,
    share_idle: bool = False,
    currency: str | None = None,
) -> Overview:
    """Everything the overview page shows, for what this user may see, in one currency:
    `currency` when the period has it, else its biggest."""
    cost_field = BASES[basis]
    scope = scope_for(user)
    present = currencies(scope, basis, start, end)
    chosen = currency_param(currency, present)
    rows = visible_allocations(scope, start, end).filter(currency=chosen)
    span = rows.aggregate(first=Min("hour"), last=Max("hour"))
    result = Overview(
        basis=basis,
        scope=scope,
        currency=chosen,
        currencies=present,
        first_day=span["first"].date() if span["first"] else None,
        last_day=span["last"].date() if span["last"] else None,
        share_idle=share_idle,
    )
    for row in rows.values("kind").annotate(cost=Sum(cost_field)).order_by("kind"):
        result.by_kind[row["kind"]] = row["cost"] or ZERO
    result.total = sum(result.by_kind.values(), ZERO)
    result.attributed = sum((result.by_kind.get(k, ZERO) for k in ATTRIBUTED), ZERO)
    result.teams = _unit_costs(rows, "team", cost_field)
    result.models = _unit_costs(rows, "model", cost_field)
    result.endpoints = _unit_costs(rows, "endpoint", cost_field)
    result.requests = sum(t.requests for t in result.teams)
    result.tokens = sum(t.tokens for t in result.teams)
    bounds = window(start, end)
    if bounds is not None and result.by_kind:
        _with_idle_view(result, bounds)
    if result.tokens:
        carried = result.attributed + result.idle_shared
        result.per_million_tokens = carried * MILLION / result.tokens
    result.daily = _daily(rows, cost_field)
    if scope.whole_company:
        _idle(result, rows, cost_field)
    return result
