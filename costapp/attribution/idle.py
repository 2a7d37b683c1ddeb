"""Idle capacity and the idle shares of each pool-hour: the read the cost and unit reads build on.

Idle is stored as its own line per resource-hour. Shared back (OpenCost's share-idle), each
pool-hour's idle cost and idle GPU-hours go to the (team, model, endpoint) keys that used that
pool in that hour, in proportion to their usage cost, split exactly (largest remainder at
1E-10) so that every grouping of the shares adds up to the idle handed out; idle in a pool-hour
nobody used stays idle.

A reader who is not finance passes `viewer` (their teams, `Scope.viewer`): the idle share of a
pool-hour that exactly one team outside them used is withheld from every figure they get, at
any grain, since own idle share / own use gives the pool's utilization and, with it, that
team's use (costapp.core.access.total_reveals_one_team; docs/ARCHITECTURE.md, "What a team lead
may see"). The split itself does not change: the withheld parts are left out, never handed to
anyone else.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connections

from costapp.core.routers import read_alias
from costapp.money import ZERO

from . import rollups
from .query import BASES


def cost_column(basis: str) -> str:
    if basis not in BASES:
        raise ValueError(f"basis must be one of {sorted(BASES)}")
    return BASES[basis]


def read_cursor():
    """A cursor for a read of the read layer: on the replica inside a read-only page or API
    request (costapp.core.routers.read_alias), else on default. A replica lags its primary by
    up to its replication delay: the rollups' stale-day refresh (rollups.ensure_current, a
    write) runs on default before the SQL is built, and what it rewrote reaches the replica
    once replayed there."""
    return connections[read_alias()].cursor()


def fetch(sql: str, params: dict) -> list[dict]:
    """Rows of a read query as dicts of column name to value, for the reads to turn into
    dataclasses (read_cursor: the replica when the request may read it)."""
    with read_cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def only(currency: str | None) -> str:
    """A WHERE condition for one currency (bound as %(currency)s), or none for every row."""
    return "AND currency = %(currency)s" if currency is not None else ""


# Which reader the shares are read for (idle_ctes): any viewer bound in the parameters.
ANY_VIEWER = object()


def idle_ctes(
    col: str,
    currency: str | None,
    viewer: Collection[str] | object | None = ANY_VIEWER,
    own_only: bool = False,
    hourly: bool = False,
) -> str:
    """CTEs ending in `shares`: per hour (or day: `hour` is then the day's start, and at hour
    grain pass `hourly`), pool and usage key, part_a = its idle cost, part_b = its idle
    GPU-hours, withheld = whether the reader may not see them, n = the pool-hours summed. Read
    from the rollups (costapp.attribution.rollups), split when attribution ran. Bind
    `idle_params`. Passing the reader's `viewer` (None: finance) lets finance and a lead of one
    team whose read keeps only that team's shares (`own_only`) read the daily rollups."""
    if viewer is None:
        mode = "all"
    elif viewer is not ANY_VIEWER and own_only and len(viewer) == 1:  # type: ignore[arg-type]
        mode = "own"
    else:
        mode = "general"
    return rollups.shares(col, currency, mode, hourly)


def idle_withheld(
    start: datetime,
    end: datetime,
    viewer: Collection[str] | None,
    basis: str = "amortized",
    currency: str | None = None,
) -> list[tuple[datetime, str, str]]:
    """The (hour, pool, currency) whose idle shares are withheld from a reader whose teams are
    `viewer` (None: finance, nothing withheld): those that exactly one other team used.

    A share is the pool's idle x own use / the pool's use; beside the reader's own cost it gives
    the pool's utilization, and from it, with one other team, that team's use. Withheld whether
    or not the pool had idle that hour: a share shown only when it is zero would tell that the
    pool was fully busy just the same.
    """
    if viewer is None:
        return []
    viewer = list(viewer)
    sql = rollups.withheld_sql(cost_column(basis), currency, viewer)
    rows = fetch(
        sql + " ORDER BY hour, pool, currency",
        {"start": start, "end": end, "currency": currency, "viewer": viewer},
    )
    return [(row["hour"], row["pool"], row["currency"]) for row in rows]


