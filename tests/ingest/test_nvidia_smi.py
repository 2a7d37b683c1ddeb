"""nvidia-smi --query-gpu CSV logs: any fields, units or none, nulls, and located errors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from costapp.ingest import nvidia_smi
from costapp.ingest.files import InputFile
from costapp.ingest.models import GpuSample, RunStatus
from costapp.ingest.runs import ingest

pytestmark = pytest.mark.django_db

HEADER = "timestamp, name, uuid, index, utilization.gpu [%], memory.used [MiB], power.draw [W]"


def _rows(text: str) -> list:
    return list(nvidia_smi.parse(InputFile.from_bytes("smi.csv", text.encode())))


def test_values_with_units_are_read_and_utilization_becomes_a_fraction():
    (row,) = _rows(
        HEADER
        + "\n2026/07/14 08:12:53.353, NVIDIA H100 80GB HBM3, GPU-abc, 0, 38 %, 575 MiB, 631.95 W\n"
    )
    assert row.ts == datetime(2026, 7, 14, 8, 12, 53, 353000, tzinfo=UTC)
    assert (row.gpu_uuid, row.gpu_index, row.gpu_model) == ("GPU-abc", 0, "NVIDIA H100 80GB HBM3")
    assert (row.utilization, row.memory_used_mib, row.power_w) == (
        Decimal("0.38"),
        Decimal(575),
        Decimal("631.95"),
    )


def test_local_stamps_are_read_in_the_given_zone_across_a_dst_change():
    text = HEADER + "".join(
        f"\n{stamp}, NVIDIA H100 80GB HBM3, GPU-abc, 0, 38 %, 575 MiB, 631.95 W"
        for stamp in ("2026/07/14 08:12:53.353", "2026/12/14 08:00:00.000")
    )
    file = InputFile.from_bytes("smi.csv", (text + "\n").encode())
    summer, winter = nvidia_smi.parse(file, tz=ZoneInfo("Europe/Paris"))
    assert summer.ts == datetime(2026, 7, 14, 6, 12, 53, 353000, tzinfo=UTC)  # CEST, +02:00
    assert winter.ts == datetime(2026, 12, 14, 7, tzinfo=UTC)  # CET, +01:00


def test_nounits_output_any_field_order_and_bracketed_nulls():
    rows = _rows(
        "uuid,memory.used [MiB],utilization.gpu [%],timestamp,power.draw.average [W]\n"
        "GPU-a,59,[N/A],2026-07-14T09:00:27Z,71.15\n"
        "GPU-b,0,[Not Supported],2026-07-14T09:00:27Z,[Requested functionality has been deprecated]\n"
    )
    assert [(r.gpu_uuid, r.utilization, r.memory_used_mib, r.power_w) for r in rows] == [
        ("GPU-a", None, Decimal(59), Decimal("71.15")),
        ("GPU-b", None, Decimal(0), None),
    ]


def test_a_repeated_header_from_an_appended_log_is_skipped():
    line = "2026/07/14 08:00:00.000, NVIDIA L4, GPU-a, 0, 5 %, 1 MiB, 20 W"
    rows = _rows("\n".join([HEADER, line, HEADER, line.replace("08:00", "08:01")]) + "\n")
    assert [r.ts.minute for r in rows] == [0, 1]


def test_the_same_log_twice_stores_each_reading_once(write_file):
    text = HEADER + "\n2026/07/14 08:00:00.000, NVIDIA L4, GPU-a, 0, 5 %, 1 MiB, 20 W\n"
    runs = [
        ingest([InputFile.from_path(write_file(name, body))], "nvidia-smi")
        for name, body in [("a.csv", text), ("copy.csv", text), ("longer.csv", text + "\n")]
    ]
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED, RunStatus.SKIPPED, RunStatus.SUCCEEDED]
    assert GpuSample.objects.count() == 1


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("uuid, utilization.gpu [%]\nGPU-a, 5 %\n", 1, "timestamp", "no timestamp column"),
        (
            "timestamp, utilization.gpu [%]\n2026-07-14T08:00:00Z, 5 %\n",
            1,
            "uuid",
            "no uuid column",
        ),
        (
            HEADER + "\n2026/07/14 08:00:00.000, L4, GPU-a, 0, busy %, 1 MiB, 2 W\n",
            2,
            "utilization.gpu [%]",
            "not a number",
        ),
        (
            HEADER + "\n2026/07/14 08:00:00.000, L4, GPU-a, 0, 5 %, 1 GiB, 2 W\n",
            2,
            "memory.used [MiB]",
            "in MiB",
        ),
        (
            HEADER + "\n2026/07/14 08:00:00.000, L4, GPU-a, 0, 5 %\n",
            2,
            "memory.used [MiB]",
            "5 values for 7 header fields: the line is cut short",
        ),
        (
            HEADER + "\nyesterday, L4, GPU-a, 0, 5 %, 1 MiB, 2 W\n",
            2,
            "timestamp",
            "not a timestamp",
        ),
        (
            HEADER + "\n2026/07/14 08:00:00.000, L4, GPU-a, 0, 150 %, 1 MiB, 2 W\n",
            2,
            "utilization.gpu [%]",
            "above 100",
        ),
    ],
)
def test_bad_input_fails_the_run_located_and_earlier_data_stays(
    write_file, text, line, column, message
):
    good = HEADER + "\n2026/07/14 07:00:00.000, NVIDIA L4, GPU-z, 0, 5 %, 1 MiB, 20 W\n"
    assert (
        ingest([InputFile.from_path(write_file("good.csv", good))], "nvidia-smi").status
        == "succeeded"
    )
    bad = write_file("bad.csv", text)
    run = ingest([InputFile.from_path(bad)], "nvidia-smi")
    assert run.status == RunStatus.FAILED
    assert (run.error_file, run.error_line, run.error_column) == (str(bad), line, column)
    assert message in run.error
    assert list(GpuSample.objects.values_list("gpu_uuid", flat=True)) == ["GPU-z"]
