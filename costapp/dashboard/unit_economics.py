"""Unit economics for the /units/ page: cost per token and request over time, idle capacity.

A thin read over costapp.attribution.selectors (unit_costs, idle_capacity) within what the user
may see: team leads get their own teams' rows and team idle, less the idle shares of pool-hours
they share with exactly one other team (attribution.selectors.idle_withheld); pools and the org
are for finance.
One currency at a time, chosen as on the overview (costapp.dashboard.selectors.currencies).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from costapp.attribution import selectors as attribution

from .selectors import Basis, Scope, currencies, currency_param, scope_for, window

GRAINS = ("hour", "day", "month")
DIMENSIONS = ("team", "model", "endpoint")
# A table of hourly rows over a quarter would be tens of thousands of lines; the chart shows
# them all, the table the newest.
MAX_PERIOD_ROWS = 500


@dataclass
class Units:
    basis: Basis
    scope: Scope
    currency: str
    currencies: list[str]  # every currency the scope has in the period, biggest first
    by: str
    grain: str
    share_idle: bool
    summary: list[dict] = field(default_factory=list)  # whole window, per key
    periods: list[dict] = field(default_factory=list)  # per grain and key, oldest first
    pools: list[dict] = field(default_factory=list)  # idle capacity per pool (finance)
    org: dict | None = None  # idle capacity of the whole company (finance)
    teams_idle: list[dict] = field(default_factory=list)  # idle each team carries if shared
    # Pool-hours whose idle shares are left out of every figure here (leads only).
    idle_withheld: int = 0

    @property
    def newest_periods(self) -> list[dict]:
        by_key = sorted(self.periods, key=lambda row: row["key"])
        return sorted(by_key, key=lambda row: row["period"], reverse=True)[:MAX_PERIOD_ROWS]

    @property
    def truncated(self) -> bool:
        return len(self.periods) > MAX_PERIOD_ROWS


def units(
    user,
    basis: Basis = "amortized",
    start: date | None = None,
    end: date | None = None,
    by: str = "team",
    grain: str = "day",
    share_idle: bool = False,
    currency: str | None = None,
) -> Units:
    scope = scope_for(user)
    present = currencies(scope, basis, start, end)
    result = Units(
        basis=basis,
        scope=scope,
        currency=currency_param(currency, present),
        currencies=present,
        by=by,
        grain=grain,
        share_idle=share_idle,
    )
    bounds = window(start, end)
    if bounds is None:
        return result
    teams = scope.team_list
    money = dict(basis=basis, currency=result.currency, viewer=teams)
    common = dict(teams=teams, group_by=(by,), share_idle=share_idle, **money)
    result.summary = attribution.unit_costs(*bounds, **common)
    result.periods = attribution.unit_costs(*bounds, period=grain, **common)
    for row in (*result.summary, *result.periods):
        row["key"] = row[by]  # templates cannot index by a variable
    result.teams_idle = attribution.idle_capacity(*bounds, by="team", teams=teams, **money)
    result.idle_withheld = len(attribution.idle_withheld(*bounds, **money))
    if scope.whole_company:
        result.pools = attribution.idle_capacity(*bounds, by="pool", **money)
        org = attribution.idle_capacity(*bounds, by="org", **money)
        result.org = org[0] if org else None
    return result
