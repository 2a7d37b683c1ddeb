"""The report query every page and the JSON API read with, parsed once from request parameters.

`parse_query` turns the parameters (a URL's query string or the API's) into a frozen
`ReportQuery` or raises `QueryError(field, message)` naming the first bad one and what to send:
a malformed or implausible date (costapp.core.limits), a start after its end, an unknown basis,
currency code, idle view, grain or grouping. A blank parameter means "not given" and takes the
default; a bad one is never silently replaced by it. Dates and hours are checked against the
plausible time window, so no later date arithmetic can overflow (`?end=9999-12-31` once reached
`end + 1 day`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from django.db import connections

from costapp.core.access import Scope
from costapp.core.limits import check_period, check_time, time_window
from costapp.core.routers import read_alias
from costapp.money import DEFAULT_CURRENCY

from . import rollups
from .models import AttributionPolicy, IdlePolicy, LineKind

Basis = Literal["amortized", "billed"]
BASES: dict[str, str] = {"amortized": "amortized_cost", "billed": "billed_cost"}
IDLE_VIEWS = (IdlePolicy.SEPARATE.value, IdlePolicy.SHARE.value)
GRAINS = ("hour", "day", "month")
GROUPS = ("team", "model", "endpoint")
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
# A query naming neither start nor end reads the data's last DEFAULT_DAYS days, the what-if's
# default window too (costapp.whatif.params), as Cost Explorer and Kubecost open on a recent
# window: what a page reads is bounded by its window, not by the years of history behind it.
# `start=` early gives everything.
DEFAULT_DAYS = 30
# Lines that belong to a team: its busy share of GPUs and the shared costs a rule gave it.
ATTRIBUTED = (LineKind.USAGE, LineKind.SHARED)
_CURRENCY = re.compile(r"[A-Za-z]{3}")


class QueryError(ValueError):
    """A request parameter that cannot be used, with its name and what to send instead."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ReportQuery:
    """What a report reads: whole UTC days [start, end] (either end open: the data's first or
    last day), one cost basis, one currency (None: the scope's biggest in the period), the idle
    view, one team or every team the reader may see, and for the tables over time a grain and
    a grouping."""

    start: date | None = None
    end: date | None = None
    basis: Basis = "amortized"
    currency: str | None = None
    share_idle: bool = False
    team: str | None = None
    grain: str = "day"
    group_by: str = "team"

    @property
    def idle(self) -> str:
        """The idle view as its parameter value."""
        return IdlePolicy.SHARE if self.share_idle else IdlePolicy.SEPARATE

    @property
    def cost_column(self) -> str:
        return BASES[self.basis]

    def window(self) -> tuple[datetime | None, datetime | None]:
        """[start, end) as UTC datetimes; None for an open end."""
        low = datetime.combine(self.start, time.min, tzinfo=UTC) if self.start else None
        high = datetime.combine(self.end + DAY, time.min, tzinfo=UTC) if self.end else None
        return low, high


def _choice(params: Mapping[str, str], field: str, choices, default: str) -> str:
    text = (params.get(field) or "").strip()
    if not text:
        return default
    if text not in choices:
        raise QueryError(field, f"{text!r} is not one of {', '.join(choices)}")
    return text


def parse_currency(value: str | None) -> str | None:
    """An ISO 4217 code (any case), upper-cased; None when blank."""
    text = (value or "").strip()
    if not text:
        return None
    if not _CURRENCY.fullmatch(text):
        raise QueryError(
            "currency", f"{text[:20]!r} is not a currency code (expected three letters, e.g. USD)"
        )
    return text.upper()


def parse_day(value: str | None, field: str) -> date | None:
    """A whole UTC day (YYYY-MM-DD) within the time window; None when absent or blank."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise QueryError(field, f"{text[:40]!r} is not a date (expected YYYY-MM-DD)") from None
    earliest, latest = time_window()
    if not earliest.date() <= day <= latest.date():
        start = datetime.combine(day, time.min, tzinfo=UTC)
        raise QueryError(field, check_time(start) or f"{text} is outside the time window")
    return day


def parse_hour(value: str, field: str = "hour") -> datetime:
    """An ISO 8601 moment, naive meaning UTC, floored to its UTC hour, within the time window."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        # Floor in UTC: an offset like +05:30 would otherwise land between two stored hours.
        hour = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    except (ValueError, OverflowError):
        # OverflowError: 0001-01-01T00:00+05:00 has no UTC moment.
        raise QueryError(
            field, f"{text[:40]!r} is not an ISO 8601 time (expected e.g. 2026-10-01T14:00Z)"
        ) from None
    problem = check_time(hour)
    if problem:
        raise QueryError(field, problem)
    return hour


