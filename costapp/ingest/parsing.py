"""Field parsers shared by the format modules: each turns a text cell into a typed value or a
ParseError that names the file, line and column and the form that was expected."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings

from costapp.core import limits

from .errors import ParseError

# Null spellings seen in real exports (the FOCUS sample uses both "NULL" and "").
NULLS = frozenset({"", "NULL", "null", "None", "[N/A]", "N/A"})

# ISO 4217 codes we accept; an unknown code is an input error, not a silent conversion.
CURRENCIES = frozenset(
    "USD EUR GBP JPY CNY INR CAD AUD NZD CHF SEK NOK DKK PLN CZK HUF BRL MXN ARS CLP "
    "COP ZAR KRW SGD HKD TWD THB IDR MYR PHP VND ILS AED SAR TRY RUB UAH EGP NGN KES".split()
)


class Cell:
    """Where a value sits, for error messages."""

    __slots__ = ("column", "file", "line")

    def __init__(self, file: str, line: int | None, column: str | int | None) -> None:
        self.file, self.line, self.column = file, line, column

    def error(self, message: str, expected: str = "") -> ParseError:
        return ParseError(
            message, file=self.file, line=self.line, column=self.column, expected=expected
        )


def is_null(value: str | None) -> bool:
    # Every spelling in NULLS is already stripped, so an exact hit spares the strip.
    return value is None or value in NULLS or value.strip() in NULLS


def plain_decimal(value: str) -> Decimal | None:
    """The common case of parse_decimal, for hot loops that should not build a Cell per value:
    the number in a non-null, finite text cell, else None, and the caller then calls
    parse_decimal for the null or the located error."""
    text = value.strip()
    if text in NULLS:
        return None
    try:
        number = Decimal(text.replace(",", "") if "," in text else text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def parse_decimal(value: str | None, where: Cell, *, required: bool = True) -> Decimal | None:
    if type(value) is str:
        number = plain_decimal(value)
        if number is not None:
            return number
    if is_null(value):
        if required:
            raise where.error("a number is required here", "a decimal number")
        return None
    text = value.strip().replace(",", "") if isinstance(value, str) else value
    try:
        number = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        raise where.error(f"{_shown(value)} is not a number", "a decimal number") from None
    if not number.is_finite():
        raise where.error(f"{_shown(value)} is not a finite number", "a decimal number")
    return number


# What any integer column holds (BIGINT); the narrower limits of each field are checked on
# the row (costapp/ingest/checks.py). Refused here, an int of a million digits is never built.
INT_LIMIT = 2**63
INT_DIGITS = len(str(INT_LIMIT))


def parse_int(value, where: Cell, *, default: int | None = None) -> int:
    if type(value) is int and -INT_LIMIT < value < INT_LIMIT:
        # A JSON number already (bool, an int subclass, is refused below).
        return value
    if value is None or (isinstance(value, str) and is_null(value)):
        if default is not None:
            return default
        raise where.error("a whole number is required here", "an integer")
    if isinstance(value, bool):
        raise where.error(f"{value!r} is not a whole number", "an integer")
    try:
        # A float (json.loads reads 1e3, Infinity and NaN as floats) by its exact value.
        number = Decimal(value) if isinstance(value, int | float) else Decimal(str(value).strip())
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number != number.to_integral_value():
        raise where.error(f"{_shown(value)} is not a whole number", "an integer")
    if number.adjusted() >= INT_DIGITS or not -INT_LIMIT < number < INT_LIMIT:
        raise where.error(
            f"{_shown(value)} is too large", f"a whole number below {limits.COUNT_MAX:,}"
        )
    return int(number)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:50]}... ({len(text)} characters)"


# Parsed timestamps by their text: billing files repeat each hour's bounds on every line, and
# request logs repeat a second's text across its requests. Bounded so memory stays flat.
DATETIMES: dict[str, datetime] = {}
DATETIMES_HELD = 8192


def parse_datetime(value: str | None, where: Cell) -> datetime:
    """ISO 8601 (with Z or an offset, or naive = UTC), or a Unix timestamp in seconds."""
    if type(value) is str:
        known = DATETIMES.get(value)
        if known is None:
            known = _parse_datetime(value, where)
            if len(DATETIMES) >= DATETIMES_HELD:
                DATETIMES.clear()
            DATETIMES[value] = known
        return known
    return _parse_datetime(value, where)


def _parse_datetime(value: str | None, where: Cell) -> datetime:
    if is_null(value):
        raise where.error("a timestamp is required here", "an ISO 8601 timestamp")
    text = str(value).strip()
    try:
        if text.replace(".", "", 1).isdigit():
            parsed = datetime.fromtimestamp(float(text), tz=UTC)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" UTC", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        # OverflowError: year 1 or 9999 moved across an offset; OSError: an epoch beyond the
        # platform's time_t.
        message = f"{_shown(value)} is not a timestamp"
        raise where.error(message, "an ISO 8601 timestamp") from None
    # The plausible window is checked on every row before it is stored (checks.py); checked
    # here too, once per distinct text, so a format's own date arithmetic (a calendar month
    # after the charge, a latency end - start) never meets year 1 or 9999. A commitment
    # purchase's term may end past the window, so the end here leaves room for one.
    earliest, latest = _window()
    if not earliest <= parsed <= latest + limits.COMMITMENT_TERM_MAX:
        raise where.error(limits.check_time(parsed, (earliest, latest)))
    return parsed


_WINDOW: dict[tuple, tuple[datetime, datetime]] = {}


def _window() -> tuple[datetime, datetime]:
    """limits.time_window(), computed once a minute per setting: a request log has a distinct
    timestamp a line, and the window costs more than parsing one."""
    key = (
        getattr(settings, "INPUT_TIME_MIN", None),
        getattr(settings, "INPUT_TIME_AHEAD_DAYS", None),
        int(time.monotonic() // 60),
    )
    window = _WINDOW.get(key)
    if window is None:
        _WINDOW.clear()
        window = _WINDOW[key] = limits.time_window()
    return window


def parse_currency(value: str | None, where: Cell) -> str:
    code = "" if value is None else value.strip().upper()
    if code not in CURRENCIES:
        raise where.error(f"unknown currency {value!r}", "an ISO 4217 code such as USD")
    return code
