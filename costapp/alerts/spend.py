"""What a budget has spent: daily sums of allocations for its scope, basis and idle choice.

A team, model or endpoint budget sums its usage and shared lines and, fully loaded, its share
of the idle of the pools it used: each pool-hour's idle split across the (team, model,
endpoint) keys that used the pool in that hour by their usage cost, exactly as `/units/` splits
it (costapp.attribution.idle, share-idle, largest remainder at 1E-10), so a team budget and the
team's fully loaded cost on `/units/` agree to the quantum. Evaluation reads finance's figures
(`viewer` None: nothing withheld). A team lead's pages pass their teams as `viewer`, and the
idle share of each pool-hour shared with exactly one other team is left out, as on every page
a lead gets (docs/ARCHITECTURE.md, "What a team lead may see"). An org, pool or provider
budget sums the allocation rows themselves: fully loaded, every line (usage, shared, idle,
unallocated, unmeasured: the whole bill of that scope); busy only, every line but idle; those
budgets are finance's alone (costapp.alerts.selectors), so no viewer applies to them. A provider
is matched through the cost lines of that provider's resources (Allocation carries no
provider). One currency per budget: nothing converts. Days are UTC.

There are no daily rollups yet; when they exist, only this module changes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection

from costapp.attribution import rollups
from costapp.attribution.idle import idle_ctes, idle_params, idle_withheld
from costapp.money import ZERO, quantize

from .models import Budget, Idle, Period, ScopeKind

_COLUMNS = {"amortized": "amortized_cost", "billed": "billed_cost"}
# Whom a budget's spend is broken down by in a message ("the top drivers").
_DRIVER_OF = {
    ScopeKind.TEAM: "model",
    ScopeKind.MODEL: "team",
    ScopeKind.ENDPOINT: "team",
}


@dataclass(frozen=True)
class DailySpend:
    """Spend per UTC day over [start, end); days with no allocation are absent."""

    start: date
    end: date
    amounts: dict[date, Decimal] = field(default_factory=dict)

    def total(self, since: date | None = None, until: date | None = None) -> Decimal:
        return sum(
            (
                amount
                for day, amount in self.amounts.items()
                if (since is None or day >= since) and (until is None or day < until)
            ),
            ZERO,
        )

    def series(self, since: date, until: date) -> list[Decimal]:
        """Each day of [since, until) in order, zero where nothing was spent."""
        days = (until - since).days
        return [self.amounts.get(since + timedelta(days=i), ZERO) for i in range(max(days, 0))]

    @property
    def first_day(self) -> date | None:
        return min(self.amounts) if self.amounts else None


@dataclass(frozen=True)
class Driver:
    name: str
    amount: Decimal


def period_bounds(period: str, moment: datetime) -> tuple[date, date]:
    """The UTC month or quarter holding `moment`: [first day, first day of the next)."""
    day = moment.astimezone(UTC).date()
    months = 3 if period == Period.QUARTER else 1
    first_month = (day.month - 1) // months * months + 1
    start = date(day.year, first_month, 1)
    next_month = first_month + months
    end = date(day.year + (next_month - 1) // 12, (next_month - 1) % 12 + 1, 1)
    return start, end


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def daily_spend(
    budget: Budget, start: date, end: datetime, viewer: Collection[str] | None = None
) -> DailySpend:
    """The budget's spend per day from `start` (a UTC day) to the moment `end`, less the idle
    shares withheld from `viewer` (None: finance, nothing withheld)."""
    day = "(date_trunc('day', hour))::date"
    rows = _rows(budget, midnight(start), end, day, "day", viewer)
    amounts = {row["day"]: row["cost"] for row in rows}
    return DailySpend(start, end.astimezone(UTC).date(), amounts)


def top_drivers(
    budget: Budget,
    start: date,
    end: datetime,
    limit: int = 3,
    viewer: Collection[str] | None = None,
) -> list[Driver]:
    """Who spent the most of the budget in [start, end): for a team its models, for a model or
    endpoint its teams, for the org, a pool or a provider its teams and its idle, unallocated
    and unmeasured lines (named in parentheses); less what is withheld from `viewer`."""
    if budget.scope_kind in _DRIVER_OF:
        key = f"coalesce(nullif({_DRIVER_OF[budget.scope_kind]}, ''), '(untagged)')"
    else:
        key = (
            "CASE WHEN kind IN ('usage', 'shared') AND team <> '' THEN team "
            "ELSE '(' || kind || ')' END"
        )
    rows = _rows(budget, midnight(start), end, key, "name", viewer)
    totals = {r["name"]: r["cost"] for r in rows}
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return [Driver(name, amount) for name, amount in ranked[:limit] if amount > 0]


def withheld_pool_hours(
    budget: Budget, start: date, end: datetime, viewer: Collection[str] | None
) -> int:
    """How many pool-hours in [start, end) the budget's own scope used whose idle share is
    withheld from `viewer` (costapp.attribution.idle.idle_withheld): what the page's note
    counts. A busy-only budget carries no idle, so nothing of it is withheld."""
    if viewer is None or budget.scope_kind not in _DRIVER_OF or budget.idle != Idle.FULLY_LOADED:
        return 0
    held = idle_withheld(midnight(start), end, viewer, budget.basis, budget.currency)
    if not held:
        return 0
    sql = f"""SELECT count(*) FROM (
        SELECT DISTINCT a.hour, a.pool
        FROM attribution_allocation a
        JOIN unnest(%(hours)s::timestamptz[], %(pools)s::text[], %(codes)s::text[])
             AS h(hour, pool, currency)
          ON h.hour = a.hour AND h.pool = a.pool AND h.currency = a.currency
        WHERE a.kind = 'usage' AND a.{budget.scope_kind} = %(value)s
    ) used"""
    params = {
        "hours": [hour for hour, _, _ in held],
        "pools": [pool for _, pool, _ in held],
        "codes": [code for _, _, code in held],
        "value": budget.scope_value,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


# A key's usage and shared lines and, fully loaded, its share of each pool-hour's idle as
# costapp.attribution.idle splits it (`shares`), less the parts withheld from the reader.
_SCOPED = """
WITH {idle_ctes}costs AS (
    SELECT hour, team, model, endpoint, {col} AS cost
    FROM {lines} lines
    WHERE kind IN ('usage', 'shared') AND team <> ''
      AND hour >= %(start)s AND hour < %(end)s AND currency = %(currency)s
    {idle_shares}
)
SELECT {key} AS {name}, sum(cost) AS cost FROM costs
WHERE {scope} = %(value)s GROUP BY 1"""
_IDLE_SHARES = """UNION ALL
    SELECT hour, team, model, endpoint, part_a FROM shares WHERE NOT withheld"""


def _rows(
    budget: Budget,
    since: datetime,
    end: datetime,
    key: str,
    name: str,
    viewer: Collection[str] | None,
) -> list[dict]:
    if budget.scope_kind not in _DRIVER_OF:
        if viewer is not None:
            # Every line of the org, a pool or a provider holds other teams' figures.
            raise ValueError(f"a {budget.scope_kind} budget's spend is for finance only")
        params = {"start": since, "end": end, "currency": budget.currency}
        return _raw_rows(budget, {**params, "value": budget.scope_value}, key, name)
    col = _COLUMNS[budget.basis]
    fully_loaded = budget.idle == Idle.FULLY_LOADED
    sql = _SCOPED.format(
        idle_ctes=(idle_ctes(col, budget.currency, viewer) + ", ") if fully_loaded else "",
        idle_shares=_IDLE_SHARES if fully_loaded else "",
        lines=rollups.lines(),
        col=col,
        key=key,
        name=name,
        scope=budget.scope_kind,
    )
    if fully_loaded:
        params = idle_params(since, end, budget.basis, budget.currency, viewer)
    else:
        params = {"start": since, "end": end, "currency": budget.currency}
    return _fetch(sql, {**params, "value": budget.scope_value}, name)


def _fetch(sql: str, params: dict, name: str) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [{name: row[0], "cost": quantize(row[1])} for row in cursor.fetchall()]


def _raw_rows(budget: Budget, params: dict, key: str, name: str) -> list[dict]:
    where = ["hour >= %(start)s", "hour < %(end)s", "currency = %(currency)s"]
    if budget.idle == Idle.BUSY_ONLY:
        where.append("kind <> 'idle'")
    # The org and a pool read the rollups; a provider's lines are told by their resource,
    # which only the raw rows keep.
    source = f"{rollups.lines()} lines"
    if budget.scope_kind == ScopeKind.POOL:
        where.append("pool = %(value)s")
    elif budget.scope_kind == ScopeKind.PROVIDER:
        source = "attribution_allocation"
        where.append(
            "resource_id IN (SELECT resource_id FROM ingest_costline "
            "WHERE provider = %(value)s AND resource_id <> '')"
        )
    sql = (
        f"SELECT {key} AS {name}, sum({_COLUMNS[budget.basis]}) AS cost "
        f"FROM {source} WHERE {' AND '.join(where)} GROUP BY 1"
    )
    return _fetch(sql, params, name)
