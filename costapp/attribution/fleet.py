"""The GPU fleet, whole company (finance only): per pool and GPU type the GPU-hours, utilization
and idle cost, an hour-by-day utilization grid, the price paid per GPU-hour by pricing category,
and the GPUs with no telemetry.

Utilization here is measured time only: busy GPU-hours / (GPU-hours less the unmeasured ones),
as the engine measures it (an unmeasured resource-hour is never counted busy or idle). A GPU's
type is the one the engine stored on each allocation from the inventory version in force at its
hour (`Allocation.gpu_type`); a line whose resource was not in it then is "(unknown)".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from costapp.money import ZERO

from . import rollups
from .idle import cost_column, fetch

HUNDRED = Decimal(100)
UNKNOWN_TYPE = "(unknown)"


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return part * HUNDRED / whole if whole else None


@dataclass(frozen=True)
class PoolUse:
    """One pool and GPU type over the window."""

    pool: str
    gpu_type: str
    gpu_hours: Decimal
    idle_gpu_hours: Decimal
    unmeasured_gpu_hours: Decimal
    cost: Decimal
    idle_cost: Decimal

    @property
    def measured_gpu_hours(self) -> Decimal:
        return self.gpu_hours - self.unmeasured_gpu_hours

    @property
    def utilization_pct(self) -> Decimal | None:
        measured = self.measured_gpu_hours
        return _pct(measured - self.idle_gpu_hours, measured)

    @property
    def idle_cost_pct(self) -> Decimal | None:
        return _pct(self.idle_cost, self.cost)


@dataclass(frozen=True)
class GpuPrice:
    """What a GPU-hour cost, per GPU type and pricing category (on-demand, commitment, spot)."""

    gpu_type: str
    pricing_category: str
    gpu_hours: Decimal
    cost: Decimal

    @property
    def per_gpu_hour(self) -> Decimal | None:
        return self.cost / self.gpu_hours if self.gpu_hours else None


@dataclass(frozen=True)
class Unmeasured:
    """A GPU resource with hours that had no telemetry: inferred from request load, or
    unmeasured altogether (no telemetry and no requests)."""

    resource_id: str
    pool: str
    gpu_type: str
    inferred_hours: int
    unmeasured_hours: int
    unmeasured_cost: Decimal


@dataclass
class Heatmap:
    """Utilization % per UTC day (columns) and hour of day (rows 0-23); None: no measured
    GPU time in that hour."""

    pool: str | None
    days: list[date] = field(default_factory=list)
    cells: list[list[Decimal | None]] = field(default_factory=list)  # [hour][day]


@dataclass
class Fleet:
    currency: str
    pools: list[PoolUse] = field(default_factory=list)
    prices: list[GpuPrice] = field(default_factory=list)
    unmeasured: list[Unmeasured] = field(default_factory=list)
    heatmap: Heatmap | None = None

    @property
    def total(self) -> PoolUse:
        def summed(name: str) -> Decimal:
            return sum((getattr(p, name) for p in self.pools), ZERO)

        return PoolUse(
            "all",
            "",
            summed("gpu_hours"),
            summed("idle_gpu_hours"),
            summed("unmeasured_gpu_hours"),
            summed("cost"),
            summed("idle_cost"),
        )


_TYPE = "coalesce(nullif(a.gpu_type, ''), %(unknown)s)"
# GPU lines: those on a pool or on a resource of the inventory (as in force at their hour: the
# engine stored its GPU type and count on the row, which the rollups keep as `gpu_counted`).
_WHERE = """
WHERE (a.pool <> '' OR {counted}) AND a.hour >= %(start)s AND a.hour < %(end)s
  AND a.currency = %(currency)s"""


def _gpu_lines(source: str) -> str:
    """FROM and WHERE of the GPU lines of the window: `source` "rollup" (the daily and edge-hour
    rollups), "hourly" (the hourly rollups) or "raw" (the allocations, per resource)."""
    if source == "raw":
        return " FROM attribution_allocation a" + _WHERE.format(counted="a.gpu_count IS NOT NULL")
    table = rollups.lines(hourly=source == "hourly")
    return f" FROM {table} a" + _WHERE.format(counted="a.gpu_counted")


_POOLS = """SELECT a.pool, {gpu_type} AS gpu_type, sum(a.gpu_hours) AS gpu_hours,
       sum(CASE WHEN a.kind = 'idle' THEN a.gpu_hours ELSE 0 END) AS idle_gpu_hours,
       sum(CASE WHEN a.kind = 'unmeasured' THEN a.gpu_hours ELSE 0 END) AS unmeasured_gpu_hours,
       sum(a.{col}) AS cost, sum(CASE WHEN a.kind = 'idle' THEN a.{col} ELSE 0 END) AS idle_cost
       {lines} GROUP BY 1, 2 ORDER BY 1, 2"""

_PRICES = """SELECT coalesce(nullif(a.gpu_type, ''), %(unknown)s) AS gpu_type,
       coalesce(nullif(a.pricing_category, ''), '(none)') AS pricing_category,
       sum(a.gpu_hours) AS gpu_hours, sum(a.{col}) AS cost
       {lines} GROUP BY 1, 2 ORDER BY 1, 2"""

# Per resource, so from the raw rows: only those of the resources with an inferred or
# unmeasured hour in the window (found through the partial index on those rows), all of their
# GPU lines then read to keep max(pool) and max(gpu_type) what they are over the window.
_UNMEASURED = """SELECT a.resource_id, max(a.pool) AS pool,
       coalesce(nullif(max(a.gpu_type), ''), %(unknown)s) AS gpu_type,
       count(DISTINCT a.hour) FILTER (WHERE a.utilization_source = 'inferred') AS inferred_hours,
       count(DISTINCT a.hour) FILTER (WHERE a.kind = 'unmeasured') AS unmeasured_hours,
       coalesce(sum(a.{col}) FILTER (WHERE a.kind = 'unmeasured'), 0) AS unmeasured_cost
       {lines}
      AND a.resource_id IN (
        SELECT f.resource_id FROM attribution_allocation f
        WHERE (f.kind = 'unmeasured' OR f.utilization_source = 'inferred')
          AND f.hour >= %(start)s AND f.hour < %(end)s AND f.currency = %(currency)s)
    GROUP BY a.resource_id
    HAVING bool_or(a.kind = 'unmeasured' OR a.utilization_source = 'inferred')
    ORDER BY unmeasured_cost DESC, a.resource_id"""

_HEATMAP = """SELECT (date_trunc('day', a.hour AT TIME ZONE 'UTC'))::date AS day,
       extract(hour FROM a.hour AT TIME ZONE 'UTC')::int AS hour_of_day,
       sum(a.gpu_hours) FILTER (WHERE a.kind <> 'unmeasured') AS measured,
       sum(a.gpu_hours) FILTER (WHERE a.kind = 'idle') AS idle
       {lines} {pool} GROUP BY 1, 2 ORDER BY 1, 2"""


def heatmap(params: dict, pool: str | None) -> Heatmap:
    where = "AND a.pool = %(pool)s" if pool is not None else ""
    rows = fetch(_HEATMAP.format(lines=_gpu_lines("hourly"), pool=where), {**params, "pool": pool})
    grid = Heatmap(pool, days=sorted({row["day"] for row in rows}))
    column = {day: index for index, day in enumerate(grid.days)}
    grid.cells = [[None] * len(grid.days) for _ in range(24)]
    for row in rows:  # one per (day, hour) cell, aggregated in SQL
        measured = row["measured"] or ZERO
        if measured:
            busy = measured - (row["idle"] or ZERO)
            grid.cells[row["hour_of_day"]][column[row["day"]]] = busy * HUNDRED / measured
    return grid


def fleet(
    span: tuple[datetime, datetime], basis: str, currency: str, pool: str | None = None
) -> Fleet:
    """The fleet in [span) and `currency`; the heatmap of `pool`, or of every pool together."""
    col = cost_column(basis)
    params = {"start": span[0], "end": span[1], "currency": currency, "unknown": UNKNOWN_TYPE}
    return Fleet(
        currency=currency,
        pools=[
            PoolUse(**row)
            for row in fetch(
                _POOLS.format(col=col, gpu_type=_TYPE, lines=_gpu_lines("rollup")), params
            )
        ],
        prices=[
            GpuPrice(**row)
            for row in fetch(_PRICES.format(col=col, lines=_gpu_lines("rollup")), params)
        ],
        unmeasured=[
            Unmeasured(**row)
            for row in fetch(_UNMEASURED.format(col=col, lines=_gpu_lines("raw")), params)
        ],
        heatmap=heatmap(params, pool),
    )


def pool_utilization(
    span: tuple[datetime, datetime], basis: str, currency: str
) -> dict[str, PoolUse]:
    """Each pool's use over the window, all GPU types together (finance only)."""
    rows = fetch(
        _POOLS.format(col=cost_column(basis), gpu_type="''", lines=_gpu_lines("rollup")),
        {"start": span[0], "end": span[1], "currency": currency, "unknown": UNKNOWN_TYPE},
    )
    return {row["pool"]: PoolUse(**row) for row in rows}
