"""The reads behind one team's, one model's and one endpoint's page, built on the cost report
(costapp.attribution.costs) and slices (explorer): what it cost, per 1M tokens fully loaded and
busy only, over time, on which pools, and against the period before.

The scope decides everything a reader gets: a lead's model page is their own teams' use of the
model (other teams' rows never enter the slices), with the idle shares withheld from them left
out, exactly as on the overview.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from costapp.core.access import Scope
from costapp.core.models import Team

from . import rollups
from .costs import CostReport, CostRow, cost_report
from .explorer import Slice, SliceRow, SliceSpec, slice_rows
from .fleet import PoolUse, pool_utilization
from .idle import Capacity, idle_capacity
from .models import AllocationDay
from .query import ATTRIBUTED, ReportQuery, currencies, pick_currency, window

HUNDRED = Decimal(100)
SUBJECTS = ("team", "model", "endpoint")


def exists_for(scope: Scope, dimension: str, name: str) -> bool:
    """Whether the scope has any line of that team, model or endpoint (at any time): the pages
    answer 404 otherwise, the same for a name that exists only in other teams' rows."""
    if dimension not in SUBJECTS:
        raise ValueError(f"dimension must be one of {SUBJECTS}")
    if dimension == "team" and scope.may_see(name) and Team.objects.filter(slug=name).exists():
        return True  # a team with no cost yet still has its (empty) page
    rollups.ensure_current()
    rows = AllocationDay.objects.filter(**{dimension: name}).exclude(**{dimension: ""})
    if not scope.whole_company:
        rows = rows.filter(team__in=scope.teams, kind__in=ATTRIBUTED)
    return rows.exists()


@dataclass(frozen=True)
class Change:
    """The period before, as long as this one, and this period's change against it."""

    start: date
    end: date  # inclusive
    cost: Decimal
    now: Decimal

    @property
    def delta(self) -> Decimal:
        return self.now - self.cost

    @property
    def pct(self) -> Decimal | None:
        return self.delta * HUNDRED / self.cost if self.cost else None


def _previous(
    scope: Scope, query: ReportQuery, span, currency: str, now: Decimal, filters=None
) -> Change:
    """The same slice over the period just before `span`, as long as it."""
    length = span[1] - span[0]
    before = (span[0] - length, span[0])
    spec = SliceSpec(dimensions=(), filters=filters or {})
    total = slice_rows(scope, query, before, currency, spec, None).total
    last = (before[1] - timedelta(hours=1)).date()
    return Change(before[0].date(), last, total.cost, now)


@dataclass
class TeamReport:
    team: str
    costs: CostReport  # the report narrowed to the team: its models, endpoints, unit prices
    row: CostRow | None = None
    capacity: Capacity | None = None  # its idle share as if idle were shared back
    trend: list[SliceRow] = field(default_factory=list)  # per day and model
    change: Change | None = None

    @property
    def idle_share_pct(self) -> Decimal | None:
        """The idle share's part of the fully loaded cost."""
        if self.row is None or not self.row.loaded:
            return None
        return self.row.idle * HUNDRED / self.row.loaded


def team_report(scope: Scope, query: ReportQuery, team: str) -> TeamReport:
    """Everything /teams/<team>/ shows; `scope` must already be narrowed to the team."""
    report = TeamReport(team, cost_report(scope, query, daily=False))
    costs = report.costs
    span = window(query)
    if span is None or not costs.teams:
        return report
    report.row = next((row for row in costs.teams if row.key == team), None)
    money = dict(basis=query.basis, currency=costs.currency)
    found = idle_capacity(*span, by="team", teams=[team], viewer=scope.viewer, **money)
    report.capacity = found[0] if found else None
    report.trend = slice_rows(
        scope, query, span, costs.currency, SliceSpec(dimensions=("day", "model")), None
    ).rows
    report.change = _previous(scope, query, span, costs.currency, costs.total)
    return report


@dataclass
class UsageReport:
    """One model's or endpoint's page."""

    dimension: str
    name: str
    query: ReportQuery
    scope: Scope
    currency: str
    currencies: list[str]
    currency_missing: str | None = None
    total: SliceRow | None = None
    periods: list[SliceRow] = field(default_factory=list)  # oldest first, at the query's grain
    pools: list[SliceRow] = field(default_factory=list)
    utilization: dict[str, PoolUse] = field(default_factory=dict)  # finance only
    teams: list[SliceRow] = field(default_factory=list)  # the reader's teams only for a lead
    other: list[SliceRow] = field(default_factory=list)  # endpoints of a model, or models
    change: Change | None = None

    @property
    def pools_used(self) -> list[tuple[SliceRow, PoolUse | None]]:
        """Each pool row with the pool's use by every team (finance; None for a lead)."""
        return [(row, self.utilization.get(row.pool)) for row in self.pools]

    @property
    def other_dimension(self) -> str:
        return "endpoint" if self.dimension == "model" else "model"


def usage_report(scope: Scope, query: ReportQuery, dimension: str, name: str) -> UsageReport:
    """Everything /models/<name>/ or /endpoints/?name= shows, of what `scope` may see."""
    present = currencies(scope, query)
    chosen, missing = pick_currency(query, present)
    report = UsageReport(dimension, name, query, scope, chosen, present, missing)
    span = window(query)
    if span is None or not present:
        return report
    filters = {dimension: name}

    def by(*dimensions: str, sort: str = "-cost") -> Slice:
        spec = SliceSpec(dimensions, filters, sort, grain=query.grain)
        return slice_rows(scope, query, span, chosen, spec, None)

    periods = by("day", sort="day")
    # One series, named for the subject, in the charts that draw a series per key.
    report.periods = [replace(row, key=name) for row in periods.rows]
    report.total = periods.total
    if not periods.rows:
        return report
    report.pools = by("pool").rows
    report.teams = by("team").rows
    report.other = by(report.other_dimension).rows
    if scope.whole_company:
        report.utilization = pool_utilization(span, query.basis, chosen)
    report.change = _previous(scope, query, span, chosen, report.total.cost, filters)
    return report