def default_days() -> tuple[date | None, date | None]:
    """The last DEFAULT_DAYS UTC days of allocations, ending on the day of the last hour; (None,
    None) when there are none. One index look-up."""
    rollups.ensure_current()
    with connections[read_alias()].cursor() as cursor:
        cursor.execute("SELECT max(hour) FROM attribution_rollup_hour")
        (last,) = cursor.fetchone()
    if last is None:
        return None, None
    end = last.astimezone(UTC).date()
    return end - (DEFAULT_DAYS - 1) * DAY, end


def parse_query(params: Mapping[str, str]) -> ReportQuery:
    """The report query of request parameters `start`, `end`, `basis`, `currency`, `idle`,
    `team`, `grain` and `by`; the idle view defaults to the org's policy, the days (neither
    given) to the data's last DEFAULT_DAYS; one end given leaves the other open."""
    start, end = parse_day(params.get("start"), "start"), parse_day(params.get("end"), "end")
    if start is None and end is None:
        start, end = default_days()
    if start and end:
        low = datetime.combine(start, time.min, tzinfo=UTC)
        problem = check_period(low, datetime.combine(end, time.min, tzinfo=UTC) + DAY)
        if problem:
            raise QueryError("end", problem)
    idle = _choice(params, "idle", IDLE_VIEWS, "")
    if not idle:
        idle = AttributionPolicy.current().idle_policy
    return ReportQuery(
        start=start,
        end=end,
        basis=_choice(params, "basis", tuple(BASES), "amortized"),  # type: ignore[arg-type]
        currency=parse_currency(params.get("currency")),
        share_idle=idle == IdlePolicy.SHARE,
        team=(params.get("team") or "").strip() or None,
        grain=_choice(params, "grain", GRAINS, "day"),
        group_by=_choice(params, "by", GROUPS, "team"),
    )


def currencies(scope: Scope, query: ReportQuery) -> list[str]:
    """The currencies of the rows the scope may see in the query's days, by total cost
    descending. Without exchange rates "biggest" compares face amounts; it only picks the
    default, and every currency gets a button."""
    low, high = query.window()
    earliest, latest = time_window()
    where = ["true"]
    if low:
        where.append("hour >= %(start)s")
    if high:
        where.append("hour < %(end)s")
    if not scope.whole_company:
        where.append("team = ANY(%(teams)s) AND kind IN ('usage', 'shared')")
    lines = rollups.lines()  # the stale-day refresh runs first, on default
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(
            f"""SELECT currency FROM {lines} lines WHERE {" AND ".join(where)}
                GROUP BY currency ORDER BY sum({query.cost_column}) DESC, currency""",
            # An open end reads every bucket: the rollups' days are bounded by the data.
            {"start": low or earliest, "end": high or latest, "teams": list(scope.teams or ())},
        )
        return [row[0] for row in cursor.fetchall()]


def pick_currency(query: ReportQuery, present: list[str]) -> tuple[str, str | None]:
    """The currency a report reads: the query's when the scope has it in the period, else the
    biggest present; and the query's, when it is not present, for the page to say so."""
    if query.currency in present:
        return query.currency, None
    if not present:
        return query.currency or DEFAULT_CURRENCY, None
    return present[0], query.currency


def window(query: ReportQuery) -> tuple[datetime, datetime] | None:
    """The query's [start, end) with open ends closed on the data's first and last hour; None
    when there are no allocations at all."""
    rollups.ensure_current()  # a write: on default, before the read
    with connections[read_alias()].cursor() as cursor:
        cursor.execute("SELECT min(hour), max(hour) FROM attribution_rollup_hour")
        first, last = cursor.fetchone()
    if first is None:
        return None
    low, high = query.window()
    return low or first, high or last + HOUR