def withheld_count(
    start: datetime,
    end: datetime,
    viewer: Collection[str] | None,
    basis: str = "amortized",
    currency: str | None = None,
) -> int:
    """How many pool-hours `idle_withheld` holds back, counted in SQL."""
    if viewer is None:
        return 0
    viewer = list(viewer)
    sql = rollups.withheld_sql(cost_column(basis), currency, viewer)
    rows = fetch(
        f"SELECT count(*) AS n FROM ({sql}) held",
        {"start": start, "end": end, "currency": currency, "viewer": viewer},
    )
    return rows[0]["n"]


def idle_params(
    start: datetime,
    end: datetime,
    basis: str,
    currency: str | None,
    viewer: Collection[str] | None,
) -> dict:
    """Query parameters for `idle_ctes`: the window, the currency and the reader's teams."""
    cost_column(basis)
    return {
        "start": start,
        "end": end,
        "currency": currency,
        "viewer": None if viewer is None else list(viewer),
    }


def shared_idle(
    start: datetime,
    end: datetime,
    basis: str,
    currency: str | None,
    viewer: Collection[str] | None = None,
) -> dict[str, tuple[Decimal, Decimal]]:
    """Each team's idle cost and idle GPU-hours under share-idle, less what `viewer` may not
    see."""
    rows = fetch(
        f"""WITH {idle_ctes(cost_column(basis), currency, viewer)}
            SELECT team, sum(part_a) AS idle_cost, sum(part_b) AS idle_gpu_hours
            FROM shares WHERE NOT withheld GROUP BY team""",
        idle_params(start, end, basis, currency, viewer),
    )
    return {row["team"]: (row["idle_cost"], row["idle_gpu_hours"]) for row in rows}


@dataclass(frozen=True)
class Capacity:
    """Idle capacity of a pool, a team or the whole company (`key` "org")."""

    key: str
    gpu_hours: Decimal
    idle_gpu_hours: Decimal
    gpu_cost: Decimal
    idle_cost: Decimal

    @property
    def idle_hours_pct(self) -> Decimal | None:
        return self.idle_gpu_hours * 100 / self.gpu_hours if self.gpu_hours else None

    @property
    def idle_cost_pct(self) -> Decimal | None:
        return self.idle_cost * 100 / self.gpu_cost if self.gpu_cost else None


def idle_capacity(
    start: datetime,
    end: datetime,
    by: str = "org",
    teams: list[str] | None = None,
    basis: str = "amortized",
    currency: str | None = None,
    viewer: Collection[str] | None = None,
) -> list[Capacity]:
    """Idle-capacity %: idle GPU-hours / GPU-hours and idle cost / GPU cost.

    by="org" or "pool": whole-company figures over every GPU line (usage, idle, unallocated,
    unmeasured; unmeasured hours count as GPU-hours but not as idle). by="team": each team's
    busy GPU-hours and cost plus the idle it would carry under share-idle, less the pool-hours
    withheld from `viewer`.
    """
    col = cost_column(basis)
    params = {"start": start, "end": end, "currency": currency}
    if by == "team":
        idle = shared_idle(start, end, basis, currency, viewer)
        rows = fetch(
            f"""SELECT team AS key, sum(gpu_hours) AS busy_hours, sum({col}) AS busy_cost
                FROM {rollups.lines()} lines
                WHERE kind = 'usage' AND hour >= %(start)s AND hour < %(end)s {only(currency)}
                GROUP BY team ORDER BY team""",
            params,
        )
        result = []
        for row in rows:
            if teams is not None and row["key"] not in teams:
                continue
            idle_cost, idle_hours = idle.get(row["key"], (ZERO, ZERO))
            result.append(
                Capacity(
                    row["key"],
                    gpu_hours=row["busy_hours"] + idle_hours,
                    idle_gpu_hours=idle_hours,
                    gpu_cost=row["busy_cost"] + idle_cost,
                    idle_cost=idle_cost,
                )
            )
        return result
    if by not in ("org", "pool"):
        raise ValueError("by must be org, pool or team")
    key = "pool" if by == "pool" else "'org'"
    rows = fetch(
        f"""SELECT {key} AS key, sum(gpu_hours) AS gpu_hours,
                   sum(CASE WHEN kind = 'idle' THEN gpu_hours ELSE 0 END) AS idle_gpu_hours,
                   sum({col}) AS gpu_cost,
                   sum(CASE WHEN kind = 'idle' THEN {col} ELSE 0 END) AS idle_cost
            FROM {rollups.lines()} lines
            WHERE pool <> '' AND hour >= %(start)s AND hour < %(end)s {only(currency)}
            GROUP BY 1 ORDER BY 1""",
        params,
    )
    return [Capacity(**row) for row in rows]
