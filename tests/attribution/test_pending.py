"""Late data: attribute_pending recomputes only the hours pending runs touched, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connections

from costapp.attribution.engine import (
    LOCK_NAMESPACE,
    PENDING,
    Window,
    attribute_pending,
    merge_windows,
    run_attribution,
    run_window,
)
from costapp.attribution.models import Allocation
from costapp.attribution.tasks import attribute_pending as attribute_pending_task
from costapp.ingest.files import InputFile
from costapp.ingest.models import IngestionRun, RunStatus
from costapp.ingest.runs import ingest
from costapp.sources.models import Source
from costapp.sources.push import ingest_batch
from tests.ingest.test_focus import focus_csv

from . import builders as b

pytestmark = pytest.mark.django_db

INSTANCE = "i-0123456789abcdef0"


def _scrape(at: datetime, utilization: str) -> InputFile:
    text = (
        f"# SCRAPE_TIME {at:%Y-%m-%dT%H:%M:%SZ}\n"
        f'DCGM_FI_PROF_GR_ENGINE_ACTIVE{{gpu="0",UUID="GPU-1",Hostname="{INSTANCE}"}}'
        f" {utilization}\n"
    )
    return InputFile.from_bytes(f"scrape-{at:%H%M}.prom", text.encode())


def _snapshot(hour: datetime) -> set[tuple]:
    return set(Allocation.objects.filter(hour=hour).values_list("pk", "computed_at"))


@pytest.fixture
def three_hours():
    """Three attributed hours of one GPU with requests but no telemetry yet: unmeasured."""
    b.gpu_resource(INSTANCE, gpus=1)
    b.cost_line(INSTANCE, cost="30", hours=3)
    for n in range(3):
        b.usage("search", at=b.hour(n), resource_id=INSTANCE, requests=10)
    run_attribution()
    assert set(Allocation.objects.values_list("kind", flat=True)) == {"unmeasured"}


def test_a_late_telemetry_file_recomputes_only_its_hours(three_hours):
    before = {n: _snapshot(b.hour(n)) for n in (0, 2)}
    run = ingest([_scrape(b.hour(1) + timedelta(minutes=5), "0.5")], "dcgm")
    assert run.status == RunStatus.SUCCEEDED and run.attributed_at is None

    result = attribute_pending()

    assert (result.windows, result.start, result.end) == (1, b.hour(1), b.hour(2))
    assert {n: _snapshot(b.hour(n)) for n in (0, 2)} == before
    rows = dict(Allocation.objects.filter(hour=b.hour(1)).values_list("kind", "amortized_cost"))
    assert rows == {"idle": Decimal(5), "usage": Decimal(5)}
    run.refresh_from_db()
    assert run.attributed_at is not None


def test_running_it_again_is_a_no_op(three_hours):
    ingest([_scrape(b.hour(1), "0.5")], "dcgm")
    attribute_pending()
    after = {n: _snapshot(b.hour(n)) for n in range(3)}
    assert attribute_pending() is None
    assert attribute_pending_task.delay().get() == 0
    assert {n: _snapshot(b.hour(n)) for n in range(3)} == after


def test_pushed_requests_are_attributed_by_the_periodic_task():
    b.gpu_resource(INSTANCE, gpus=1)
    b.cost_line(INSTANCE, cost="8")
    b.samples(INSTANCE, b.hour(), ["1"])
    run_attribution()
    source = Source.objects.create(name="gw", format="jsonl", location_kind=Source.Location.PUSH)
    record = {
        "timestamp": "2026-11-01T10:30:00Z",
        "team": "ads",
        "model": "m",
        "endpoint": "/e",
        "resource_id": INSTANCE,
        "input_tokens": 5,
        "output_tokens": 1,
    }
    run = ingest_batch(source, [{**record, "request_id": "r1"}, {**record, "request_id": "r2"}])
    assert not Allocation.objects.filter(kind="usage").exists()

    assert attribute_pending_task.delay().get() == 1

    usage = Allocation.objects.get(kind="usage")
    assert (usage.team, usage.requests, usage.amortized_cost) == ("ads", 2, Decimal(8))
    run.refresh_from_db()
    assert run.attributed_at is not None


def test_runs_months_apart_are_recomputed_as_separate_windows(three_hours):
    december = b.hour(24 * 30)
    b.cost_line(INSTANCE, cost="5", start=december - timedelta(hours=1))
    run_attribution()
    between = _snapshot(december - timedelta(hours=1))
    ingest([_scrape(b.hour(0), "0.5")], "dcgm")
    ingest([_scrape(december + timedelta(hours=24 * 60), "0.5")], "dcgm")
    result = attribute_pending()
    assert result.windows == 2 and result.hours == 1
    assert _snapshot(december - timedelta(hours=1)) == between


def test_a_restated_bill_recomputes_the_whole_period_it_replaced():
    b.gpu_resource("i-0abc", gpus=1)
    first = focus_csv(
        {"ChargePeriodStart": "2026-11-03 10:00:00", "ChargePeriodEnd": "2026-11-03 11:00:00"},
        {"ChargePeriodStart": "2026-11-03 20:00:00", "ChargePeriodEnd": "2026-11-03 21:00:00"},
    )
    ingest([InputFile.from_bytes("bill.csv", first.encode())], "focus")
    attribute_pending()
    assert Allocation.objects.filter(hour=datetime(2026, 11, 3, 20, tzinfo=UTC)).exists()
    # AWS re-delivers the month: the 20:00 line is gone, the 10:00 one costs less.
    restated = focus_csv({"EffectiveCost": "50", "BilledCost": "50"})
    run = ingest([InputFile.from_bytes("bill.csv", restated.encode())], "focus")

    assert (run.data_start, run.data_end) == (
        datetime(2026, 11, 3, 10, tzinfo=UTC),
        datetime(2026, 11, 3, 21, tzinfo=UTC),
    )
    attribute_pending()
    assert list(Allocation.objects.values_list("hour", "amortized_cost")) == [
        (datetime(2026, 11, 3, 10, tzinfo=UTC), Decimal(50))
    ]


def test_another_worker_holding_the_backlog_makes_a_second_call_return_at_once(three_hours):
    ingest([_scrape(b.hour(1), "0.5")], "dcgm")
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, PENDING])
            assert attribute_pending() is None
            # Released explicitly: a closed client's backend ends (and drops its locks) a little
            # later, and under load the call below once still found the lock held.
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, PENDING])
    finally:
        other.close()
    assert IngestionRun.objects.filter(status="succeeded", attributed_at__isnull=True).count() == 1
    assert attribute_pending().windows == 1


def test_a_full_run_marks_every_run_it_saw_as_attributed(three_hours):
    ingest([_scrape(b.hour(1), "0.5")], "dcgm")
    run_attribution()
    assert attribute_pending() is None


def test_windows_are_whole_hours_with_a_bills_end_exclusive():
    at = datetime(2026, 11, 1, 10, 30, tzinfo=UTC)
    assert run_window("dcgm", at, at + timedelta(hours=1, minutes=30)) == (b.hour(0), b.hour(3))
    assert run_window("focus", b.hour(0), b.hour(2)) == (b.hour(0), b.hour(2))
    assert run_window("jsonl", b.hour(2), b.hour(2)) == (b.hour(2), b.hour(3))


def test_overlapping_and_touching_windows_merge_and_distant_ones_do_not():
    spans = [
        (3, b.hour(100), b.hour(101)),
        (1, b.hour(0), b.hour(2)),
        (2, b.hour(2), b.hour(3)),
        (4, b.hour(1), b.hour(2)),
    ]
    assert merge_windows(spans) == [
        Window(b.hour(0), b.hour(3), [1, 4, 2]),
        Window(b.hour(100), b.hour(101), [3]),
    ]
