"""Prometheus HTTP API source against a real HTTP server on loopback: windows, merging, faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from costapp.ingest.errors import TransientError
from costapp.ingest.models import GpuSample, RunStatus
from costapp.sources import prometheus
from costapp.sources.models import Source
from costapp.sources.service import run_source

from .servers import json_reply, serve

pytestmark = pytest.mark.django_db

VALUES = {
    "DCGM_FI_DEV_GPU_UTIL": "40",
    "DCGM_FI_DEV_FB_USED": "1024",
    "DCGM_FI_DEV_POWER_USAGE": "300.5",
}


def _prometheus(request):
    """A query_range answer for the DCGM metrics: two GPUs, a point every step in [start, end]."""
    if request.path != "/api/v1/query_range":
        return json_reply({"status": "error", "error": "not found"}, 404)
    if request.headers.get("authorization") != "Bearer sekret":
        return 401, {}, b"unauthorized"
    query = request.query["query"][0]
    name = query.split("{")[0]
    start, end = float(request.query["start"][0]), float(request.query["end"][0])
    step = int(request.query["step"][0])
    result = []
    if name in VALUES:
        for gpu in ("0", "1"):
            labels = {"__name__": name, "UUID": f"GPU-{gpu}", "gpu": gpu, "Hostname": "node-1"}
            points = [
                [start + i * step, VALUES[name]] for i in range(int((end - start) // step) + 1)
            ]
            result.append({"metric": labels, "values": points})
    return json_reply({"status": "success", "data": {"resultType": "matrix", "result": result}})


def _source(make_source, url: str, **options) -> Source:
    return make_source(
        format="prometheus",
        location_kind=Source.Location.PROMETHEUS,
        location=url,
        credentials_ref={"bearer_token": "IL_TEST_PROM_TOKEN"},
        options={"step_seconds": 60, "chunk_hours": 1, **options},
    )


@pytest.fixture(autouse=True)
def _token(monkeypatch):
    monkeypatch.setenv("IL_TEST_PROM_TOKEN", "sekret")


def test_each_window_merges_the_four_metrics_into_one_reading_per_gpu_and_minute(make_source):
    with serve(_prometheus) as peer:
        source = _source(make_source, peer.url, lookback_hours=2)
        runs = run_source(source)
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED] * len(runs) and runs
    assert {r.query["query"][0] for r in peer.requests} == set(prometheus.METRICS)
    # Consecutive windows meet without sharing an instant: 2 GPUs x 120 minutes, each once.
    assert GpuSample.objects.count() == 2 * 120
    sample = GpuSample.objects.order_by("ts").first()
    assert (sample.utilization, sample.memory_used_mib, sample.power_w) == (
        Decimal("0.4"),
        Decimal("1024"),
        Decimal("300.5"),
    )
    source.refresh_from_db()
    assert datetime.fromisoformat(source.state["until"]) == max(
        s.ts for s in GpuSample.objects.all()
    ) + timedelta(minutes=1)


def test_windows_start_where_the_last_poll_ended(make_source):
    now = datetime(2026, 11, 2, 12, 0, 30, tzinfo=UTC)
    with serve(_prometheus) as peer:
        source = _source(make_source, peer.url, delay_seconds=0)
        source.state = {"until": "2026-11-02T09:30:00+00:00"}
        windows = [d.location for d in prometheus.deliveries(source, now=now)]
    assert len(windows) == 3  # 09:30-10:30, 10:30-11:30, 11:30-12:00
    assert "start=2026-11-02T11%3A30%3A00%2B00%3A00" in windows[-1]
    assert "end=2026-11-02T12%3A00%3A00%2B00%3A00" in windows[-1]


def test_a_window_without_series_moves_the_watermark_without_a_run(make_source):
    with serve(_prometheus) as peer:
        source = _source(
            make_source, peer.url, lookback_hours=1, metrics=["DCGM_FI_PROF_GR_ENGINE_ACTIVE"]
        )
        assert run_source(source) == []
    source.refresh_from_db()
    assert "until" in source.state


def test_an_overloaded_prometheus_is_transient_and_a_bad_query_permanent(make_source):
    with serve(lambda request: (503, {}, b"busy")) as peer, pytest.raises(TransientError):
        run_source(_source(make_source, peer.url))
    bad = {"status": "error", "errorType": "bad_data", "error": "parse error at char 5"}
    with serve(lambda request: json_reply(bad, 400)) as peer:
        [run] = run_source(_source(make_source, peer.url, selector="{oops"))
    assert run.status == RunStatus.FAILED and "parse error at char 5" in run.error


def test_the_token_is_read_from_the_named_environment_variable(make_source, monkeypatch):
    monkeypatch.setenv("IL_TEST_PROM_TOKEN", "wrong")
    with serve(_prometheus) as peer:
        [run] = run_source(_source(make_source, peer.url))
    assert run.status == RunStatus.FAILED and "HTTP 401" in run.error
