"""Read queries over allocations shared by pages and the API: team costs and unit economics.

Every function takes a [start, end) window, a cost basis ("amortized" = FOCUS EffectiveCost,
the default, or "billed") and, where it reports per team, the list of team slugs the caller may
see (from costapp.core.access.visible_teams); None means every team (finance). Money is never
summed across currencies: pass `currency` (a FOCUS BillingCurrency) to read one; None reads
every row, for callers that know there is only one.

Idle is stored as its own line per resource-hour. With share_idle (OpenCost's share-idle, the
org's AttributionPolicy.idle_policy "share" by default), each pool-hour's idle cost and idle
GPU-hours are handed to the (team, model, endpoint) keys that used that pool in that hour, in
proportion to their usage cost, split exactly (largest remainder at 1E-10) so team, unit-cost
and company views add up to the same total; idle in a pool-hour nobody used stays idle.

A reader who is not finance passes `viewer` (their teams): the idle share of a pool-hour that
exactly one team outside them used is withheld from every figure they get, at any grain, since
own idle share / own use gives the pool's utilization and, with it, that team's use
(costapp.core.access.total_reveals_one_team; docs/ARCHITECTURE.md, "What a team lead may see").
The split itself does not change: the withheld parts are left out, never handed to anyone else.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection

from costapp.core.access import total_reveals_one_team
from costapp.money import ZERO, quantize

from .models import AttributionPolicy, IdlePolicy
from .splitsql import largest_remainder

_BASIS = {"amortized": "amortized_cost", "billed": "billed_cost"}
_GROUPS = ("team", "model", "endpoint")
_PERIODS = ("hour", "day", "month")
MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class TeamCost:
    team: str
    usage: Decimal  # busy GPU cost split by measured use
    shared: Decimal  # shared / non-GPU cost distributed by rules
    idle: Decimal  # idle handed back under share-idle (zero when idle is kept separate)
    total: Decimal


def _column(basis: str) -> str:
    if basis not in _BASIS:
        raise ValueError(f"basis must be one of {sorted(_BASIS)}")
    return _BASIS[basis]


def _share_idle_default(share_idle: bool | None) -> bool:
    if share_idle is None:
        return AttributionPolicy.current().idle_policy == IdlePolicy.SHARE
    return share_idle


def _fetch(sql: str, params: dict) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# A key's weight in its pool-hour: its usage cost, a credit counting as no use.
_USED = """
used AS (
    SELECT hour, pool, currency, team, model, endpoint, greatest(sum({col}), 0) AS weight
    FROM attribution_allocation
    WHERE kind = 'usage' AND hour >= %(start)s AND hour < %(end)s {currency}
    GROUP BY hour, pool, currency, team, model, endpoint
)"""

# Each pool-hour's idle cost (amount_a) and idle GPU-hours (amount_b) split exactly
# (largest remainder at 1E-10) across the (team, model, endpoint) keys that used the pool in
# that hour, by their usage cost: every grouping of the shares adds up to the idle handed out.
# Per currency too, as the engine conserves: a pool's euro idle goes by its euro use.
# `shares` marks the parts of the pool-hours withheld from the reader (%(held_*)s, see
# idle_withheld); they are still computed so that every other part stays exactly what it was.
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


def _only(currency: str | None) -> str:
    """A WHERE condition for one currency (bound as %(currency)s), or none for every row."""
    return "AND currency = %(currency)s" if currency is not None else ""


def _idle_ctes(col: str, currency: str | None) -> str:
    """CTEs ending in `shares`: per hour, pool and usage key, part_a = its idle cost, part_b =
    its idle GPU-hours, withheld = whether the reader may not see them."""
    split = largest_remainder("src", "hour, pool, currency", "team, model, endpoint")
    return _IDLE_SHARES.format(col=col, split=split, currency=_only(currency))


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
    return _withheld(start, end, _column(basis), currency, viewer)


def _withheld(
    start: datetime, end: datetime, col: str, currency: str | None, viewer: Collection[str] | None
) -> list[tuple[datetime, str, str]]:
    if viewer is None:
        return []
    rows = _fetch(
        _VIEWER_POOL_HOURS.format(col=col, currency=_only(currency)),
        {"start": start, "end": end, "currency": currency, "viewer": list(viewer)},
    )
    return [
        (row["hour"], row["pool"], row["currency"])
        for row in rows
        if total_reveals_one_team(row["others"])
    ]


def _params(
    start: datetime, end: datetime, col: str, currency: str | None, viewer: Collection[str] | None
) -> dict:
    """Query parameters for the idle CTEs, with the pool-hours withheld from `viewer`."""
    held = _withheld(start, end, col, currency, viewer)
    return {
        "start": start,
        "end": end,
        "currency": currency,
        "held_hour": [hour for hour, _, _ in held],
        "held_pool": [pool for _, pool, _ in held],
        "held_currency": [code for _, _, code in held],
    }


def _idle_shares(
    start: datetime,
    end: datetime,
    col: str,
    currency: str | None,
    viewer: Collection[str] | None = None,
) -> list[dict]:
    return _fetch(
        f"""WITH {_idle_ctes(col, currency)}
            SELECT hour, team, model, endpoint, part_a AS idle_cost, part_b AS idle_gpu_hours
            FROM shares WHERE NOT withheld""",
        _params(start, end, col, currency, viewer),
    )


def _shared_idle(
    start: datetime,
    end: datetime,
    col: str,
    currency: str | None,
    viewer: Collection[str] | None = None,
) -> dict[str, tuple[Decimal, Decimal]]:
    """Each team's idle cost and idle GPU-hours under share-idle, less what `viewer` may not
    see."""
    teams: dict[str, tuple[Decimal, Decimal]] = {}
    for row in _idle_shares(start, end, col, currency, viewer):
        cost, hours = teams.get(row["team"], (ZERO, ZERO))
        teams[row["team"]] = (cost + row["idle_cost"], hours + row["idle_gpu_hours"])
    return teams


def team_costs(
    start: datetime,
    end: datetime,
    teams: list[str] | None = None,
    share_idle: bool | None = None,
    basis: str = "amortized",
    currency: str | None = None,
    viewer: Collection[str] | None = None,
) -> list[TeamCost]:
    """Each visible team's cost in the window: usage + shared (+ its idle share when shared,
    less the pool-hours withheld from `viewer`)."""
    col = _column(basis)
    rows = _fetch(
        f"""SELECT team, sum(CASE WHEN kind = 'usage' THEN {col} ELSE 0 END) AS usage,
                   sum(CASE WHEN kind = 'shared' THEN {col} ELSE 0 END) AS shared
            FROM attribution_allocation
            WHERE team <> '' AND hour >= %(start)s AND hour < %(end)s {_only(currency)}
            GROUP BY team ORDER BY team""",
        {"start": start, "end": end, "currency": currency},
    )
    idle = {}
    if _share_idle_default(share_idle):
        idle = _shared_idle(start, end, col, currency, viewer)
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
) -> dict[str, Decimal]:
    """Whole-company lines that belong to no team: idle (what is left of it when shared),
    unallocated and unmeasured. For finance only (access.sees_whole_company)."""
    col = _column(basis)
    rows = _fetch(
        f"""SELECT kind, sum({col}) AS cost FROM attribution_allocation
            WHERE kind IN ('idle', 'unallocated', 'unmeasured')
              AND hour >= %(start)s AND hour < %(end)s {_only(currency)} GROUP BY kind""",
        {"start": start, "end": end, "currency": currency},
    )
    lines = {"idle": ZERO, "unallocated": ZERO, "unmeasured": ZERO}
    lines.update({r["kind"]: r["cost"] for r in rows})
    if _share_idle_default(share_idle):
        handed = sum((c for c, _ in _shared_idle(start, end, col, currency).values()), ZERO)
        lines["idle"] = quantize(lines["idle"] - handed)
    return lines


def _per(amount: Decimal, count: int | Decimal, scale: Decimal) -> Decimal | None:
    return amount * scale / count if count else None


def unit_costs(
    start: datetime,
    end: datetime,
    teams: list[str] | None = None,
    group_by: tuple[str, ...] = ("team",),
    period: str | None = None,
    basis: str = "amortized",
    share_idle: bool | None = None,
    currency: str | None = None,
    viewer: Collection[str] | None = None,
) -> list[dict]:
    """Cost per 1M input / output / blended tokens, per 1K requests and GPU-hours per 1M tokens,
    grouped by any of team/model/endpoint and optionally per hour/day/month.

    Cost is the key's usage and shared lines, plus under share-idle (the org's policy when
    share_idle is None) its share of its pools' idle cost and GPU-hours, as in team_costs;
    `idle` says how much of the cost that is. "Per 1M input tokens" divides that whole cost by
    the input tokens (and likewise for output); "blended" divides by input + output tokens.
    `idle_withheld` counts the row's idle shares withheld from `viewer` (left out of every
    figure of the row), zero for finance.
    """
    col = _column(basis)
    if not group_by or any(g not in _GROUPS for g in group_by):
        raise ValueError(f"group_by must be a subset of {_GROUPS}")
    keys = list(group_by)
    if period is not None:
        if period not in _PERIODS:
            raise ValueError(f"period must be one of {_PERIODS}")
        keys.insert(0, f"date_trunc('{period}', hour) AS period")
    select = ", ".join(keys)
    group = ", ".join(str(i) for i in range(1, len(keys) + 1))
    team_filter = "AND team = ANY(%(teams)s)" if teams is not None else ""
    idle = ""
    ctes = ""
    params = {"start": start, "end": end, "teams": teams, "currency": currency}
    if _share_idle_default(share_idle):
        ctes = _idle_ctes(col, currency) + ","
        # A withheld share still makes its row (zero, counted) so the page can say so.
        idle = """UNION ALL
            SELECT hour, team, model, endpoint, part_a, 0, 0, 0, part_b, part_a, 0 FROM shares
            WHERE NOT withheld
            UNION ALL
            SELECT hour, team, model, endpoint, 0, 0, 0, 0, 0, 0, 1 FROM shares WHERE withheld"""
        params.update(_params(start, end, col, currency, viewer))
    rows = _fetch(
        f"""WITH {ctes} costs AS (
                SELECT hour, team, model, endpoint, {col} AS cost, requests, input_tokens,
                       output_tokens, gpu_hours, 0 AS idle, 0 AS withheld
                FROM attribution_allocation
                WHERE kind IN ('usage', 'shared') AND team <> ''
                  AND hour >= %(start)s AND hour < %(end)s {_only(currency)}
                {idle}
            )
            SELECT {select}, sum(cost) AS cost, sum(idle) AS idle, sum(requests) AS requests,
                   sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
                   sum(gpu_hours) AS gpu_hours, sum(withheld) AS idle_withheld
            FROM costs WHERE true {team_filter}
            GROUP BY {group} ORDER BY {group}""",
        params,
    )
    for row in rows:
        tokens = row["input_tokens"] + row["output_tokens"]
        row["cost_per_1m_input"] = _per(row["cost"], row["input_tokens"], MILLION)
        row["cost_per_1m_output"] = _per(row["cost"], row["output_tokens"], MILLION)
        row["cost_per_1m_tokens"] = _per(row["cost"], tokens, MILLION)
        row["cost_per_1k_requests"] = _per(row["cost"], row["requests"], Decimal(1000))
        row["gpu_hours_per_1m_tokens"] = _per(row["gpu_hours"], tokens, MILLION)
    return rows


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return part * 100 / whole if whole else None


def idle_capacity(
    start: datetime,
    end: datetime,
    by: str = "org",
    teams: list[str] | None = None,
    basis: str = "amortized",
    currency: str | None = None,
    viewer: Collection[str] | None = None,
) -> list[dict]:
    """Idle-capacity %: idle GPU-hours / GPU-hours and idle cost / GPU cost.

    by="org" or "pool": whole-company figures over every GPU line (usage, idle, unallocated,
    unmeasured; unmeasured hours count as GPU-hours but not as idle). by="team": each team's
    busy GPU-hours and cost plus the idle it would carry under share-idle, less the pool-hours
    withheld from `viewer`.
    """
    col = _column(basis)
    params = {"start": start, "end": end, "currency": currency}
    if by == "team":
        idle = _shared_idle(start, end, col, currency, viewer)
        rows = _fetch(
            f"""SELECT team AS key, sum(gpu_hours) AS busy_hours, sum({col}) AS busy_cost
                FROM attribution_allocation
                WHERE kind = 'usage' AND hour >= %(start)s AND hour < %(end)s {_only(currency)}
                GROUP BY team ORDER BY team""",
            params,
        )
        result = []
        for row in rows:
            if teams is not None and row["key"] not in teams:
                continue
            idle_cost, idle_hours = idle.get(row["key"], (ZERO, ZERO))
            result.append(
                _capacity(
                    row["key"],
                    row["busy_hours"] + idle_hours,
                    idle_hours,
                    row["busy_cost"] + idle_cost,
                    idle_cost,
                )
            )
        return result
    if by not in ("org", "pool"):
        raise ValueError("by must be org, pool or team")
    key = "pool" if by == "pool" else "'org'"
    rows = _fetch(
        f"""SELECT {key} AS key, sum(gpu_hours) AS gpu_hours,
                   sum(CASE WHEN kind = 'idle' THEN gpu_hours ELSE 0 END) AS idle_hours,
                   sum({col}) AS gpu_cost,
                   sum(CASE WHEN kind = 'idle' THEN {col} ELSE 0 END) AS idle_cost
            FROM attribution_allocation
            WHERE pool <> '' AND hour >= %(start)s AND hour < %(end)s {_only(currency)}
            GROUP BY 1 ORDER BY 1""",
        params,
    )
    return [
        _capacity(r["key"], r["gpu_hours"], r["idle_hours"], r["gpu_cost"], r["idle_cost"])
        for r in rows
    ]


def _capacity(
    key: str, gpu_hours: Decimal, idle_hours: Decimal, gpu_cost: Decimal, idle_cost: Decimal
) -> dict:
    return {
        "key": key,
        "gpu_hours": gpu_hours,
        "idle_gpu_hours": idle_hours,
        "idle_hours_pct": _pct(idle_hours, gpu_hours),
        "gpu_cost": gpu_cost,
        "idle_cost": idle_cost,
        "idle_cost_pct": _pct(idle_cost, gpu_cost),
    }
