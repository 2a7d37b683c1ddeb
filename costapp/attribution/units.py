"""Unit costs: cost per 1M tokens (fully loaded and busy only), per 1M input and output tokens,
per 1K requests and GPU-hours per 1M tokens, per team, model or endpoint, per hour, day or month.

Two costs per row, both always computed, whatever the idle view:
- *busy only*: the row's usage lines (its busy GPU time split by use) and the shared costs a
  rule gave it;
- *fully loaded*: busy plus its share of the idle of the pools it runs on (costapp.attribution
  .idle), which is what the team pays under share-idle — less, for a team lead, the shares of
  pool-hours withheld from them.
The idle view only says which of the two is the row's "cost".

Input and output are split with the policy's output token weight w (the tokens rule weighs a
request as input + w x output tokens, as OpenCost splits by prefill / decode time): input cost
= cost x in / (in + w x out), output cost = the rest; per 1M input = input cost / in x 1e6, per
1M output likewise. w is the attribution policy's in force at the period's last hour (fitted
from latency over the period when the policy derives it).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from costapp.core.access import Scope
from costapp.money import ZERO

from . import rollups
from .hosted import providers_by_model
from .idle import (
    Capacity,
    cost_column,
    fetch,
    idle_capacity,
    idle_ctes,
    idle_params,
    only,
    withheld_count,
)
from .models import AttributionPolicy
from .query import GRAINS, GROUPS, ReportQuery, currencies, pick_currency, window
from .weights import output_weight

MILLION = Decimal(1_000_000)
# A table of hourly rows over a quarter would be tens of thousands of lines; the chart shows
# them all, the table the newest.
MAX_PERIOD_ROWS = 500
THOUSAND = Decimal(1000)
HOUR = timedelta(hours=1)


def _per(amount: Decimal, count: int | Decimal, scale: Decimal = MILLION) -> Decimal | None:
    return amount * scale / count if count else None


def token_weight(start: datetime, end: datetime) -> Decimal:
    """The output token weight w the unit costs split input from output with."""
    return output_weight(AttributionPolicy.at(end - HOUR), start, end)


@dataclass(frozen=True, kw_only=True)
class UnitFigures:
    """Cost and use of one row, with its unit prices in both views."""

    busy: Decimal = ZERO  # usage + shared lines
    idle: Decimal = ZERO  # share of its pools' idle (withheld parts left out)
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    output_weight: Decimal = Decimal(1)
    share_idle: bool = False  # the idle view: whether `cost` carries the idle share

    @property
    def loaded(self) -> Decimal:
        """Fully loaded: what the row pays with the idle of its pools shared back."""
        return self.busy + self.idle

    @property
    def cost(self) -> Decimal:
        """The row's cost in the idle view the page shows."""
        return self.loaded if self.share_idle else self.busy

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def per_million_loaded(self) -> Decimal | None:
        return _per(self.loaded, self.tokens)

    @property
    def per_million_busy(self) -> Decimal | None:
        return _per(self.busy, self.tokens)

    def input_cost(self, amount: Decimal) -> Decimal | None:
        """The input tokens' part of `amount`: amount x in / (in + w x out)."""
        weighted = self.input_tokens + self.output_weight * self.output_tokens
        return amount * self.input_tokens / weighted if weighted else None

    def _per_input(self, amount: Decimal) -> Decimal | None:
        part = self.input_cost(amount)
        return None if part is None else _per(part, self.input_tokens)

    def _per_output(self, amount: Decimal) -> Decimal | None:
        part = self.input_cost(amount)
        return None if part is None else _per(amount - part, self.output_tokens)

    @property
    def per_million_input_loaded(self) -> Decimal | None:
        return self._per_input(self.loaded)

    @property
    def per_million_input_busy(self) -> Decimal | None:
        return self._per_input(self.busy)

    @property
    def per_million_output_loaded(self) -> Decimal | None:
        return self._per_output(self.loaded)

    @property
    def per_million_output_busy(self) -> Decimal | None:
        return self._per_output(self.busy)

    @property
    def per_thousand_requests(self) -> Decimal | None:
        """Fully loaded cost per 1K requests."""
        return _per(self.loaded, self.requests, THOUSAND)


@dataclass(frozen=True, kw_only=True)
class UnitCosts(UnitFigures):
    """One row of unit_costs: a team, model or endpoint (`key`, the first grouping's value),
    over the whole window or one period of it."""

    key: str = ""
    team: str = ""
    model: str = ""
    endpoint: str = ""
    period: datetime | None = None
    busy_gpu_hours: Decimal = ZERO
    idle_gpu_hours: Decimal = ZERO
    idle_withheld: int = 0  # the row's idle shares withheld from the reader (counted, left out)

    @property
    def gpu_hours(self) -> Decimal:
        """Busy GPU-hours, plus the idle share's under share-idle."""
        return self.busy_gpu_hours + (self.idle_gpu_hours if self.share_idle else ZERO)

    @property
    def gpu_hours_per_million_tokens(self) -> Decimal | None:
        return _per(self.gpu_hours, self.tokens)


