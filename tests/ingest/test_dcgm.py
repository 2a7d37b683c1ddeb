"""DCGM-exporter scrapes: one reading per GPU and instant, where the time comes from, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from costapp.ingest import dcgm
from costapp.ingest.files import InputFile
from costapp.ingest.models import GpuSample, RunStatus
from costapp.ingest.runs import ingest

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def _series(metric: str, value, gpu: int = 0, ts: int | None = None, **labels) -> str:
    base = {
        "gpu": str(gpu),
        "UUID": f"GPU-{gpu:08d}-aaaa",
        "modelName": "NVIDIA H100 80GB HBM3",
        "Hostname": "ip-10-0-1-2.ec2.internal",
        "DCGM_FI_DRIVER_VERSION": "580.105.08",
        **labels,
    }
    text = ",".join(f'{k}="{v}"' for k, v in base.items())
    return f"{metric}{{{text}}} {value}" + ("" if ts is None else f" {ts}")


def _scrape(*lines: str, scrape_time: str = "2026-11-01T10:00:00Z") -> str:
    head = [f"# SCRAPE_TIME {scrape_time}"] if scrape_time else []
    return "\n".join([*head, *lines]) + "\n"


def _rows(text: str, name: str = "scrape.prom") -> list:
    return list(dcgm.parse(InputFile.from_bytes(name, text.encode())))


def test_a_scrape_becomes_one_row_per_gpu_preferring_engine_active_over_gpu_util():
    rows = _rows(
        _scrape(
            "# TYPE DCGM_FI_DEV_GPU_UTIL gauge",
            _series("DCGM_FI_DEV_GPU_UTIL", 90, pod="vllm-0", namespace="llm", pod_uid=""),
            _series("DCGM_FI_DEV_GPU_UTIL", 40, gpu=1),
            _series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "0.625000"),
            _series("DCGM_FI_DEV_FB_USED", 74166),
            _series("DCGM_FI_DEV_POWER_USAGE", "113.611000"),
            _series("DCGM_FI_DEV_GPU_TEMP", 30, gpu=2),
        )
    )
    by_gpu = {r.gpu_index: r for r in rows}
    assert sorted(by_gpu) == [0, 1]  # GPU 2 has only a temperature: no reading
    first = by_gpu[0]
    assert (first.utilization, first.memory_used_mib, first.power_w) == (
        Decimal("0.625"),
        Decimal(74166),
        Decimal("113.611"),
    )
    assert (first.ts, first.gpu_uuid, first.gpu_model) == (
        T0,
        "GPU-00000000-aaaa",
        "NVIDIA H100 80GB HBM3",
    )
    assert first.labels == {"pod": "vllm-0", "namespace": "llm"}
    assert by_gpu[1].utilization == Decimal("0.40")
    assert by_gpu[1].resource_id == ""


def test_mig_slices_are_separate_readings_of_the_same_gpu():
    rows = _rows(
        _scrape(
            _series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "0.5", GPU_I_ID="1", GPU_I_PROFILE="3g.40gb"),
            _series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "0.1", GPU_I_ID="2", GPU_I_PROFILE="3g.40gb"),
        )
    )
    assert {(r.gpu_uuid, r.mig_instance, r.utilization) for r in rows} == {
        ("GPU-00000000-aaaa", "1", Decimal("0.5")),
        ("GPU-00000000-aaaa", "2", Decimal("0.1")),
    }
    assert rows[0].labels == {"GPU_I_PROFILE": "3g.40gb"}


def test_an_ec2_instance_id_hostname_becomes_the_resource_id():
    (row,) = _rows(_scrape(_series("DCGM_FI_DEV_GPU_UTIL", 5, Hostname="i-030791dc5a37cd257")))
    assert (row.hostname, row.resource_id) == ("i-030791dc5a37cd257", "i-030791dc5a37cd257")


def test_per_sample_timestamps_win_and_split_readings():
    rows = _rows(
        _scrape(
            _series("DCGM_FI_DEV_GPU_UTIL", 10, ts=1762000000000),
            _series("DCGM_FI_DEV_GPU_UTIL", 20, ts=1762000060000),
        )
    )
    assert [(r.ts.timestamp(), r.utilization) for r in rows] == [
        (1762000000.0, Decimal("0.10")),
        (1762000060.0, Decimal("0.20")),
    ]


def test_without_a_scrape_time_comment_the_file_name_then_the_mtime_gives_the_time(write_file):
    line = _series("DCGM_FI_DEV_GPU_UTIL", 10)
    (named,) = _rows(line + "\n", name="node-a_20261101T103000Z.prom")
    assert named.ts == datetime(2026, 11, 1, 10, 30, tzinfo=UTC)
    path = write_file("plain.prom", line + "\n")
    (stamped,) = dcgm.parse(InputFile.from_path(path))
    assert stamped.ts == datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def test_a_scrape_dated_by_the_file_time_says_so_on_its_run(write_file):
    dated = write_file("plain.prom", _series("DCGM_FI_DEV_GPU_UTIL", 10) + "\n")
    run = ingest([InputFile.from_path(dated)], "dcgm")
    assert run.status == RunStatus.SUCCEEDED, run.error
    (warning,) = run.warnings
    assert str(dated) in warning and "file modification time" in warning
    stored = GpuSample.objects.get().ts.isoformat()
    assert stored in warning
    # A scrape that carries its own time is not flagged.
    timed = write_file("timed.prom", _scrape(_series("DCGM_FI_DEV_GPU_UTIL", 10, gpu=1)))
    assert ingest([InputFile.from_path(timed)], "dcgm").warnings == []


def test_a_scrape_with_no_time_at_all_fails_rather_than_guess_now():
    run = ingest(
        [InputFile.from_bytes("pushed", (_series("DCGM_FI_DEV_GPU_UTIL", 1) + "\n").encode())],
        "dcgm",
    )
    assert run.status == RunStatus.FAILED
    assert run.error_line == 1 and "SCRAPE_TIME" in run.error


def test_the_nvidia_gpu_exporter_family_is_read_too():
    rows = _rows(
        _scrape(
            'nvidia_smi_gpu_info{index="0",name="NVIDIA H100 80GB HBM3",uuid="0000-1"} 1',
            'nvidia_smi_utilization_gpu_ratio{uuid="0000-1"} 0.75',
            'nvidia_smi_memory_used_bytes{uuid="0000-1"} 2.0780679168e+10',
            'nvidia_smi_power_draw_watts{uuid="0000-1"} 631.95',
            'nvidia_smi_compute_app_info{pid="1",process_name="burn",uuid="0000-1"} 1',
            "nvidia_smi_command_exit_code 0",
        )
    )
    (row,) = rows
    assert (row.gpu_uuid, row.gpu_index, row.gpu_model) == (
        "GPU-0000-1",
        0,
        "NVIDIA H100 80GB HBM3",
    )
    assert (row.utilization, row.memory_used_mib, row.power_w) == (
        Decimal("0.75"),
        Decimal(19818),
        Decimal("631.95"),
    )


def test_same_scrape_twice_stores_each_reading_once(write_file):
    text = _scrape(_series("DCGM_FI_DEV_GPU_UTIL", 10), _series("DCGM_FI_DEV_GPU_UTIL", 30, gpu=1))
    first = ingest([InputFile.from_path(write_file("a.prom", text))], "dcgm")
    again = ingest([InputFile.from_path(write_file("a.prom", text))], "dcgm")
    # A renamed copy is new content to the run log, but the same readings to the store.
    copy = ingest([InputFile.from_path(write_file("copy/a.prom", "\n" + text))], "dcgm")
    assert (first.status, again.status, copy.status) == (
        RunStatus.SUCCEEDED,
        RunStatus.SKIPPED,
        RunStatus.SUCCEEDED,
    )
    assert GpuSample.objects.count() == 2
    assert sorted(GpuSample.objects.values_list("utilization", flat=True)) == [
        Decimal("0.1"),
        Decimal("0.3"),
    ]


@pytest.mark.parametrize(
    ("bad_line", "column", "message"),
    [
        ('DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-b" 12', "43", "expected ',' or '}'"),
        (
            _series("DCGM_FI_DEV_GPU_UTIL", "twelve"),
            str(_series("DCGM_FI_DEV_GPU_UTIL", "twelve").index("twelve") + 1),
            "the value is not a number",
        ),
        (_series("DCGM_FI_DEV_GPU_UTIL", 250), "", "above 100%"),
        ('DCGM_FI_DEV_FB_USED{gpu="0"} 12', "", "no UUID label"),
    ],
)
def test_a_bad_line_fails_the_run_located_and_stores_nothing(write_file, bad_line, column, message):
    good = write_file("good.prom", _scrape(_series("DCGM_FI_DEV_GPU_UTIL", 10)))
    assert ingest([InputFile.from_path(good)], "dcgm").status == RunStatus.SUCCEEDED
    bad = write_file(
        "bad.prom",
        _scrape(
            _series("DCGM_FI_DEV_GPU_UTIL", 90, gpu=3), bad_line, scrape_time="2026-11-01T11:00:00Z"
        ),
    )
    run = ingest([InputFile.from_path(bad)], "dcgm")
    assert run.status == RunStatus.FAILED
    assert (run.error_file, run.error_line, run.error_column) == (str(bad), 3, column)
    assert message in run.error
    assert list(GpuSample.objects.values_list("gpu_index", "utilization")) == [(0, Decimal("0.1"))]


@pytest.mark.parametrize("index", ["x", "²", "-1"])
def test_a_gpu_label_that_is_no_index_fails_located_at_its_sample(index):
    good = _series("DCGM_FI_DEV_GPU_UTIL", 10)
    bad = _series("DCGM_FI_DEV_FB_USED", 512, gpu=1).replace('gpu="1"', f'gpu="{index}"')
    run = ingest([InputFile.from_bytes("s.prom", _scrape(good, bad).encode())], "dcgm")
    assert run.status == RunStatus.FAILED
    assert (run.error_file, run.error_line) == ("s.prom", 3)
    assert "is not a GPU index" in run.error
    assert not GpuSample.objects.exists()
