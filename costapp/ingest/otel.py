"""Request usage from OpenTelemetry GenAI spans in OTLP/JSON (resourceSpans -> scopeSpans -> spans).

A file holds one OTLP/JSON export request, several, or one per line (JSON Lines, as the
Collector's file exporter writes). Each span carrying gen_ai.usage.input_tokens or
gen_ai.usage.output_tokens becomes one RequestRow; other spans (HTTP, DB, agent steps) are
skipped, not errors.

- request_id: traceId + spanId (32 + 16 hex digits, concatenated); ts: startTimeUnixNano;
  latency_ms: end - start.
- model: gen_ai.request.model, else gen_ai.response.model, else "unassigned".
- team / endpoint / resource_id: the first key in MAPPING's list found on the span's attributes,
  then on its resource's attributes (a span says more than the process it ran in); else
  "unassigned" for team and endpoint and "" for the resource. A Source's options may pass their
  own mapping to `parse(file, mapping=...)`, e.g. {"team": ["app.team"]}; keys not given keep
  the defaults.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from .errors import Where
from .files import InputFile
from .jsondocs import documents
from .rows import RequestRow

KIND = "requests"
UNASSIGNED = "unassigned"
MAPPING: dict[str, tuple[str, ...]] = {
    "team": ("team", "service.namespace"),
    "endpoint": ("http.route", "server.address", "service.name"),
    "resource": ("host.id", "k8s.node.name"),
    "model": ("gen_ai.request.model", "gen_ai.response.model"),
}
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
EXPECTED = "an OTLP/JSON traces export"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse(
    file: InputFile, mapping: Mapping[str, Sequence[str] | str] | None = None
) -> Iterator[RequestRow]:
    keys = resolve_mapping(mapping)
    for line, document in documents(file, expected=EXPECTED):
        yield from document_rows(document, file.name, line, keys)


def resolve_mapping(
    mapping: Mapping[str, Sequence[str] | str] | None,
) -> dict[str, tuple[str, ...]]:
    keys = dict(MAPPING)
    for field, attributes in (mapping or {}).items():
        if field not in MAPPING:
            raise ValueError(f"unknown mapping field {field!r}; known: {', '.join(MAPPING)}")
        keys[field] = (attributes,) if isinstance(attributes, str) else tuple(attributes)
    return keys


def document_rows(
    document: object, file: str, line: int, keys: Mapping[str, tuple[str, ...]]
) -> Iterator[RequestRow]:
    """Rows of one OTLP/JSON export request; `line` locates errors and lineage."""
    where = Where(file, line, EXPECTED)
    if not isinstance(document, dict) or not isinstance(document.get("resourceSpans", []), list):
        raise where.error("not an OTLP/JSON traces object", "resourceSpans")
    for r, resource_spans in enumerate(document.get("resourceSpans", [])):
        path = f"resourceSpans[{r}]"
        _object(resource_spans, where, path)
        resource = _object(resource_spans.get("resource") or {}, where, f"{path}.resource")
        resource_attrs = attributes(resource.get("attributes"), where, f"{path}.resource")
        for s, scope_spans in enumerate(resource_spans.get("scopeSpans") or []):
            _object(scope_spans, where, f"{path}.scopeSpans[{s}]")
            for n, span in enumerate(scope_spans.get("spans") or []):
                span_path = f"{path}.scopeSpans[{s}].spans[{n}]"
                row = span_row(
                    _object(span, where, span_path), resource_attrs, keys, where, span_path
                )
                if row is not None:
                    yield row


def _object(value: object, where: Where, path: str) -> dict:
    if not isinstance(value, dict):
        raise where.error("expected a JSON object here", path)
    return value


def span_row(
    span: dict, resource: dict, keys: Mapping[str, tuple[str, ...]], where: Where, path: str
) -> RequestRow | None:
    attrs = attributes(span.get("attributes"), where, path)
    if INPUT_TOKENS not in attrs and OUTPUT_TOKENS not in attrs:
        return None
    trace_id, span_id = span.get("traceId") or "", span.get("spanId") or ""
    if not trace_id or not span_id:
        raise where.error("a GenAI span needs traceId and spanId", f"{path}.traceId")
    start = _nanos(span.get("startTimeUnixNano"), where, f"{path}.startTimeUnixNano")
    end = span.get("endTimeUnixNano")
    end = start if end in (None, "", 0, "0") else _nanos(end, where, f"{path}.endTimeUnixNano")
    if end < start:
        raise where.error("the span ends before it starts", f"{path}.endTimeUnixNano")

    def pick(field: str, default: str) -> str:
        for key in keys[field]:
            for source in (attrs, resource):
                value = source.get(key)
                if value not in (None, ""):
                    return str(value)
        return default

    return RequestRow(
        ts=EPOCH + timedelta(microseconds=start // 1000),
        request_id=f"{trace_id}{span_id}",
        team=pick("team", UNASSIGNED),
        model=pick("model", UNASSIGNED),
        endpoint=pick("endpoint", UNASSIGNED),
        resource_id=pick("resource", ""),
        input_tokens=_count(attrs.get(INPUT_TOKENS), where, f"{path}.attributes.{INPUT_TOKENS}"),
        output_tokens=_count(attrs.get(OUTPUT_TOKENS), where, f"{path}.attributes.{OUTPUT_TOKENS}"),
        latency_ms=(end - start) // 1_000_000,
        source_file=where.file,
        source_row=where.line,
    )


def attributes(items: object, where: Where, path: str) -> dict[str, object]:
    """OTLP's [{key, value: {stringValue | intValue | ...}}] as a plain dict."""
    if items is None:
        return {}
    if not isinstance(items, list):
        raise where.error("attributes must be a list of {key, value}", f"{path}.attributes")
    out: dict[str, object] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "key" not in item:
            raise where.error("an attribute needs a key", f"{path}.attributes[{i}]")
        if item["key"] in out:  # OTLP requires unique keys; which value wins would be a guess
            raise where.error(
                f"the attribute {item['key']!r} appears twice",
                f"{path}.attributes[{i}]",
                "one value per attribute key",
            )
        out[item["key"]] = any_value(item.get("value"))
    return out


def any_value(value: object) -> object:
    if not isinstance(value, dict):
        return None
    for kind in ("stringValue", "boolValue", "intValue", "doubleValue", "bytesValue"):
        if kind in value:
            return value[kind]
    if "arrayValue" in value:
        return [any_value(v) for v in (value["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in value:
        return {
            kv.get("key"): any_value(kv.get("value"))
            for kv in (value["kvlistValue"] or {}).get("values", [])
        }
    return None


def _nanos(value: object, where: Where, path: str) -> int:
    # OTLP/JSON writes 64-bit integers as strings; some SDKs write plain numbers.
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise where.error(f"{value!r} is not a time in Unix nanoseconds", path)
    return int(value)


def _count(value: object, where: Where, path: str) -> int:
    if value is None:
        return 0
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)  # a doubleValue from an SDK without integer attributes
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise where.error(f"{value!r} is not a token count", path)
    return int(value)
