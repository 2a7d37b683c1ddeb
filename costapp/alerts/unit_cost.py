"""Unit-cost rules: a model's or endpoint's cost per 1M tokens (fully loaded by default, or
busy only) over the window holding the last complete hour (the UTC day, or the ISO week from
Monday) above `ceiling`, or up more than `max_increase_pct` % on the same hours 7 days earlier
(for a day, the same weekday and hours; for a week, the previous week's same weekdays and
hours), so a partial window is always compared with an equally partial one. Below `min_tokens`
in either window the unit cost is too noisy to judge. Read through the unit-cost selector, so
the figures are /units/'s."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from costapp.attribution.units import UnitCosts, unit_costs

from .findings import HOUR, Finding, last_hour, money, report_url, span
from .models import AlertKind, AlertRule, Idle

WEEK = timedelta(days=7)


def window(kind: str, now: datetime) -> tuple[datetime, datetime]:
    """[start of the day or ISO week holding the last complete hour, end of that hour)."""
    last = last_hour(now)
    start = last.replace(hour=0)
    if kind == "week":
        start -= timedelta(days=start.weekday())
    return start, last + HOUR


def _unit_rows(rule: AlertRule, params: dict, start: datetime, end: datetime) -> dict:
    rows = unit_costs(
        start,
        end,
        group_by=(rule.scope_kind,),
        basis=params["basis"],
        share_idle=params["idle"] == Idle.FULLY_LOADED,
        currency=params["currency"],
    )
    return {
        row.key: row
        for row in rows
        if row.key
        and (not rule.scope_value or row.key == rule.scope_value)
        and row.tokens >= params["min_tokens"]
        and row.tokens > 0
    }


def _per_million(row: UnitCosts, params: dict) -> Decimal:
    loaded = params["idle"] == Idle.FULLY_LOADED
    return row.per_million_loaded if loaded else row.per_million_busy


def findings(rule: AlertRule, params: dict, now: datetime) -> list[Finding]:
    start, end = window(params["window"], now)
    current = _unit_rows(rule, params, start, end)
    previous = {}
    if "max_increase_pct" in params and current:
        previous = _unit_rows(rule, params, start - WEEK, end - WEEK)
    view = "fully loaded" if params["idle"] == Idle.FULLY_LOADED else "busy only"
    cur = params["currency"]
    url = report_url(rule.scope_kind, start, end, "hour")
    found = []
    for key, row in sorted(current.items()):
        unit = _per_million(row, params)
        scope = f"{rule.scope_kind}={key}"
        common = {
            "scope": scope,
            "window_start": start,
            "window_end": end,
            "currency": cur,
            "observed": unit,
            "url": url,
        }
        lines = [
            ("Cost per 1M tokens", f"{money(unit, cur)} ({view})"),
            ("Tokens", f"{row.tokens:,}"),
            ("Window", span(start, end)),
        ]
        values = {"unit_cost": str(unit), "tokens": str(row.tokens), "view": view}
        if "ceiling" in params and unit > Decimal(params["ceiling"]):
            ceiling = Decimal(params["ceiling"])
            found.append(
                Finding(
                    kind=AlertKind.CEILING,
                    summary=f"{scope} {money(unit, cur)} per 1M tokens",
                    headline=(
                        f"Cost per 1M tokens of {scope} is {money(unit, cur)}, above its "
                        f"ceiling of {money(ceiling, cur)} ({view})"
                    ),
                    reference=ceiling,
                    severity=unit / ceiling,
                    lines=[*lines, ("Ceiling", money(ceiling, cur))],
                    values={**values, "ceiling": str(ceiling)},
                    **common,
                )
            )
        before = previous.get(key)
        if before is None or "max_increase_pct" not in params:
            continue
        then = _per_million(before, params)
        limit = Decimal(params["max_increase_pct"])
        if not then or then <= 0:
            continue
        rise = (unit - then) * 100 / then
        if rise > limit:
            found.append(
                Finding(
                    kind=AlertKind.INCREASE,
                    summary=f"{scope} up {rise:.1f}% on the previous week",
                    headline=(
                        f"Cost per 1M tokens of {scope} is up {rise:.1f}% on the previous "
                        f"week: {money(unit, cur)} against {money(then, cur)} ({view})"
                    ),
                    reference=then,
                    severity=rise / limit,
                    lines=[
                        *lines,
                        (
                            "Previous week",
                            f"{money(then, cur)} ({span(start - WEEK, end - WEEK)})",
                        ),
                        ("Increase", f"{rise:.1f}% (limit {limit}%)"),
                    ],
                    values={**values, "previous": str(then), "increase_pct": str(rise)},
                    **common,
                )
            )
    return found
