"""OTLP/JSON GenAI spans: usage rows, attribute mapping, JSON Lines, and located errors."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime

import pytest

from costapp.ingest import otel
from costapp.ingest.files import InputFile
from costapp.ingest.models import RunStatus, UsageRollup
from costapp.ingest.runs import ingest

pytestmark = pytest.mark.django_db

START = 1793527200_000_000_000  # 2026-11-01T10:00:00Z in nanoseconds


def _attr(key: str, value) -> dict:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}  # OTLP/JSON writes int64 as a string
    return {"key": key, "value": {"stringValue": value}}


def _span(span_id: str, *, start: int = START, ms: int = 850, **attrs) -> dict:
    return {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": span_id,
        "name": "chat llama-3.1-70b",
        "kind": 3,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + ms * 1_000_000),
        "attributes": [_attr(k.replace("__", "."), v) for k, v in attrs.items()],
    }


def _export(*spans: dict, **resource) -> dict:
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [_attr(k.replace("__", "."), v) for k, v in resource.items()]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "opentelemetry.instrumentation.openai"},
                        "spans": list(spans),
                    }
                ],
            }
        ]
    }


GENAI = {
    "gen_ai__operation__name": "chat",
    "gen_ai__request__model": "llama-3.1-70b",
    "gen_ai__usage__input_tokens": 812,
    "gen_ai__usage__output_tokens": 164,
}


def _rows(document: dict | str, **kwargs) -> list:
    text = document if isinstance(document, str) else json.dumps(document, indent=2)
    return list(otel.parse(InputFile.from_bytes("spans.json", text.encode()), **kwargs))


def test_genai_spans_become_requests_and_other_spans_are_skipped():
    document = _export(
        _span("aaaaaaaaaaaaaaaa", **GENAI, http__route="/v1/chat"),
        _span("bbbbbbbbbbbbbbbb", http__route="/healthz"),
        _span(
            "cccccccccccccccc",
            gen_ai__response__model="llama-3.1-8b",
            gen_ai__usage__output_tokens=7,
        ),
        service__namespace="search",
        service__name="gateway",
        host__id="i-0abc",
    )
    first, second = _rows(document)
    assert first.request_id == "5b8efff798038103d269b633813fc60caaaaaaaaaaaaaaaa"
    assert first.ts == datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    assert (first.team, first.model, first.endpoint, first.resource_id) == (
        "search",
        "llama-3.1-70b",
        "/v1/chat",
        "i-0abc",
    )
    assert (first.input_tokens, first.output_tokens, first.latency_ms) == (812, 164, 850)
    # No http.route on the span: the endpoint falls back to the resource's service.name.
    assert (second.model, second.endpoint, second.input_tokens, second.output_tokens) == (
        "llama-3.1-8b",
        "gateway",
        0,
        7,
    )


def test_span_attributes_override_resource_ones_and_missing_team_is_unassigned():
    (row,) = _rows(_export(_span("a" * 16, **GENAI, team="ads"), team="search"))
    assert row.team == "ads"
    (row,) = _rows(_export(_span("a" * 16, **GENAI)))
    assert (row.team, row.endpoint, row.resource_id) == ("unassigned", "unassigned", "")


def test_a_sources_mapping_overrides_the_defaults():
    document = _export(
        _span("a" * 16, **GENAI, app__team="risk", app__route="/score"), k8s__node__name="node-7"
    )
    (row,) = _rows(document, mapping={"team": "app.team", "endpoint": ["app.route"]})
    assert (row.team, row.endpoint, row.resource_id) == ("risk", "/score", "node-7")
    with pytest.raises(ValueError, match="unknown mapping field"):
        _rows(document, mapping={"tenant": "x"})


def test_json_lines_of_exports_ingest_and_roll_up(write_file):
    lines = [
        json.dumps(_export(_span(f"{n:016x}", start=START + n * 10**9, **GENAI), team="search"))
        for n in range(3)
    ]
    path = write_file("otel.jsonl", "\n".join(lines) + "\n")
    run = ingest([InputFile.from_path(path)], "otel")
    assert run.status == RunStatus.SUCCEEDED, run.error
    (rollup,) = UsageRollup.objects.all()
    assert (rollup.team, rollup.requests, rollup.input_tokens, rollup.output_tokens) == (
        "search",
        3,
        2436,
        492,
    )


def test_a_mapping_reaches_the_parser_through_ingest(write_file):
    path = write_file("o.json", json.dumps(_export(_span("a" * 16, **GENAI, owner="ml"))))
    run = ingest(
        [InputFile.from_path(path)],
        "otel",
        parse=functools.partial(otel.parse, mapping={"team": "owner"}),
    )
    assert run.status == RunStatus.SUCCEEDED
    assert UsageRollup.objects.get().team == "ml"


@pytest.mark.parametrize(
    ("span", "column", "message"),
    [
        (
            {**_span("a" * 16, **GENAI), "startTimeUnixNano": "yesterday"},
            "resourceSpans[0].scopeSpans[0].spans[1].startTimeUnixNano",
            "not a time in Unix nanoseconds",
        ),
        (
            _span("a" * 16, gen_ai__usage__input_tokens="many"),
            "resourceSpans[0].scopeSpans[0].spans[1].attributes.gen_ai.usage.input_tokens",
            "not a token count",
        ),
        (
            {**_span("", **GENAI)},
            "resourceSpans[0].scopeSpans[0].spans[1].traceId",
            "needs traceId and spanId",
        ),
    ],
)
def test_a_bad_span_fails_the_run_located_and_stores_nothing(write_file, span, column, message):
    good_line = json.dumps(_export(_span("f" * 16, **GENAI)))
    assert (
        ingest([InputFile.from_path(write_file("good.jsonl", good_line))], "otel").status
        == RunStatus.SUCCEEDED
    )
    bad_line = json.dumps(_export(_span("e" * 16, **GENAI), span))
    bad = write_file("bad.jsonl", good_line.replace("f" * 16, "d" * 16) + "\n" + bad_line + "\n")
    run = ingest([InputFile.from_path(bad)], "otel")
    assert run.status == RunStatus.FAILED
    assert (run.error_file, run.error_line, run.error_column) == (str(bad), 2, column)
    assert message in run.error
    assert sum(UsageRollup.objects.values_list("requests", flat=True)) == 1
