"""Request usage from LiteLLM: LiteLLM_SpendLogs rows and StandardLoggingPayload callbacks.

A file holds a JSON array of records, one record, or one record a line (JSON Lines). Both record
shapes are read by the same rules (the payload nests what the spend-log row flattens):
- request_id: `request_id` (spend log) or `id` (payload); missing is a ParseError, since an id
  is what makes a re-sent log count once.
- ts: `startTime` (ISO 8601, LiteLLM's "2025-01-24 09:20:46.847371" read as UTC, or Unix
  seconds); latency_ms: endTime - startTime.
- team: metadata.user_api_key_team_alias (the readable name, the one that matches our team
  slugs), else `team_id`, else metadata.user_api_key_team_id, else "unassigned": a request with
  no team is still usage and must stay visible, not be rejected.
- model: `model_group` (the public name clients ask for, stable across deployments), else
  `model`, else hidden_params.litellm_model_name.
- endpoint: `api_base` (the deployment that served it), else hidden_params.api_base, else
  `model_group`, else `custom_llm_provider`, else "unassigned".
- tokens: prompt_tokens / completion_tokens; cache_hit: true/"True" only (LiteLLM writes "None").
LiteLLM's own `spend` is not read: cost comes from the bill and the attribution split.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

from .errors import ParseError
from .files import InputFile
from .jsondocs import DuplicateKey, documents, loads
from .parsing import Cell, parse_datetime, parse_int
from .rows import RequestRow

KIND = "requests"
UNASSIGNED = "unassigned"
EXPECTED = "a LiteLLM spend-log row or StandardLoggingPayload"
TRUE = (True, "True", "true")
FALSE = (None, False, "", "None", "False", "false")


def parse(file: InputFile) -> Iterator[RequestRow]:
    for line, record in documents(file, expected=EXPECTED):
        yield record_to_row(record, file.name, line)


def record_to_row(record: object, file: str, line: int) -> RequestRow:
    """One spend-log row or logging payload; shared with a webhook that receives payloads."""

    def error(message: str, column: str, expected: str = EXPECTED) -> ParseError:
        return ParseError(message, file=file, line=line, column=column, expected=expected)

    if not isinstance(record, dict):
        raise error("not a JSON object", "", "a JSON object per record")
    request_id = record.get("request_id") or record.get("id")
    if not request_id or not isinstance(request_id, str):
        raise error("request_id is missing", "request_id", "a request_id (or id) string")
    metadata = _metadata(record.get("metadata"), error)
    hidden = record.get("hidden_params") if isinstance(record.get("hidden_params"), dict) else {}

    def first(*values: object) -> str:
        return next((str(v) for v in values if v not in (None, "")), "")

    start = _time(record, "startTime", file, line)
    end = _time(record, "endTime", file, line) if record.get("endTime") not in (None, "") else start
    if end < start:
        raise error("endTime is before startTime", "endTime", "endTime >= startTime")
    cache_hit = record.get("cache_hit")
    if cache_hit not in TRUE and cache_hit not in FALSE:
        raise error(f"cache_hit {cache_hit!r} is not a boolean", "cache_hit", "true or false")
    tokens = {}
    for key in ("prompt_tokens", "completion_tokens"):
        tokens[key] = parse_int(record.get(key), Cell(file, line, key), default=0)
        if tokens[key] < 0:
            raise error(f"{key} is negative", key, "a count >= 0")
    return RequestRow(
        ts=start,
        request_id=request_id,
        team=first(
            metadata.get("user_api_key_team_alias"),
            record.get("team_id"),
            metadata.get("user_api_key_team_id"),
        )
        or UNASSIGNED,
        model=first(
            record.get("model_group"), record.get("model"), hidden.get("litellm_model_name")
        )
        or UNASSIGNED,
        endpoint=first(
            record.get("api_base"),
            hidden.get("api_base"),
            record.get("model_group"),
            record.get("custom_llm_provider"),
        )
        or UNASSIGNED,
        input_tokens=tokens["prompt_tokens"],
        output_tokens=tokens["completion_tokens"],
        latency_ms=int((end - start).total_seconds() * 1000),
        cache_hit=cache_hit in TRUE,
        source_file=file,
        source_row=line,
    )


def _metadata(value: object, error) -> dict:
    # Spend-log rows store metadata as a JSON string; the logging payload nests an object.
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = loads(value)
        except DuplicateKey as exc:
            raise error(f"metadata: {exc}", "metadata", "one value per key") from None
        except json.JSONDecodeError as exc:
            raise error(
                f"metadata is not valid JSON ({exc.msg})", "metadata", "a JSON object"
            ) from None
    if not isinstance(value, dict):
        raise error("metadata is not an object", "metadata", "a JSON object")
    return value


def _time(record: dict, key: str, file: str, line: int) -> datetime:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float | None):
        raise ParseError(
            f"{value!r} is not a timestamp",
            file=file,
            line=line,
            column=key,
            expected="an ISO 8601 timestamp or Unix seconds",
        )
    return parse_datetime(None if value is None else str(value), Cell(file, line, key))
