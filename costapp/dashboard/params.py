"""Date and hour query parameters of the pages and the API, parsed once and checked against the
plausible time window (costapp.core.limits): a bad one is a 400 naming the parameter, never a
500 from date arithmetic that overflows (`?end=9999-12-31` used to reach `end + 1 day`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from costapp.core.limits import check_period, check_time, time_window

DAY = timedelta(days=1)


class ParamError(ValueError):
    """A query parameter that cannot be used, with the parameter's name and what to send."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


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
        raise ParamError(
            field, f"{text!r} is not an ISO 8601 time (expected e.g. 2026-10-01T14:00Z)"
        ) from None
    problem = check_time(hour)
    if problem:
        raise ParamError(field, problem)
    return hour


def parse_day(value: str | None, field: str) -> date | None:
    """A whole UTC day (YYYY-MM-DD) within the time window; None when absent or blank."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ParamError(field, f"{text!r} is not a date (expected YYYY-MM-DD)") from None
    earliest, latest = time_window()
    if not earliest.date() <= day <= latest.date():
        start = datetime.combine(day, time.min, tzinfo=UTC)
        raise ParamError(field, check_time(start) or f"{text} is outside the time window")
    return day


@dataclass(frozen=True)
class Period:
    """The [start, end] whole UTC days a page reads; either end may be open."""

    start: date | None
    end: date | None


def parse_period(start: str | None, end: str | None) -> Period:
    """`start` and `end` query parameters: each a day in the window, the end not before the
    start."""
    period = Period(parse_day(start, "start"), parse_day(end, "end"))
    if period.start and period.end:
        low = datetime.combine(period.start, time.min, tzinfo=UTC)
        problem = check_period(low, datetime.combine(period.end, time.min, tzinfo=UTC) + DAY)
        if problem:
            raise ParamError("end", problem)
    return period
