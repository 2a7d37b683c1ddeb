"""Idle rules: the idle share of a GPU pool (idle GPU-hours / GPU-hours per hour, as
costapp.attribution.idle.idle_capacity counts them) above `level` % for `hours` consecutive
complete hours; an hour without GPU-hours ends a streak. One alert per streak (the window
starts at the streak's first hour); a streak begun before the LOOKBACK read is not fired anew:
it fired when it began, unless evaluation was down for that long."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from costapp.attribution import rollups
from costapp.attribution.idle import fetch

from .findings import HOUR, Finding, last_hour, money, report_url
from .models import AlertKind, AlertRule

LOOKBACK = timedelta(days=7)


# Per pool and hour (from the hourly rollups), as idle_capacity(by="pool") counts them: every
# GPU line's GPU-hours, the idle lines' GPU-hours, and the idle lines' cost in the currency.
_POOL_HOURS = """
SELECT pool, hour, sum(gpu_hours) AS gpu_hours,
       sum(CASE WHEN kind = 'idle' THEN gpu_hours ELSE 0 END) AS idle_gpu_hours,
       sum(CASE WHEN kind = 'idle' AND currency = %(currency)s THEN {col} ELSE 0 END) AS idle_cost
FROM {lines} lines
WHERE pool <> '' AND hour >= %(start)s AND hour < %(end)s {pool}
GROUP BY pool, hour HAVING sum(gpu_hours) > 0
ORDER BY pool, hour"""


def _streaks(hours: list[dict], level: Decimal) -> list[list[dict]]:
    """Runs of consecutive hours whose idle share is above `level` %."""
    runs: list[list[dict]] = []
    for row in hours:
        above = row["idle_gpu_hours"] * 100 > level * row["gpu_hours"]
        if not above:
            continue
        if runs and runs[-1][-1]["hour"] + HOUR == row["hour"]:
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


def findings(rule: AlertRule, params: dict, now: datetime) -> list[Finding]:
    end = last_hour(now) + HOUR
    start = end - LOOKBACK
    rows = fetch(
        _POOL_HOURS.format(
            lines=rollups.lines(hourly=True),
            col="amortized_cost",
            pool="AND pool = %(value)s" if rule.scope_value else "",
        ),
        {"start": start, "end": end, "value": rule.scope_value, "currency": params["currency"]},
    )
    by_pool: dict[str, list[dict]] = {}
    for row in rows:
        by_pool.setdefault(row["pool"], []).append(row)
    level, need, cur = Decimal(params["level"]), params["hours"], params["currency"]
    found = []
    for pool, hours in sorted(by_pool.items()):
        for run in _streaks(hours, level):
            if len(run) < need or run[0]["hour"] == start:
                continue  # too short, or begun before what we look at (fired back then)
            first, stop = run[0]["hour"], run[-1]["hour"] + HOUR
            gpu = sum(r["gpu_hours"] for r in run)
            idle = sum(r["idle_gpu_hours"] for r in run)
            cost = sum(r["idle_cost"] for r in run)
            share = idle * 100 / gpu
            scope = f"pool={pool}"
            found.append(
                Finding(
                    scope=scope,
                    kind=AlertKind.IDLE,
                    window_start=first,
                    window_end=stop,
                    summary=f"{scope} {share:.0f}% idle for {len(run)} hours",
                    headline=(
                        f"GPU pool {pool} has been more than {level}% idle for {len(run)} "
                        f"hours in a row since {first:%Y-%m-%d %H:%M} UTC: {share:.1f}% of its "
                        f"GPU-hours idle, {money(cost, cur)} of idle cost"
                    ),
                    currency=cur,
                    observed=cost,
                    reference=Decimal(0),
                    severity=share / level if level else share,
                    lines=[
                        ("Idle share", f"{share:.1f}% of {gpu:,.1f} GPU-hours (level {level}%)"),
                        ("Hours in a row", f"{len(run)} (rule: {need})"),
                        ("Idle cost", money(cost, cur)),
                        ("Since", f"{first:%Y-%m-%d %H:%M} UTC"),
                    ],
                    values={
                        "idle_pct": str(share),
                        "hours": str(len(run)),
                        "gpu_hours": str(gpu),
                        "idle_gpu_hours": str(idle),
                        "idle_cost": str(cost),
                        "level": str(level),
                    },
                    url=report_url("team", first, stop, "hour"),
                )
            )
    return found
