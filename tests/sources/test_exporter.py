"""DCGM exporter endpoints scraped directly, against real HTTP servers on loopback."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from costapp.ingest.models import GpuSample, IngestionRun, RunStatus
from costapp.sources.exporter import endpoints
from costapp.sources.models import Source
from costapp.sources.selectors import freshness
from costapp.sources.service import run_source

from .servers import serve

pytestmark = pytest.mark.django_db


def metrics(node: str, util: int) -> bytes:
    """A DCGM exporter /metrics answer for one GPU of `node`: no timestamps, as it serves them."""
    labels = f'gpu="0",UUID="GPU-{node}",Hostname="{node}",modelName="NVIDIA L4"'
    return (
        "# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).\n"
        "# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n"
        f"DCGM_FI_DEV_GPU_UTIL{{{labels}}} {util}\n"
        "# TYPE DCGM_FI_DEV_FB_USED gauge\n"
        f"DCGM_FI_DEV_FB_USED{{{labels}}} 2048\n"
    ).encode()


def exporter(node: str, util: int, token: str = ""):
    def handle(request):
        if request.path != "/metrics":
            return 404, {}, b"not found"
        if token and request.headers.get("authorization") != f"Bearer {token}":
            return 401, {}, b"unauthorized"
        return 200, {"Content-Type": "text/plain; version=0.0.4"}, metrics(node, util)

    return handle


def _source(make_source, *urls: str, **fields) -> Source:
    fields.setdefault("format", "dcgm")
    return make_source(location_kind=Source.Location.EXPORTER, location="\n".join(urls), **fields)


def test_every_endpoint_is_scraped_into_one_run_stamped_with_the_scrape_time(make_source):
    with serve(exporter("node-a", 40)) as a, serve(exporter("node-b", 90)) as b:
        source = _source(make_source, f"{a.url}/metrics", f"{b.url}/metrics")
        before = timezone.now()
        (run,) = run_source(source)
        after = timezone.now()

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (run.files, run.rows_stored) == (2, 2)
    readings = {s.hostname: s for s in GpuSample.objects.all()}
    assert readings["node-a"].utilization == Decimal("0.4")
    assert readings["node-b"].utilization == Decimal("0.9")
    assert readings["node-a"].memory_used_mib == 2048
    for sample in readings.values():
        assert before - timedelta(seconds=1) <= sample.ts <= after


def test_each_poll_is_a_new_moment(make_source):
    with serve(exporter("node-a", 40)) as a:
        source = _source(make_source, f"{a.url}/metrics")
        run_source(source)
        run_source(source)
    assert GpuSample.objects.count() == 2
    assert IngestionRun.objects.filter(status=RunStatus.SUCCEEDED).count() == 2


def test_an_endpoint_that_is_down_is_a_failed_run_and_the_others_are_stored(make_source):
    with serve(lambda request: (503, {}, b"exporter restarting")) as broken:
        down = "http://127.0.0.1:9/metrics"  # discard port: nothing listens
        with serve(exporter("node-a", 40)) as a:
            source = _source(make_source, f"{a.url}/metrics", down, f"{broken.url}/metrics")
            runs = run_source(source)

    assert [r.status for r in runs] == [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.FAILED]
    assert runs[0].rows_stored == 1
    assert "not reachable" in runs[1].error and down in runs[1].error
    assert "HTTP 503: exporter restarting" in runs[2].error
    (row,) = [f for f in freshness() if f.source.pk == source.pk]
    assert row.failing  # someone should look at it


def test_credentials_are_sent_to_every_endpoint(make_source, monkeypatch):
    monkeypatch.setenv("IL_TEST_EXPORTER_TOKEN", "sekret")
    with serve(exporter("node-a", 40, token="sekret")) as a:
        source = _source(
            make_source,
            f"{a.url}/metrics",
            credentials_ref={"bearer_token": "IL_TEST_EXPORTER_TOKEN"},
        )
        (run,) = run_source(source)
    assert run.status == RunStatus.SUCCEEDED, run.error


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"format": "prometheus"}, "reads the 'dcgm' format"),
        ({"location": "  ,\n"}, "at least one /metrics URL"),
    ],
)
def test_a_misconfigured_source_fails_its_poll_saying_why(make_source, fields, message):
    source = make_source(
        location_kind=Source.Location.EXPORTER,
        **{"format": "dcgm", "location": "http://127.0.0.1:9/metrics", **fields},
    )
    (run,) = run_source(source)
    assert run.status == RunStatus.FAILED and message in run.error


def test_locations_split_on_spaces_commas_and_lines():
    assert endpoints(" http://a:9400/metrics,http://b:9400/metrics\nhttp://c/m  ") == [
        "http://a:9400/metrics",
        "http://b:9400/metrics",
        "http://c/m",
    ]
