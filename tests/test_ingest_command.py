"""`manage.py ingest`: counts on success, the located error and a non-zero exit on failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from costapp.dburl import url_from_settings
from costapp.ingest.models import IngestionRun, RunStatus, UsageRollup
from costapp.sources.models import Source
from tests.sources.conftest import request_line

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def test_a_folder_is_one_run_and_its_counts_are_printed(write_file, capsys):
    write_file("logs/a.jsonl", request_line("a"))
    folder = write_file("logs/b.jsonl", request_line("b") + "\n" + request_line("c")).parent
    call_command("ingest", "--format", "jsonl", str(folder))
    out = capsys.readouterr().out
    run = IngestionRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED and run.files == 2
    assert f"run {run.pk} succeeded: 2 file(s), 3 rows read, 3 stored, 0 rejected" in out
    assert f"{run.bytes_read} bytes" in out
    assert sum(r.requests for r in UsageRollup.objects.all()) == 3


def test_the_same_file_again_is_reported_as_skipped(write_file, capsys):
    path = write_file("a.jsonl", request_line("a"))
    call_command("ingest", "--format", "jsonl", str(path))
    call_command("ingest", "--format", "jsonl", str(path))
    assert "skipped" in capsys.readouterr().out


def test_a_bad_file_raises_with_file_line_and_column(write_file):
    path = write_file("bad.jsonl", request_line("a") + "\n" + request_line("b", team=""))
    with pytest.raises(CommandError) as failure:
        call_command("ingest", "--format", "jsonl", str(path))
    assert f"{path}, line 2, column team" in str(failure.value)
    assert UsageRollup.objects.count() == 0


def test_unknown_paths_and_formats_are_refused(tmp_path):
    with pytest.raises(CommandError, match="no such file or folder"):
        call_command("ingest", "--format", "jsonl", str(tmp_path / "missing"))
    with pytest.raises(CommandError):
        call_command("ingest", "--format", "csv", str(tmp_path))


def _manage(*args: str) -> subprocess.CompletedProcess:
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "INFERENCE_LEDGER_DEV": "1",
        # The test database, which the subprocess must see: run it outside a test transaction.
        "DATABASE_URL": url_from_settings(database),
    }
    return subprocess.run(
        [sys.executable, "manage.py", "ingest", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db(transaction=True)
def test_the_exit_code_is_zero_on_success_and_non_zero_on_failure(write_file):
    good = write_file("good.jsonl", request_line("a"))
    bad = write_file("bad.jsonl", "{broken\n")
    ok = _manage("--format", "jsonl", str(good))
    assert ok.returncode == 0, ok.stderr
    assert "succeeded: 1 file(s), 1 rows read, 1 stored" in ok.stdout
    failed = _manage("--format", "jsonl", str(bad))
    assert failed.returncode != 0
    assert f"{bad}, line 1, column 2" in failed.stderr


def test_a_bill_another_stream_holds_is_stored_and_the_warning_printed(write_file, capsys):
    from tests.ingest.billing_cases import csv_text
    from tests.ingest.test_focus import BASE

    Source.objects.create(name="cur-prod", format="focus", location_kind="local")
    first = write_file("cur.csv", csv_text(BASE, ({},)))
    again = write_file("export.csv", csv_text(BASE, ({"ChargeDescription": "other export"},)))
    call_command("ingest", "--format", "focus", "--source", "cur-prod", str(first))
    call_command("ingest", "--format", "focus", str(again))

    err = capsys.readouterr().err
    assert "warning: AWS billing account 111122223333, billing period 2026-11" in err
    assert f"stream source:{Source.objects.get().pk}" in err