def unit_costs(
    start: datetime,
    end: datetime,
    teams: list[str] | None = None,
    group_by: tuple[str, ...] = ("team",),
    period: str | None = None,
    basis: str = "amortized",
    share_idle: bool = False,
    currency: str | None = None,
    viewer: Collection[str] | None = None,
) -> list[UnitCosts]:
    """Unit costs grouped by any of team/model/endpoint and optionally per hour/day/month, of
    the `teams` (None: every team), each row with its busy cost and its idle share (less what
    `viewer` may not see); `share_idle` picks which of the two is the row's `cost`."""
    col = cost_column(basis)
    if not group_by or any(g not in GROUPS for g in group_by):
        raise ValueError(f"group_by must be a subset of {GROUPS}")
    keys = list(group_by)
    if period is not None:
        if period not in GRAINS:
            raise ValueError(f"period must be one of {GRAINS}")
        keys.insert(0, f"date_trunc('{period}', hour) AS period")
    group = ", ".join(str(i) for i in range(1, len(keys) + 1))
    team_filter = "AND team = ANY(%(teams)s)" if teams is not None else ""
    params = idle_params(start, end, basis, currency, viewer)
    params["teams"] = teams
    hourly = period == "hour"
    own = viewer is not None and teams is not None and set(teams) == set(viewer)
    rows = fetch(
        f"""WITH {idle_ctes(col, currency, viewer, own, hourly)}, costs AS (
                SELECT hour, team, model, endpoint, {col} AS busy, 0 AS idle, requests,
                       input_tokens, output_tokens, gpu_hours AS busy_gpu_hours,
                       0 AS idle_gpu_hours, 0 AS withheld
                FROM {rollups.lines(hourly)} lines
                WHERE kind IN ('usage', 'shared') AND team <> ''
                  AND hour >= %(start)s AND hour < %(end)s {only(currency)}
                UNION ALL
                SELECT hour, team, model, endpoint, 0, part_a, 0, 0, 0, 0, part_b, 0
                FROM shares WHERE NOT withheld
                UNION ALL  -- a withheld share still makes its row (zero, counted)
                SELECT hour, team, model, endpoint, 0, 0, 0, 0, 0, 0, 0, n
                FROM shares WHERE withheld
            )
            SELECT {", ".join(keys)}, sum(busy) AS busy, sum(idle) AS idle,
                   sum(requests)::bigint AS requests,
                   sum(input_tokens)::bigint AS input_tokens,
                   sum(output_tokens)::bigint AS output_tokens,
                   sum(busy_gpu_hours) AS busy_gpu_hours, sum(idle_gpu_hours) AS idle_gpu_hours,
                   sum(withheld)::int AS idle_withheld
            FROM costs WHERE true {team_filter}
            GROUP BY {group} ORDER BY {group}""",
        params,
    )
    weight = token_weight(start, end)
    return [
        UnitCosts(
            key=row[group_by[0]],
            share_idle=share_idle,
            output_weight=weight,
            **{name: value for name, value in row.items()},
        )
        for row in rows
    ]


@dataclass
class UnitReport:
    """Unit costs of a report query over the whole window and per grain, with idle capacity:
    per pool and for the company (finance), per team as if idle were shared back."""

    query: ReportQuery
    scope: Scope
    currency: str
    currencies: list[str]  # every currency the scope has in the period, biggest first
    currency_missing: str | None = None  # asked for, but not in the period: said on the page
    output_weight: Decimal = Decimal(1)
    summary: list[UnitCosts] = field(default_factory=list)  # whole window, per key
    periods: list[UnitCosts] = field(default_factory=list)  # per grain and key, oldest first
    pools: list[Capacity] = field(default_factory=list)  # finance only
    org: Capacity | None = None  # finance only
    teams_idle: list[Capacity] = field(default_factory=list)
    idle_withheld: int = 0  # pool-hours whose idle shares are left out (leads only)
    # Models with hosted use (billed by a provider, split by tokens: costapp.attribution.hosted)
    # and their providers, for the "hosted" marker beside the model rows.
    hosted: dict[str, str] = field(default_factory=dict)

    @property
    def newest_periods(self) -> list[UnitCosts]:
        by_key = sorted(self.periods, key=lambda row: row.key)
        return sorted(by_key, key=lambda row: row.period, reverse=True)[:MAX_PERIOD_ROWS]

    @property
    def truncated(self) -> bool:
        return len(self.periods) > MAX_PERIOD_ROWS


def unit_report(scope: Scope, query: ReportQuery) -> UnitReport:
    """Everything /units/ shows, for what `scope` may see, in one currency."""
    present = currencies(scope, query)
    chosen, missing = pick_currency(query, present)
    report = UnitReport(query, scope, chosen, present, missing)
    span = window(query)
    if span is None or not present:
        return report
    teams, viewer = scope.team_list, scope.viewer
    money = dict(basis=query.basis, currency=chosen)
    common = dict(teams=teams, group_by=(query.group_by,), share_idle=query.share_idle, **money)
    report.summary = unit_costs(*span, viewer=viewer, **common)
    report.periods = unit_costs(*span, period=query.grain, viewer=viewer, **common)
    report.output_weight = token_weight(*span)
    report.teams_idle = idle_capacity(*span, by="team", teams=teams, viewer=viewer, **money)
    report.idle_withheld = withheld_count(*span, viewer, **money)
    if query.group_by == "model":
        shown = [row.key for row in report.summary]
        report.hosted = providers_by_model(*span, currency=chosen, models=shown, teams=teams)
    if scope.whole_company:
        report.pools = idle_capacity(*span, by="pool", **money)
        org = idle_capacity(*span, by="org", **money)
        report.org = org[0] if org else None
    return report
