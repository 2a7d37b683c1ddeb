"""`manage.py ingest`: the --tz option of nvidia-smi logs, and its refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from costapp.ingest.models import GpuSample, IngestionRun

pytestmark = pytest.mark.django_db

LOG = "timestamp, uuid, utilization.gpu [%]\n2026/07/14 08:00:00.000, GPU-abc, 38 %\n"


def test_nvidia_smi_stamps_are_read_in_the_zone_given(write_file):
    call_command(
        "ingest", "--format", "nvidia-smi", "--tz", "Europe/Paris", write_file("smi.csv", LOG)
    )
    assert GpuSample.objects.get().ts == datetime(2026, 7, 14, 6, tzinfo=UTC)


def test_without_tz_the_stamps_are_utc(write_file):
    call_command("ingest", "--format", "nvidia-smi", write_file("smi.csv", LOG))
    assert GpuSample.objects.get().ts == datetime(2026, 7, 14, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--format", "nvidia-smi", "--tz", "Europe/Atlantis"), "unknown time zone"),
        (("--format", "nvidia-smi", "--tz", "../etc/passwd"), "unknown time zone"),
        (("--format", "dcgm", "--tz", "Europe/Paris"), "nvidia-smi logs only"),
    ],
)
def test_a_bad_tz_is_a_clear_error_and_records_no_run(write_file, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("ingest", *args, write_file("smi.csv", LOG))
    assert not IngestionRun.objects.exists()
