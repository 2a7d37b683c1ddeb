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
from .jsondocs import DECODER, DuplicateKey, duplicate_key, loads
from .parsing import DATETIMES, Cell, parse_datetime, parse_decimal, parse_int, plain_decimal
from .rows import RequestRow

KIND = "requests"
REQUIRED = ("timestamp", "request_id", "team", "model", "endpoint")
EXPECTED = "one JSON object per line"
JSON_WHITESPACE = " \t\n\r"  # what json.loads allows around a document


def parse(file: InputFile) -> Iterator[RequestRow]:
    scan = DECODER.scan_once
    for line_no, line in numbered_lines(file, expected=EXPECTED):
        if not line or line.isspace():
            continue
        # The usual line, `{...}\n`, straight to the decoder's C scanner; anything else (and
        # anything it refuses) through loads, which decides and locates the error.
        try:
            record, end = scan(line, 0) if line[0] == "{" else (None, -1)
        except (StopIteration, ValueError):
            end = -1
        try:
            if end < 0 or line[end:].strip(JSON_WHITESPACE):
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
    get = record.get
    timestamp, request_id = get("timestamp"), get("request_id")
    team, model, endpoint = get("team"), get("model"), get("endpoint")
    if not (
        type(timestamp) is str
        and type(request_id) is str
        and type(team) is str
        and type(model) is str
        and type(endpoint) is str
        and timestamp.strip()
        and request_id.strip()
        and team.strip()
        and model.strip()
        and endpoint.strip()
    ):  # str.strip returns the text itself when there is nothing to strip: no copy
        for key in REQUIRED:
            value = record.get(key)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise ParseError(
                    f"{key} is missing",
                    file=file,
                    line=line,
                    column=key,
                    expected=f"a non-empty {key}",
                )
        timestamp, request_id = str(timestamp), str(request_id)
        team, model, endpoint = str(team), str(model), str(endpoint)

    cache_hit = get("cache_hit", False)
    if cache_hit is not False and cache_hit is not True:
        raise ParseError(
            f"{cache_hit!r} is not a boolean",
            file=file,
            line=line,
            column="cache_hit",
            expected="true or false",
        )
    ts = DATETIMES.get(timestamp)
    if ts is None:
        ts = parse_datetime(timestamp, Cell(file, line, "timestamp"))
    input_tokens, output_tokens = get("input_tokens"), get("output_tokens")
    latency_ms = get("latency_ms")
    if type(input_tokens) is not int:
        input_tokens = _count(record, "input_tokens", file, line)
    if type(output_tokens) is not int:
        output_tokens = _count(record, "output_tokens", file, line)
    if type(latency_ms) is not int:
        latency_ms = _count(record, "latency_ms", file, line)
    gpu_seconds = get("gpu_seconds")
    if gpu_seconds is not None:
        known = SECONDS.get(gpu_seconds) if type(gpu_seconds) in (str, float) else None
        if known is None:
            known = _decimal(gpu_seconds, file, line)
            if type(gpu_seconds) in (str, float):
                if len(SECONDS) >= SECONDS_HELD:
                    SECONDS.clear()
                SECONDS[gpu_seconds] = known
        gpu_seconds = known
    if input_tokens < 0 or output_tokens < 0 or latency_ms < 0:
        for key, value in zip(COUNTS, (input_tokens, output_tokens, latency_ms), strict=True):
            if value < 0:
                raise ParseError(
                    f"{key} is negative", file=file, line=line, column=key, expected="a count >= 0"
                )
    resource_id = get("resource_id")
    return RequestRow(
        ts=ts,
        request_id=request_id,
        team=team,
        model=model,
        endpoint=endpoint,
        resource_id=resource_id if type(resource_id) is str else str(resource_id or ""),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        latency_ms=latency_ms,
        cache_hit=cache_hit,
        gpu_seconds=gpu_seconds,
        source_file=file,
        source_row=line,
    )


COUNTS = ("input_tokens", "output_tokens", "latency_ms")
# GPU-seconds by their JSON value (text or float; never bool or int, which equal 1.0): a log
# repeats a few hundred values. Bounded so memory stays flat.
SECONDS: dict[str | float, Decimal] = {}
SECONDS_HELD = 4096


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
