"""Request usage from Langfuse trace exports: `{trace, observations[]}` documents.

A file holds one document (as the Langfuse UI downloads a trace), a JSON array of them, or one a
line (JSON Lines). A document may also be the public API's trace with its `observations` nested
in it. Each GENERATION observation becomes one RequestRow; spans, tools, agents and events are
skipped, not errors: they carry no model usage of their own.

- request_id: the observation `id` (missing is a ParseError: the id makes a re-sent export
  count once); ts: `startTime`; latency_ms: endTime - startTime, else the `latency` field,
  which the UI export writes in milliseconds (12032 for a 12.032 s call).
- model: `model`, else "unassigned".
- tokens: usageDetails.input / usageDetails.output. Cache reads (any usageDetails key naming
  "cache_read" or "cached", e.g. input_cache_read, prompt_details.cache_read,
  cache_read_input_tokens, input_cached_tokens) set cache_hit when above 0; they are not added
  to input_tokens, since Langfuse reports them beside `input`, not inside it.
- team / endpoint / resource_id: the key `team` / `endpoint` / `resource_id` in the
  observation's metadata, else a tag `team:<x>` / `endpoint:<x>` / `resource_id:<x>` in its
  metadata's `tags` (where LangChain puts tags); else the same two places on the trace (its
  metadata, its `tags`); a generation says more than the trace it ran in. Else team is
  "unassigned", endpoint the trace `name` (the workflow that spent the tokens) or "unassigned",
  and resource_id "". `userId` is not read: it names the end user, not the team that pays, and
  would make one "team" per user.
Langfuse's own costDetails are not read: cost comes from the bill and the attribution split.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

from .errors import Where
from .files import InputFile
from .jsondocs import DuplicateKey, documents, loads
from .parsing import Cell, parse_datetime, parse_int
from .rows import RequestRow

KIND = "requests"
UNASSIGNED = "unassigned"
EXPECTED = "a Langfuse trace export {trace, observations[]}"
GENERATION = "GENERATION"
LABELS = ("team", "endpoint", "resource_id")
CACHE_READ_MARKS = ("cache_read", "cached")
MILLISECOND = timedelta(milliseconds=1)
INF = float("inf")  # json.loads reads Infinity as a float


def parse(file: InputFile) -> Iterator[RequestRow]:
    for line, document in documents(file, expected=EXPECTED):
        yield from document_rows(document, file.name, line)


def document_rows(document: object, file: str, line: int) -> Iterator[RequestRow]:
    """Rows of one trace export; `line` (where the document starts) locates errors and lineage."""
    where = Where(file, line, EXPECTED)
    if not isinstance(document, dict):
        raise where.error("not a JSON object", "", "a JSON object per trace")
    if "trace" in document:
        trace, trace_path = document["trace"], "trace"
    elif "observations" in document:
        trace, trace_path = document, ""  # the public API nests observations in the trace
    else:
        raise where.error("neither `trace` nor `observations` is present", "trace")
    if not isinstance(trace, dict):
        raise where.error("the trace is not an object", trace_path or "trace")
    observations = document.get("observations")
    if observations is None:
        return
    if not isinstance(observations, list):
        raise where.error("observations is not a list", "observations")
    trace_labels = _labels(trace, where, _join(trace_path, "metadata"), _join(trace_path, "tags"))
    for i, observation in enumerate(observations):
        path = f"observations[{i}]"
        if not isinstance(observation, dict):
            raise where.error("an observation is not an object", path)
        if observation.get("type") != GENERATION:
            continue
        labels = _labels(observation, where, f"{path}.metadata", f"{path}.metadata.tags")
        yield _row(observation, {**trace_labels, **labels}, trace.get("name"), where, path)


def _row(
    obs: dict, labels: dict[str, str], trace_name: object, where: Where, path: str
) -> RequestRow:
    obs_id = obs.get("id")
    if not obs_id or not isinstance(obs_id, str):
        raise where.error("a generation needs an id", f"{path}.id", "an observation id string")
    start = _time(obs.get("startTime"), where, f"{path}.startTime")
    if obs.get("endTime") not in (None, ""):
        end = _time(obs.get("endTime"), where, f"{path}.endTime")
        if end < start:
            raise where.error("endTime is before startTime", f"{path}.endTime", "end >= start")
        latency_ms = (end - start) // MILLISECOND
    else:
        latency_ms = _latency(obs.get("latency"), where, f"{path}.latency")
    usage = obs.get("usageDetails") or {}
    if not isinstance(usage, dict):
        raise where.error("usageDetails is not an object", f"{path}.usageDetails")
    counted = [
        k for k in usage if k in ("input", "output") or any(m in k for m in CACHE_READ_MARKS)
    ]
    counts = {k: _count(usage[k], where, f"{path}.usageDetails.{k}") for k in counted}
    cache_reads = sum(n for k, n in counts.items() if k not in ("input", "output"))
    return RequestRow(
        ts=start,
        request_id=obs_id,
        team=labels.get("team") or UNASSIGNED,
        model=_text(obs.get("model")) or UNASSIGNED,
        endpoint=labels.get("endpoint") or _text(trace_name) or UNASSIGNED,
        resource_id=labels.get("resource_id", ""),
        input_tokens=counts.get("input", 0),
        output_tokens=counts.get("output", 0),
        latency_ms=latency_ms,
        cache_hit=cache_reads > 0,
        source_file=where.file,
        source_row=where.line,
    )


def _labels(holder: dict, where: Where, metadata_path: str, tags_path: str) -> dict[str, str]:
    """team / endpoint / resource_id from metadata keys, else from `key:value` tags."""
    metadata = _metadata(holder.get("metadata"), where, metadata_path)
    tags = holder.get("tags") if "tags" in holder else metadata.get("tags")
    if tags is None:
        tags = []
    if not isinstance(tags, list):
        raise where.error("tags is not a list", tags_path, "a list of strings")
    found: dict[str, str] = {}
    for tag in tags:
        key, sep, value = tag.partition(":") if isinstance(tag, str) else ("", "", "")
        if sep and key in LABELS and value and key not in found:
            found[key] = value
    for key in LABELS:
        value = _text(metadata.get(key))
        if value:
            found[key] = value  # a metadata key is explicit; it outranks a tag
    return found


def _metadata(value: object, where: Where, path: str) -> dict:
    # The UI export writes trace metadata as a JSON string and observation metadata as an
    # object. Metadata is free-form in Langfuse (a plain string is valid), so anything that is
    # not an object simply holds no labels.
    if isinstance(value, str):
        try:
            value = loads(value)
        except DuplicateKey as exc:
            # Labels are read from it: which of two values counts would be a guess.
            raise where.error(str(exc), f"{path}.{exc.key}", "one value per key") from None
        except json.JSONDecodeError:
            return {}
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _time(value: object, where: Where, path: str) -> datetime:
    if not isinstance(value, str):
        raise where.error(f"{value!r} is not a timestamp", path, "an ISO 8601 timestamp")
    return parse_datetime(value, Cell(where.file, where.line, path))


def _count(value: object, where: Where, path: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JavaScript writes every number as a double
    if isinstance(value, bool) or (value is not None and not isinstance(value, int | str)):
        raise where.error(f"{value!r} is not a whole number", path, "a count >= 0")
    count = parse_int(value, Cell(where.file, where.line, path), default=0)
    if count < 0:
        raise where.error(f"{value!r} is negative", path, "a count >= 0")
    return count


def _latency(value: object, where: Where, path: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < INF:
        raise where.error(f"{value!r} is not a latency", path, "milliseconds >= 0")
    return int(value)
