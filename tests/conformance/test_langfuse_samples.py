"""The four public Langfuse framework traces ingest through the real service, and what is stored
matches generation counts and token totals computed here straight from the JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from costapp.ingest.files import local_files
from costapp.ingest.models import RunStatus, UsageRollup
from costapp.ingest.runs import ingest

pytestmark = [pytest.mark.conformance, pytest.mark.django_db]

# Generations per file as MANIFEST.md lists them; a guard that the JSON reading below is right.
GENERATIONS = {
    "google-gemini-2025-08-01.json": 1,
    "langgraph-2025-08-22.json": 2,
    "openai-agents-2025-09-30.json": 2,
    "pydantic-ai-tools-2025-12-04.json": 4,
}


def _generations(path: Path) -> list[dict]:
    document = json.loads(path.read_text())
    return [o for o in document["observations"] if o["type"] == "GENERATION"]


def test_every_langfuse_trace_stores_one_request_per_generation_with_its_tokens(shared_fixtures):
    files = local_files(shared_fixtures / "langfuse-framework-traces")
    expected = {Path(f.name).name: _generations(Path(f.name)) for f in files}
    assert {name: len(gens) for name, gens in expected.items()} == GENERATIONS
    generations = [g for gens in expected.values() for g in gens]
    run = ingest(files, "langfuse")
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.rows_stored == len(generations) == 9
    rollups = UsageRollup.objects.filter(run=run)
    assert sum(r.requests for r in rollups) == 9
    assert sum(r.input_tokens for r in rollups) == sum(
        g["usageDetails"]["input"] for g in generations
    )
    assert sum(r.output_tokens for r in rollups) == sum(
        g["usageDetails"]["output"] for g in generations
    )
    # The export's own latency field is in milliseconds; ours comes from endTime - startTime.
    assert sum(r.latency_ms_sum for r in rollups) == sum(g["latency"] for g in generations)
    assert {r.model for r in rollups} == {g["model"] for g in generations}
    traces = [json.loads(Path(f.name).read_text())["trace"] for f in files]
    assert {r.endpoint for r in rollups} == {t["name"] for t in traces}
    assert {r.team for r in rollups} == {"unassigned"}  # no sample carries a team
    assert sum(r.cache_hits for r in rollups) == 0  # every cache-read count in them is 0


def test_the_traces_as_one_array_then_as_json_lines_count_each_generation_once(
    shared_fixtures, write_file
):
    paths = sorted((shared_fixtures / "langfuse-framework-traces").glob("*.json"))
    documents = [json.loads(p.read_text()) for p in paths]
    as_array = write_file("traces.json", json.dumps(documents, indent=2))
    as_lines = write_file("traces.jsonl", "\n".join(json.dumps(d) for d in documents) + "\n")
    first = ingest(local_files(as_array), "langfuse")
    again = ingest(local_files(as_lines), "langfuse")
    assert (first.status, again.status) == (RunStatus.SUCCEEDED, RunStatus.SUCCEEDED)
    assert (first.rows_stored, again.rows_stored) == (sum(GENERATIONS.values()), 0)
