"""Request logs as JSON Lines, in our documented schema (docs/ARCHITECTURE.md, README).

One JSON object a line:
    {"timestamp": "2026-11-01T10:00:03Z", "request_id": "r-1", "team": "search",
     "model": "llama-3.1-70b", "endpoint": "/v1/chat", "resource_id": "i-0abc",
     "input_tokens": 812, "output_tokens": 164, "latency_ms": 930, "cache_hit": false,
     "gpu_seconds": 0.42}
Required: timestamp, request_id, team, model, endpoint. gpu_seconds and resource_id are
optional; tokens, latency and cache_hit default to 0/false.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

from .errors import ParseError
from .files import InputFile, numbered_lines
from .jsondocs import DuplicateKey, duplicate_key, loads
from .parsing import DATETIMES, Cell, parse_datetime, parse_decimal, parse_int, plain_decimal
from .rows import RequestRow

KIND = "requests"
REQUIRED = ("timestamp", "request_id", "team", "model", "endpoint")
EXPECTED = "one JSON object per line"


def parse(file: InputFile) -> Iterator[RequestRow]:
    for line_no, line in numbered_lines(file, expected=EXPECTED):
        if not line.strip():
            continue
        try:
            record = loads(line)
        except DuplicateKey as exc:
            raise duplicate_key(exc, file.name, line_no, "a request record") from None
        except json.JSONDecodeError as exc:
            raise ParseError(
                f"invalid JSON ({exc.msg})",
                file=file.name,
                line=line_no,
                column=exc.colno,
                expected="one JSON object per line",
            ) from None
        if not isinstance(record, dict):
            raise ParseError(
                "not a JSON object",
                file=file.name,
                line=line_no,
                column=1,
                expected="one JSON object per line",
            )
        yield record_to_row(record, file.name, line_no)


def record_to_row(record: dict, file: str, line: int) -> RequestRow:
    """One record of our schema to a row; shared with the push API, which uses index as line."""
    for key in REQUIRED:
        value = record.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ParseError(
                f"{key} is missing", file=file, line=line, column=key, expected=f"a non-empty {key}"
            )

    cache_hit = record.get("cache_hit", False)
    if not isinstance(cache_hit, bool):
        raise ParseError(
            f"{cache_hit!r} is not a boolean",
            file=file,
            line=line,
            column="cache_hit",
            expected="true or false",
        )
    timestamp = str(record["timestamp"])
    ts = DATETIMES.get(timestamp)
    if ts is None:
        ts = parse_datetime(timestamp, Cell(file, line, "timestamp"))
    gpu_seconds = record.get("gpu_seconds")
    row = RequestRow(
        ts=ts,
        request_id=str(record["request_id"]),
        team=str(record["team"]),
        model=str(record["model"]),
        endpoint=str(record["endpoint"]),
        resource_id=str(record.get("resource_id") or ""),
        input_tokens=_count(record, "input_tokens", file, line),
        output_tokens=_count(record, "output_tokens", file, line),
        latency_ms=_count(record, "latency_ms", file, line),
        cache_hit=cache_hit,
        gpu_seconds=None if gpu_seconds is None else _decimal(gpu_seconds, file, line),
        source_file=file,
        source_row=line,
    )
    for key in ("input_tokens", "output_tokens", "latency_ms"):
        if getattr(row, key) < 0:
            raise ParseError(
                f"{key} is negative", file=file, line=line, column=key, expected="a count >= 0"
            )
    return row


# The helpers below (and the DATETIMES look-up above) take the common case without building a
# Cell, the error's location; the parse_* call they fall back to gives the same value or the
# located error.


def _count(record: dict, key: str, file: str, line: int) -> int:
    value = record.get(key)
    if type(value) is int:  # not bool, which parse_int refuses
        return value
    return parse_int(value, Cell(file, line, key), default=0)


def _decimal(value: object, file: str, line: int) -> Decimal | None:
    text = str(value)
    number = plain_decimal(text)
    return number if number is not None else parse_decimal(text, Cell(file, line, "gpu_seconds"))
