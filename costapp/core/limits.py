"""The limits every input must respect, named once and enforced at every entrance.

Files (costapp.ingest), the push API (costapp.sources.push) and page and API parameters
(costapp.dashboard, costapp.api) all check against these, so a value that one entrance refuses
is refused by all of them. Each check returns None when the value is fine, else a short message
saying what is wrong and the expected form, for the caller to locate (file, line, column; or a
record's index and field; or a query parameter).

Why these bounds:
- Time: a record dated in year 9999 made hour arithmetic overflow in every later attribution
  run, and one in year 0001 spread a $98 line over 17.7 million hours. Nothing we read is older
  than cloud billing itself or dated more than a year ahead (a commitment's term may be billed
  ahead). Both ends are settings (INPUT_TIME_MIN, INPUT_TIME_AHEAD_DAYS).
- Charge period: a line is spread over the hours of its charge period; no provider bills one
  line over more than a billing period (a month), plus a day of slack for time zones.
- Money: amounts are NUMERIC(28,10), 18 integer digits; one line stays below 10^15 so that sums
  of many lines (an hour, a bill) still fit the column.
- Tokens and counts: BIGINT columns summed per hour; one request stays below 10^12 tokens.
- Strings: the column's length, and never a NUL character (PostgreSQL text cannot hold one).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

DEFAULT_TIME_MIN = datetime(2000, 1, 1, tzinfo=UTC)
DEFAULT_TIME_AHEAD = timedelta(days=366)
CHARGE_PERIOD_MAX = timedelta(days=32)
# A one-time commitment purchase (FOCUS ChargeCategory "Purchase") may carry the commitment's
# whole term as its charge period: the FOCUS 1.2 spec examples bill a 1-year term from
# 2023-01-01 to 2024-01-01 on one line. Terms sold run up to 5 years (Azure); a day a year spare.
COMMITMENT_TERM_MAX = timedelta(days=5 * 366)
MONEY_MAX = Decimal(10) ** 15
QUANTITY_MAX = Decimal(10) ** 18
COUNT_MAX = 10**12
GPU_SECONDS_MAX = Decimal(10) ** 9
STRING_MAX = 200  # tags (team, model, endpoint) and most identifiers
TEXT_MAX = 10_000  # free text: descriptions, resource ids, file names


def time_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The plausible window [earliest, latest] for any timestamp we accept."""
    earliest = getattr(settings, "INPUT_TIME_MIN", None) or DEFAULT_TIME_MIN
    if isinstance(earliest, str):
        earliest = datetime.fromisoformat(earliest)
    if earliest.tzinfo is None:
        earliest = earliest.replace(tzinfo=UTC)
    ahead_days = getattr(settings, "INPUT_TIME_AHEAD_DAYS", None)
    ahead = timedelta(days=ahead_days) if ahead_days is not None else DEFAULT_TIME_AHEAD
    return earliest, (now or timezone.now()) + ahead


def _window_text(window: tuple[datetime, datetime]) -> str:
    return f"a time between {window[0]:%Y-%m-%d} and {window[1]:%Y-%m-%d}"


def check_time(value: datetime, window: tuple[datetime, datetime] | None = None) -> str | None:
    window = window or time_window()
    if window[0] <= value <= window[1]:
        return None
    return f"{value.isoformat()} is outside the plausible time window (expected {_window_text(window)})"


def check_period(start: datetime, end: datetime, *, longest: timedelta | None = None) -> str | None:
    """A period [start, end): its end after its start, and no longer than `longest`."""
    if end <= start:
        return (
            f"the period ends ({end.isoformat()}) at or before it starts ({start.isoformat()}) "
            "(expected an end after the start)"
        )
    if longest is not None and end - start > longest:
        return (
            f"the period from {start.isoformat()} to {end.isoformat()} is longer than "
            f"{longest.days} days (expected at most one billing period)"
        )
    return None


def check_money(value: Decimal | None, limit: Decimal = MONEY_MAX) -> str | None:
    if value is None:
        return None
    if not value.is_finite():
        return f"{value} is not a finite number (expected a decimal number)"
    if abs(value) >= limit:
        return f"{value} is too large (expected an amount below {limit:,.0f} in magnitude)"
    return None


def check_count(value: int | None, limit: int = COUNT_MAX) -> str | None:
    if value is None:
        return None
    if value < 0:
        return f"{value} is negative (expected a whole number from 0)"
    if value >= limit:
        return f"{value} is too large (expected a whole number below {limit:,})"
    return None


def check_text(value: str | None, max_length: int = STRING_MAX) -> str | None:
    if not value:
        return None
    if "\x00" in value:
        return "contains a NUL character (expected text without control characters)"
    if len(value) > max_length:
        return f"is {len(value)} characters long (expected at most {max_length})"
    return None
