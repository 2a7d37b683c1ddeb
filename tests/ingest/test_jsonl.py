"""JSON Lines request logs: rollups per hour, idempotent re-runs, bad lines located."""

from __future__ import annotations

import pytest

from costapp.ingest.files import InputFile
from costapp.ingest.models import IngestionRun, RunStatus, UsageRollup
from costapp.ingest.runs import ingest
from tests.sources.conftest import request_line

pytestmark = pytest.mark.django_db


def test_requests_roll_up_per_hour_and_key(write_file):
    path = write_file(
        "r.jsonl",
        "\n".join(
            [
                request_line("a", "2026-11-01T10:05:00Z"),
                request_line("b", "2026-11-01T10:55:00Z", cache_hit=True),
                request_line("c", "2026-11-01T11:00:00Z", team="ads"),
            ]
        ),
    )
    run = ingest([InputFile.from_path(path)], "jsonl")
    assert run.status == RunStatus.SUCCEEDED, run.error
    rollups = {(r.hour.hour, r.team): r for r in UsageRollup.objects.all()}
    assert rollups[(10, "search")].requests == 2
    assert rollups[(10, "search")].input_tokens == 200
    assert rollups[(10, "search")].cache_hits == 1
    assert rollups[(11, "ads")].requests == 1


def test_same_file_twice_is_skipped_and_overlapping_ids_count_once(write_file):
    first = write_file("a.jsonl", request_line("a", "2026-11-01T10:05:00Z"))
    overlap = write_file(
        "b.jsonl",
        "\n".join(
            [request_line("a", "2026-11-01T10:05:00Z"), request_line("b", "2026-11-01T10:06:00Z")]
        ),
    )
    assert ingest([InputFile.from_path(first)], "jsonl").status == RunStatus.SUCCEEDED
    assert ingest([InputFile.from_path(first)], "jsonl").status == RunStatus.SKIPPED
    run = ingest([InputFile.from_path(overlap)], "jsonl")
    assert run.rows_read == 2 and run.rows_stored == 1
    assert sum(r.requests for r in UsageRollup.objects.all()) == 2


def test_malformed_line_fails_the_run_with_file_line_column_and_stores_nothing(write_file):
    good = write_file("good.jsonl", request_line("x", "2026-11-01T09:00:00Z"))
    ingest([InputFile.from_path(good)], "jsonl")
    bad = write_file(
        "bad.jsonl",
        "\n".join(
            [
                request_line("y", "2026-11-01T10:00:00Z"),
                request_line("z", "2026-11-01T10:00:00Z", output_tokens="ten"),
            ]
        ),
    )
    run = ingest([InputFile.from_path(bad)], "jsonl")
    assert run.status == RunStatus.FAILED
    assert (run.error_file, run.error_line, run.error_column) == (str(bad), 2, "output_tokens")
    assert "bad.jsonl, line 2, column output_tokens" in run.error
    # Nothing of the bad file, everything of the earlier one.
    assert UsageRollup.objects.filter(run=run).count() == 0
    assert sum(r.requests for r in UsageRollup.objects.all()) == 1
    assert IngestionRun.objects.get(pk=run.pk).status == RunStatus.FAILED


def test_invalid_json_is_located_to_its_column(write_file):
    bad = write_file(
        "broken.jsonl", request_line("a", "2026-11-01T10:00:00Z") + '\n{"timestamp": }\n'
    )
    run = ingest([InputFile.from_path(bad)], "jsonl")
    assert run.status == RunStatus.FAILED
    assert run.error_line == 2 and run.error_column == "15"


def test_duplicate_request_ids_in_one_file_fail_the_run(write_file):
    bad = write_file(
        "dup.jsonl",
        "\n".join(
            [request_line("a", "2026-11-01T10:00:00Z"), request_line("a", "2026-11-01T10:01:00Z")]
        ),
    )
    run = ingest([InputFile.from_path(bad)], "jsonl")
    assert run.status == RunStatus.FAILED
    assert run.error_line == 2 and "appears more than once" in run.error
    assert UsageRollup.objects.count() == 0
