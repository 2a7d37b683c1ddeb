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

from .errors import ParseError
from .files import InputFile, numbered_lines
from .parsing import Cell, parse_datetime, parse_decimal, parse_int
from .rows import RequestRow

KIND = "requests"
REQUIRED = ("timestamp", "request_id", "team", "model", "endpoint")


def parse(file: InputFile) -> Iterator[RequestRow]:
    for line_no, line in numbered_lines(file):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
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

    def cell(key: str) -> Cell:
        return Cell(file, line, key)

    cache_hit = record.get("cache_hit", False)
    if not isinstance(cache_hit, bool):
        raise ParseError(
            f"{cache_hit!r} is not a boolean",
            file=file,
            line=line,
            column="cache_hit",
            expected="true or false",
        )
    gpu_seconds = record.get("gpu_seconds")
    row = RequestRow(
        ts=parse_datetime(str(record["timestamp"]), cell("timestamp")),
        request_id=str(record["request_id"]),
        team=str(record["team"]),
        model=str(record["model"]),
        endpoint=str(record["endpoint"]),
        resource_id=str(record.get("resource_id") or ""),
        input_tokens=parse_int(record.get("input_tokens"), cell("input_tokens"), default=0),
        output_tokens=parse_int(record.get("output_tokens"), cell("output_tokens"), default=0),
        latency_ms=parse_int(record.get("latency_ms"), cell("latency_ms"), default=0),
        cache_hit=cache_hit,
        gpu_seconds=None
        if gpu_seconds is None
        else parse_decimal(str(gpu_seconds), cell("gpu_seconds")),
        source_file=file,
        source_row=line,
    )
    for key in ("input_tokens", "output_tokens", "latency_ms"):
        if getattr(row, key) < 0:
            raise ParseError(
                f"{key} is negative", file=file, line=line, column=key, expected="a count >= 0"
            )
    return row
