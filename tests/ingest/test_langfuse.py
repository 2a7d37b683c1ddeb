"""Langfuse trace exports: which observations count, the label mapping, layouts, located errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from costapp.ingest import langfuse
from costapp.ingest.errors import ParseError
from costapp.ingest.files import InputFile
from costapp.ingest.models import RunStatus, UsageRollup
from costapp.ingest.runs import ingest

pytestmark = pytest.mark.django_db


def _generation(obs_id: str, **extra) -> dict:
    observation = {
        "id": obs_id,
        "type": "GENERATION",
        "name": "ChatOpenAI",
        "startTime": "2026-11-01T10:05:00.000Z",
        "endTime": "2026-11-01T10:05:01.250Z",
        "latency": 1250,
        "model": "gpt-4o-2024-08-06",
        "usageDetails": {"input": 60, "output": 15, "total": 75, "input_cache_read": 0},
        "metadata": {"ls_provider": "openai"},
    }
    observation.update(extra)
    return observation


def _span(obs_id: str) -> dict:
    return {"id": obs_id, "type": "SPAN", "name": "tools", "startTime": "2026-11-01T10:05:00Z"}


def _trace(*observations: dict, **extra) -> dict:
    # As the UI export writes it: trace metadata is a JSON string, observation metadata an object.
    trace = {
        "id": "e1fde3ef",
        "name": "support-bot",
        "tags": [],
        "userId": "alice",
        "metadata": "{}",
    }
    trace.update(extra)
    return {"trace": trace, "observations": list(observations)}


def _rows(text: str) -> list:
    return list(langfuse.parse(InputFile.from_bytes("trace.json", text.encode())))


def test_each_generation_is_one_request_and_other_observations_are_skipped():
    document = _trace(_span("s1"), _generation("g1"), {**_span("t1"), "type": "TOOL"})
    (row,) = _rows(json.dumps(document, indent=2))
    assert (row.request_id, row.ts, row.model) == (
        "g1",
        datetime(2026, 11, 1, 10, 5, tzinfo=UTC),
        "gpt-4o-2024-08-06",
    )
    assert (row.input_tokens, row.output_tokens, row.latency_ms, row.cache_hit) == (
        60,
        15,
        1250,
        False,
    )
    assert (row.team, row.endpoint, row.resource_id) == ("unassigned", "support-bot", "")


def test_team_comes_from_trace_metadata_or_a_team_tag_and_the_generation_outranks_the_trace():
    rows = _rows(
        json.dumps(
            [
                _trace(_generation("a"), metadata=json.dumps({"team": "search"})),
                _trace(_generation("b"), tags=["prod", "team:ranking", "endpoint:/v1/rank"]),
                _trace(
                    _generation("c", metadata={"team": "ads", "resource_id": "node-7"}),
                    metadata=json.dumps({"team": "search", "endpoint": "/v1/chat"}),
                ),
                _trace(_generation("d", metadata={"tags": ["team:growth"]}), tags=["team:x"]),
            ]
        )
    )
    assert [(r.team, r.endpoint, r.resource_id) for r in rows] == [
        ("search", "support-bot", ""),
        ("ranking", "/v1/rank", ""),
        ("ads", "/v1/chat", "node-7"),
        ("growth", "support-bot", ""),
    ]


def test_a_cache_read_marks_a_hit_without_adding_to_input_tokens():
    rows = _rows(
        json.dumps(
            _trace(
                _generation("a", usageDetails={"input": 85, "prompt_details.cache_read": 64}),
                _generation("b", usageDetails={"input": 10, "input_cached_tokens": 0}),
            )
        )
    )
    assert [(r.input_tokens, r.cache_hit) for r in rows] == [(85, True), (10, False)]


def test_json_lines_and_the_api_form_with_nested_observations_read_alike():
    nested = {"id": "t2", "name": "support-bot", "observations": [_generation("g2")]}
    rows = _rows(json.dumps(_trace(_generation("g1"))) + "\n\n" + json.dumps(nested) + "\n")
    assert [(r.request_id, r.endpoint, r.source_row) for r in rows] == [
        ("g1", "support-bot", 1),
        ("g2", "support-bot", 3),
    ]


def test_without_an_end_time_the_latency_field_is_read_as_milliseconds_and_no_model_is_unassigned():
    (row,) = _rows(json.dumps(_trace(_generation("g", endTime=None, latency=848.0, model=None))))
    assert (row.latency_ms, row.model) == (848, "unassigned")


@pytest.mark.parametrize(
    ("bad", "column", "message"),
    [
        (_generation(""), "observations[1].id", "a generation needs an id"),
        (
            _generation("x", usageDetails={"input": "many"}),
            "observations[1].usageDetails.input",
            "not a whole number",
        ),
        (
            _generation("x", usageDetails={"output": [3]}),
            "observations[1].usageDetails.output",
            "not a whole number",
        ),
        (_generation("x", startTime="soon"), "observations[1].startTime", "not a timestamp"),
        (
            _generation("x", endTime="2026-11-01T10:04:00Z"),
            "observations[1].endTime",
            "before startTime",
        ),
    ],
)
def test_a_bad_generation_is_located_by_line_and_key_path(bad, column, message):
    text = json.dumps(_trace(_generation("ok"))) + "\n" + json.dumps(_trace(_span("s"), bad))
    with pytest.raises(ParseError) as caught:
        _rows(text)
    assert (caught.value.file, caught.value.line, caught.value.column) == ("trace.json", 2, column)
    assert message in caught.value.message


def test_a_span_with_junk_usage_is_skipped_not_an_error():
    span = {**_span("s"), "usageDetails": {"input": "n/a"}}
    assert _rows(json.dumps(_trace(span))) == []


def test_ingest_rolls_up_generations_and_a_resent_export_counts_once(write_file):
    text = json.dumps(_trace(_span("s"), _generation("g1"), _generation("g2")), indent=2)
    first = ingest([InputFile.from_path(write_file("a.json", text))], "langfuse")
    again = ingest([InputFile.from_path(write_file("b.json", text + "\n"))], "langfuse")
    assert (first.status, again.status) == (RunStatus.SUCCEEDED, RunStatus.SUCCEEDED)
    assert (first.rows_stored, again.rows_stored) == (2, 0)
    (rollup,) = UsageRollup.objects.all()
    assert (rollup.requests, rollup.input_tokens, rollup.output_tokens) == (2, 120, 30)
    assert (rollup.team, rollup.endpoint, rollup.latency_ms_sum) == (
        "unassigned",
        "support-bot",
        2500,
    )
