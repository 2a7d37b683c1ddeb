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

from django.db import connection

from costapp.core.access import total_reveals_one_team
from costapp.money import ZERO

from .query import BASES
from .splitsql import largest_remainder


def cost_column(basis: str) -> str:
    if basis not in BASES:
        raise ValueError(f"basis must be one of {sorted(BASES)}")
    return BASES[basis]


def fetch(sql: str, params: dict) -> list[dict]:
    """Rows of a read query as dicts of column name to value, for the reads to turn into
    dataclasses."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def only(currency: str | None) -> str:
    """A WHERE condition for one currency (bound as %(currency)s), or none for every row."""
    return "AND currency = %(currency)s" if currency is not None else ""


# A key's weight in its pool-hour: its usage cost, a credit counting as no use.
_USED = """
used AS (
    SELECT hour, pool, currency, team, model, endpoint, greatest(sum({col}), 0) AS weight
    FROM attribution_allocation
    WHERE kind = 'usage' AND hour >= %(start)s AND hour < %(end)s {currency}
    GROUP BY hour, pool, currency, team, model, endpoint
)"""

# Each pool-hour's idle cost (amount_a) and idle GPU-hours (amount_b) split exactly across the
# keys that used the pool in that hour, by their usage cost; per currency too, as the engine
# conserves: a pool's euro idle goes by its euro use. `shares` marks the parts withheld from the
# reader (%(held_*)s, see idle_withheld); they are still computed so that every other part stays
# exactly what it was.
_IDLE_SHARES = (
    _USED
    + """, idle AS (
    SELECT hour, pool, currency, sum({col}) AS amount_a, sum(gpu_hours) AS amount_b
    FROM attribution_allocation
    WHERE kind = 'idle' AND hour >= %(start)s AND hour < %(end)s {currency}
    GROUP BY hour, pool, currency
), src AS (
    SELECT * FROM (
        SELECT u.*, i.amount_a, i.amount_b,
               sum(u.weight) OVER (PARTITION BY u.hour, u.pool, u.currency) AS pool_use
        FROM used u
        JOIN idle i ON i.hour = u.hour AND i.pool = u.pool AND i.currency = u.currency
    ) x WHERE pool_use > 0
), {split}, held AS (
    SELECT * FROM unnest(%(held_hour)s::timestamptz[], %(held_pool)s::text[],
                         %(held_currency)s::text[]) AS h(hour, pool, currency)
), shares AS (
    SELECT lr.*, EXISTS (
        SELECT 1 FROM held h
        WHERE h.hour = lr.hour AND h.pool = lr.pool AND h.currency = lr.currency
    ) AS withheld
    FROM lr
)"""
)

# The pool-hours the viewer's teams used, with how many other teams used them: a team counts
# only with some use (a credit-only key takes no part of the split, so it hides nobody).
_VIEWER_POOL_HOURS = (
    "WITH"
    + _USED
    + """
SELECT hour, pool, currency,
       count(DISTINCT team) FILTER (WHERE weight > 0 AND NOT team = ANY(%(viewer)s)) AS others
FROM used GROUP BY hour, pool, currency
HAVING bool_or(team = ANY(%(viewer)s))
ORDER BY hour, pool, currency"""
)


def idle_ctes(col: str, currency: str | None) -> str:
    """CTEs ending in `shares`: per hour, pool and usage key, part_a = its idle cost, part_b =
    its idle GPU-hours, withheld = whether the reader may not see them. Bind `idle_params`."""
    split = largest_remainder("src", "hour, pool, currency", "team, model, endpoint")
    return _IDLE_SHARES.format(col=col, split=split, currency=only(currency))


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
    rows = fetch(
        _VIEWER_POOL_HOURS.format(col=cost_column(basis), currency=only(currency)),
        {"start": start, "end": end, "currency": currency, "viewer": list(viewer)},
    )
    return [
        (row["hour"], row["pool"], row["currency"])
        for row in rows
        if total_reveals_one_team(row["others"])
    ]


def idle_params(
    start: datetime,
    end: datetime,
    basis: str,
    currency: str | None,
    viewer: Collection[str] | None,
) -> dict:
    """Query parameters for `idle_ctes`, with the pool-hours withheld from `viewer`."""
    held = idle_withheld(start, end, viewer, basis, currency)
    return {
        "start": start,
        "end": end,
        "currency": currency,
        "held_hour": [hour for hour, _, _ in held],
        "held_pool": [pool for _, pool, _ in held],
        "held_currency": [code for _, _, code in held],
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
        f"""WITH {idle_ctes(cost_column(basis), currency)}
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
                FROM attribution_allocation
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
            FROM attribution_allocation
            WHERE pool <> '' AND hour >= %(start)s AND hour < %(end)s {only(currency)}
            GROUP BY 1 ORDER BY 1""",
        params,
    )
    return [Capacity(**row) for row in rows]
