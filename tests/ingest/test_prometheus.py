"""Prometheus HTTP API responses: vectors and matrices merged per GPU reading, labels, bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from costapp.ingest import prometheus
from costapp.ingest.errors import ParseError
from costapp.ingest.files import InputFile
from costapp.ingest.models import GpuSample, RunStatus
from costapp.ingest.rows import STREAMING, ReadAgain
from costapp.ingest.runs import ingest

pytestmark = pytest.mark.django_db


def _metric(name: str | None, gpu: int = 0, **extra) -> dict:
    labels = {
        "UUID": f"GPU-{gpu}",
        "gpu": str(gpu),
        "Hostname": "node-a",
        "modelName": "NVIDIA H100 80GB HBM3",
        "instance": "10.0.0.5:9400",
        "job": "nvidia-dcgm-exporter",
        "container": "nvidia-dcgm-exporter",
        "namespace": "gpu-operator",
        "pod": "nvidia-dcgm-exporter-wqqqn",
        **extra,
    }
    if name:
        labels["__name__"] = name
    return labels


def _vector(name: str | None, values: dict[int, str], ts: float, **extra) -> dict:
    result = [
        {"metric": _metric(name, gpu, **extra), "value": [ts, v]} for gpu, v in values.items()
    ]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


def _matrix(name: str, points: list[tuple[float, str]]) -> dict:
    series = {"metric": _metric(name), "values": [[t, v] for t, v in points]}
    return {"status": "success", "data": {"resultType": "matrix", "result": [series]}}


def test_instant_queries_a_moment_apart_merge_into_one_reading_per_gpu():
    responses = [
        _vector("DCGM_FI_DEV_GPU_UTIL", {0: "37", 1: "0"}, 1773114089.184),
        _vector("DCGM_FI_DEV_FB_USED", {0: "74166", 1: "0"}, 1773114089.444),
        _vector("DCGM_FI_DEV_POWER_USAGE", {0: "113.6", 1: "68.3"}, 1773114089.701),
    ]
    rows = sorted(prometheus.rows_from_responses(responses, "live"), key=lambda r: r.gpu_index)
    assert len(rows) == 2
    assert rows[0].ts == datetime(2026, 3, 10, 3, 41, 29, 184000, tzinfo=UTC)
    assert (rows[0].utilization, rows[0].memory_used_mib, rows[0].power_w) == (
        Decimal("0.37"),
        Decimal(74166),
        Decimal("113.6"),
    )
    # The exporter's own pod, namespace and container, and Prometheus's target labels, go.
    assert rows[0].labels == {}


def test_range_queries_merge_on_their_shared_step_grid_and_engine_active_wins():
    responses = [
        _matrix("DCGM_FI_DEV_GPU_UTIL", [(1762000000, "90"), (1762000060, "80")]),
        _matrix("DCGM_FI_PROF_GR_ENGINE_ACTIVE", [(1762000000, "0.5"), (1762000060, "0.25")]),
    ]
    rows = list(prometheus.rows_from_responses(responses, "live"))
    assert [(r.ts.timestamp(), r.utilization) for r in rows] == [
        (1762000000.0, Decimal("0.5")),
        (1762000060.0, Decimal("0.25")),
    ]


def test_a_query_that_dropped_the_metric_name_is_named_by_the_caller():
    response = _vector(None, {0: "0.5"}, 1762000000)
    with pytest.raises(Exception, match="no __name__"):
        list(prometheus.rows_from_responses([response], "live"))
    (row,) = prometheus.rows_from_responses([response], "live", ["DCGM_FI_PROF_GR_ENGINE_ACTIVE"])
    assert row.utilization == Decimal("0.5")


def test_exported_workload_labels_are_kept_under_their_plain_names():
    response = _vector(
        "DCGM_FI_DEV_GPU_UTIL",
        {0: "10"},
        1762000000,
        exported_pod="vllm-0",
        exported_namespace="llm",
        exported_container="main",
    )
    (row,) = prometheus.rows_from_responses([response], "live")
    assert row.labels == {"pod": "vllm-0", "namespace": "llm", "container": "main"}


def test_a_file_of_responses_ingests_and_the_same_readings_store_once(write_file):
    body = json.dumps(
        [
            _vector("DCGM_FI_DEV_GPU_UTIL", {0: "50", 1: "25"}, 1762000000.5),
            _vector("DCGM_FI_DEV_FB_USED", {0: "100", 1: "200"}, 1762000000.9),
        ],
        indent=2,
    )
    first = ingest([InputFile.from_path(write_file("q.json", body))], "prometheus")
    second = ingest([InputFile.from_path(write_file("again/q.json", body + "\n"))], "prometheus")
    assert (first.status, second.status) == (RunStatus.SUCCEEDED, RunStatus.SUCCEEDED)
    assert first.rows_read == 2
    assert sorted(GpuSample.objects.values_list("gpu_index", "utilization", "memory_used_mib")) == [
        (0, Decimal("0.5"), Decimal(100)),
        (1, Decimal("0.25"), Decimal(200)),
    ]


@pytest.mark.parametrize(
    ("response", "line", "column", "message"),
    [
        ({"status": "error", "error": "bad_data: parse error"}, 1, "status", "did not succeed"),
        (
            _vector("DCGM_FI_DEV_GPU_UTIL", {0: "lots"}, 1762000000),
            1,
            "data.result[0].value[1]",
            "'lots' is not a number",
        ),
        (
            {"status": "success", "data": {"resultType": "scalar", "result": [1, "2"]}},
            1,
            "data.resultType",
            "not a vector or matrix",
        ),
    ],
)
def test_a_bad_response_fails_the_run_located_and_stores_nothing(
    write_file, response, line, column, message
):
    good = write_file(
        "good.json", json.dumps(_vector("DCGM_FI_DEV_GPU_UTIL", {0: "5"}, 1762000000))
    )
    assert ingest([InputFile.from_path(good)], "prometheus").status == RunStatus.SUCCEEDED
    bad = write_file("bad.json", json.dumps(response))
    run = ingest([InputFile.from_path(bad)], "prometheus")
    assert run.status == RunStatus.FAILED
    assert (run.error_file, run.error_line, run.error_column) == (str(bad), line, column)
    assert message in run.error
    assert GpuSample.objects.count() == 1


def test_truncated_json_is_located_to_line_and_column(write_file):
    bad = write_file("cut.json", '[\n  {"status": "success",\n   "data": {"resultType": \n')
    run = ingest([InputFile.from_path(bad)], "prometheus")
    assert run.status == RunStatus.FAILED
    assert run.error_line == 4 and "invalid JSON" in run.error  # at the end of input


# --- range queries streamed slab by slab (the writer's fast path takes rows early) ---


def _grid(gpus: int, points: int) -> list[dict]:
    """Three range queries, one per metric, on a shared 15 s grid."""
    start = 1762000000.0
    responses = []
    for n, name in enumerate(
        ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_POWER_USAGE")
    ):
        result = [
            {
                "metric": _metric(name, gpu),
                "values": [
                    [start + 15 * k, str((gpu * 7 + k * 3 + n) % 90)] for k in range(points)
                ],
            }
            for gpu in range(gpus)
        ]
        responses.append({"status": "success", "data": {"resultType": "matrix", "result": result}})
    return responses


def _read(responses: list[dict], *, streaming: bool) -> list[tuple]:
    token = STREAMING.set(streaming)
    try:
        rows = list(prometheus.rows_from_responses(responses, "q.json"))
    finally:
        STREAMING.reset(token)
    return sorted(
        (r.ts, r.gpu_uuid, r.gpu_index, r.utilization, r.memory_used_mib, r.power_w, r.source_row)
        for r in rows
    )


def test_range_queries_streamed_in_slabs_read_as_the_whole_file(monkeypatch):
    monkeypatch.setattr(prometheus, "SLAB_POINTS", 10)  # 3 metrics x 3 GPUs x 20 points: 18
    responses = _grid(gpus=3, points=20)
    assert len(prometheus._slab_ends(prometheus._Merge("q").plan(enumerate(responses), None))) > 1
    whole = _read(responses, streaming=False)
    assert len(whole) == 60 and all(r[3] is not None and r[5] is not None for r in whole)
    assert _read(responses, streaming=True) == whole


def test_streaming_yields_an_early_slab_before_the_last_points_are_read(monkeypatch):
    monkeypatch.setattr(prometheus, "SLAB_POINTS", 10)
    responses = _grid(gpus=2, points=30)
    last_point = responses[-1]["data"]["result"][-1]["values"][-1]
    last_point[1] = "oops"  # only read once every earlier slab is written
    token = STREAMING.set(True)
    try:
        rows = prometheus.rows_from_responses(responses, "q.json")
        first = next(rows)
        assert first.ts == datetime.fromtimestamp(1762000000, UTC)
        with pytest.raises(ParseError, match="'oops' is not a number"):
            list(rows)
    finally:
        STREAMING.reset(token)


def test_points_out_of_time_order_are_read_again_whole_and_merge(monkeypatch, write_file):
    monkeypatch.setattr(prometheus, "SLAB_POINTS", 2)
    responses = _grid(gpus=1, points=8)
    for response in responses:  # newest first: every slab would meet points of a flushed one
        response["data"]["result"][0]["values"].reverse()
    token = STREAMING.set(True)
    try:
        with pytest.raises(ReadAgain):
            list(prometheus.rows_from_responses(responses, "q.json"))
    finally:
        STREAMING.reset(token)
    path = write_file("range.json", "\n".join(json.dumps(r) for r in responses))
    run = ingest([InputFile.from_path(path)], "prometheus")
    assert run.status == RunStatus.SUCCEEDED and run.rows_stored == 8
    stored = GpuSample.objects.values_list("utilization", "memory_used_mib", "power_w")
    assert all(None not in values for values in stored)
