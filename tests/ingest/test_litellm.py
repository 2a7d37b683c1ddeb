"""LiteLLM spend logs and logging payloads: field choices, layouts, and located errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from costapp.ingest import litellm
from costapp.ingest.files import InputFile
from costapp.ingest.models import RunStatus, UsageRollup
from costapp.ingest.runs import ingest

pytestmark = pytest.mark.django_db


def _spend_log(request_id: str, **extra) -> dict:
    row = {
        "request_id": request_id,
        "call_type": "acompletion",
        "cache_hit": "None",
        "startTime": "2026-11-01 10:05:00.000000",
        "endTime": "2026-11-01 10:05:01.250000",
        "model": "hosted_vllm/meta-llama/Llama-3.1-70B-Instruct",
        "model_group": "llama-70b",
        "api_base": "http://vllm-llama70b.llm.svc:8000/v1",
        "team_id": "8c1f4c3e-team-uuid",
        "metadata": json.dumps(
            {"user_api_key_team_alias": "search", "user_api_key_team_id": "8c1f"}
        ),
        "prompt_tokens": 812,
        "completion_tokens": 164,
        "custom_llm_provider": "hosted_vllm",
        "spend": 0.0123,
    }
    row.update(extra)
    return row


def _rows(text: str) -> list:
    return list(litellm.parse(InputFile.from_bytes("spend.json", text.encode())))


def test_a_spend_log_row_maps_team_alias_model_group_and_api_base():
    (row,) = _rows(json.dumps(_spend_log("chatcmpl-1"), indent=4))
    assert row.ts == datetime(2026, 11, 1, 10, 5, tzinfo=UTC)
    assert (row.request_id, row.team, row.model, row.endpoint) == (
        "chatcmpl-1",
        "search",
        "llama-70b",
        "http://vllm-llama70b.llm.svc:8000/v1",
    )
    assert (row.input_tokens, row.output_tokens, row.latency_ms, row.cache_hit) == (
        812,
        164,
        1250,
        False,
    )


def test_fallbacks_team_id_then_unassigned_model_then_provider_endpoint():
    rows = _rows(
        json.dumps(
            [
                _spend_log("a", metadata="{}", cache_hit="True"),
                _spend_log("b", metadata="", team_id="", model_group="", api_base=""),
            ]
        )
    )
    assert [(r.team, r.model, r.endpoint, r.cache_hit) for r in rows] == [
        ("8c1f4c3e-team-uuid", "llama-70b", "http://vllm-llama70b.llm.svc:8000/v1", True),
        ("unassigned", "hosted_vllm/meta-llama/Llama-3.1-70B-Instruct", "hosted_vllm", False),
    ]


def test_a_standard_logging_payload_is_read_by_the_same_rules():
    payload = {
        "id": "chatcmpl-9",
        "startTime": 1793527200.5,
        "endTime": 1793527201.0,
        "model": "gpt-4o",
        "model_group": "",
        "api_base": "",
        "cache_hit": None,
        "prompt_tokens": 10,
        "completion_tokens": 20,
        "metadata": {"user_api_key_team_alias": None, "user_api_key_team_id": "team-7"},
        "hidden_params": {"api_base": "https://api.openai.com"},
    }
    (row,) = _rows(json.dumps(payload))
    assert (row.request_id, row.team, row.model, row.endpoint, row.latency_ms) == (
        "chatcmpl-9",
        "team-7",
        "gpt-4o",
        "https://api.openai.com",
        500,
    )


def test_json_lines_ingest_roll_up_and_a_resent_log_counts_once(write_file):
    lines = [json.dumps(_spend_log(f"r{n}")) for n in range(3)]
    first = ingest([InputFile.from_path(write_file("a.jsonl", "\n".join(lines)))], "litellm")
    again = ingest([InputFile.from_path(write_file("b.jsonl", "\n".join(lines) + "\n"))], "litellm")
    assert (first.status, again.status) == (RunStatus.SUCCEEDED, RunStatus.SUCCEEDED)
    assert (first.rows_stored, again.rows_stored) == (3, 0)
    (rollup,) = UsageRollup.objects.all()
    assert (rollup.requests, rollup.input_tokens, rollup.output_tokens) == (3, 2436, 492)


@pytest.mark.parametrize(
    ("bad", "line", "column", "message"),
    [
        ({**_spend_log(""), "request_id": None}, 3, "request_id", "request_id is missing"),
        (_spend_log("x", prompt_tokens="lots"), 3, "prompt_tokens", "not a whole number"),
        (_spend_log("x", startTime="soon"), 3, "startTime", "not a timestamp"),
        (_spend_log("x", metadata="{not json"), 3, "metadata", "metadata is not valid JSON"),
        (_spend_log("r0"), 3, "request_id", "appears more than once"),
    ],
)
def test_a_bad_record_fails_the_run_located_and_stores_nothing(
    write_file, bad, line, column, message
):
    assert ingest(
        [InputFile.from_path(write_file("old.json", json.dumps(_spend_log("old"))))], "litellm"
    ).status == (RunStatus.SUCCEEDED)
    path = write_file(
        "bad.json", "[\n" + json.dumps(_spend_log("r0")) + ",\n" + json.dumps(bad) + "\n]\n"
    )
    run = ingest([InputFile.from_path(path)], "litellm")
    assert run.status == RunStatus.FAILED
    assert (run.error_file, run.error_line, run.error_column) == (str(path), line, column)
    assert message in run.error
    assert UsageRollup.objects.filter(run=run).count() == 0
    assert sum(UsageRollup.objects.values_list("requests", flat=True)) == 1
