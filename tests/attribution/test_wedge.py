"""No stored row can wedge attribution: records dated in year 9999 or 0001 (stored before the
entrance checks, or by hand) and a window that raises are recorded and skipped, while every
other window is attributed; the sources page shows what failed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from costapp.attribution.engine import attribute_pending, run_attribution, run_window
from costapp.attribution.models import Allocation
from costapp.core.models import OrgRole, Role
from costapp.ingest.models import CostLine, GpuSample, IngestionRun, RunStatus, UsageRollup

from . import builders as b

pytestmark = pytest.mark.django_db

LAST_HOUR = datetime(9999, 12, 31, 23, tzinfo=UTC)
YEAR_ONE = datetime(1, 1, 1, tzinfo=UTC)
NEXT_MONTH = b.hour(24 * 20)


def _pending_run(fmt: str, start: datetime, end: datetime) -> IngestionRun:
    """A succeeded run as ingestion records it, its span stored as it was before the checks."""
    return IngestionRun.objects.create(
        format=fmt, location=f"{fmt}-file", status=RunStatus.SUCCEEDED, data_start=start,
        data_end=end,
    )  # fmt: skip


def _good_hour() -> IngestionRun:
    """One measured GPU-hour with one team's requests, pending attribution."""
    b.gpu_resource("i-gpu", gpus=1)
    b.cost_line("i-gpu", cost="10")
    b.samples("i-gpu", b.hour(), ["0.5"])
    b.usage("search", requests=10)
    return _pending_run("focus", b.hour(), b.hour(1))


def _last_hour_of_9999() -> list[IngestionRun]:
    """A GPU sample and a usage rollup stamped 9999-12-31T23:00Z, each from its own run."""
    telemetry = _pending_run("dcgm", LAST_HOUR, LAST_HOUR)
    GpuSample.objects.create(
        run=telemetry, ts=LAST_HOUR, gpu_uuid="GPU-x", gpu_index=0, hostname="host",
        resource_id="i-gpu", utilization=Decimal("0.5"), source_file="dcgm.prom", source_row=1,
    )  # fmt: skip
    requests = _pending_run("jsonl", LAST_HOUR, LAST_HOUR)
    UsageRollup.objects.create(
        run=requests, hour=LAST_HOUR, team="ads", model="m", endpoint="/e", resource_id="i-gpu",
        requests=1, input_tokens=1, output_tokens=1,
    )  # fmt: skip
    return [telemetry, requests]


def _refreshed(*runs: IngestionRun) -> list[IngestionRun]:
    return [IngestionRun.objects.get(pk=run.pk) for run in runs]


def test_the_hour_arithmetic_of_a_run_in_the_last_hour_of_9999_cannot_overflow():
    assert run_window("dcgm", LAST_HOUR, LAST_HOUR) is None
    assert run_window("focus", YEAR_ONE, YEAR_ONE + timedelta(hours=1)) is None
    # Partly inside: only the plausible hours are kept.
    start, end = run_window("focus", YEAR_ONE, b.hour(2))
    assert (start, end) == (datetime(2000, 1, 1, tzinfo=UTC), b.hour(2))


def test_a_record_in_the_last_hour_of_9999_cannot_stop_pending_attribution():
    good = _good_hour()
    bad = _last_hour_of_9999()

    result = attribute_pending()

    assert (result.windows, result.failed) == (1, 0)
    rows = dict(Allocation.objects.filter(hour=b.hour()).values_list("kind", "amortized_cost"))
    assert rows == {"idle": Decimal(5), "usage": Decimal(5)}
    good, *bad = _refreshed(good, *bad)
    assert good.attributed_at is not None and good.attribution_error == ""
    for run in bad:
        assert run.attributed_at is None and run.attribution_failed_at is not None
        assert "9999-12-31T23:00" in run.attribution_error
        assert "outside the plausible time window" in run.attribution_error
    # Out of the pending set: the next call has nothing to do rather than failing again.
    assert attribute_pending() is None
    assert not Allocation.objects.filter(hour__year=9999).exists()


def test_a_window_that_raises_is_recorded_on_its_runs_and_the_others_go_on():
    good = _good_hour()
    # Two lines whose sum does not fit NUMERIC(28,10): the allocation insert raises DataError.
    b.gpu_resource("i-big", gpus=1)
    b.cost_line("i-big", cost="900000000000000000", start=NEXT_MONTH)
    b.cost_line("i-big", cost="900000000000000000", start=NEXT_MONTH)
    broken = _pending_run("focus", NEXT_MONTH, NEXT_MONTH + timedelta(hours=1))

    result = attribute_pending()

    assert (result.windows, result.failed) == (1, 1)
    good, broken = _refreshed(good, broken)
    assert good.attributed_at is not None
    assert broken.attributed_at is None and broken.attribution_failed_at is not None
    assert "DataError" in broken.attribution_error and "overflow" in broken.attribution_error
    assert NEXT_MONTH.isoformat(timespec="minutes") in broken.attribution_error
    assert Allocation.objects.filter(hour=b.hour()).exists()
    assert not Allocation.objects.filter(resource_id="i-big").exists()
    assert attribute_pending() is None  # not retried every five minutes

    # Once the cause is gone, recomputing those hours clears the failure.
    CostLine.objects.filter(resource_id="i-big").update(effective_cost=1, billed_cost=1)
    call_command("attribute", start=NEXT_MONTH.date(), end=NEXT_MONTH.date(), stdout=StringIO())
    broken.refresh_from_db()
    assert broken.attributed_at is not None and broken.attribution_failed_at is None
    assert broken.attribution_error == ""


def test_retry_failed_puts_failed_runs_back_in_the_pending_set():
    b.gpu_resource("i-big", gpus=1)
    b.cost_line("i-big", cost="900000000000000000", start=NEXT_MONTH)
    b.cost_line("i-big", cost="900000000000000000", start=NEXT_MONTH)
    broken = _pending_run("focus", NEXT_MONTH, NEXT_MONTH + timedelta(hours=1))
    assert attribute_pending().failed == 1
    CostLine.objects.filter(resource_id="i-big").update(effective_cost=1, billed_cost=1)

    out = StringIO()
    call_command("attribute", pending=True, retry_failed=True, stdout=out)

    assert "1 failed run(s) back in the queue" in out.getvalue()
    broken.refresh_from_db()
    assert broken.attributed_at is not None and broken.attribution_error == ""


def test_a_bill_in_year_9999_does_not_break_the_attribute_command():
    b.gpu_resource("i-gpu", gpus=1)
    b.cost_line("i-gpu", cost="10")
    b.cost_line("i-gpu", cost="98", start=LAST_HOUR, hours=0)  # ends 9999-12-31T23:00 too
    CostLine.objects.filter(charge_period_start=LAST_HOUR).update(
        charge_period_end=LAST_HOUR + timedelta(minutes=59)
    )
    out, err = StringIO(), StringIO()

    call_command("attribute", stdout=out, stderr=err)
    call_command("attribute", start=LAST_HOUR.date(), end=LAST_HOUR.date(), stdout=StringIO())

    assert "not computed: cost lines from" in err.getvalue() and "9999-12-31" in err.getvalue()
    assert Allocation.objects.filter(hour=b.hour()).exists()
    assert not Allocation.objects.filter(hour__year=9999).exists()


def test_a_cost_line_from_year_0001_is_spread_only_over_plausible_hours(settings):
    settings.INPUT_TIME_MIN = "2026-10-31"  # a short plausible past keeps the test quick
    b.gpu_resource("i-gpu", gpus=1)
    b.cost_line("i-gpu", cost="98")
    CostLine.objects.update(charge_period_start=YEAR_ONE)  # 0001-01-01 to hour(1)
    run = _pending_run("focus", YEAR_ONE, b.hour(1))

    result = run_attribution()

    first = datetime(2026, 10, 31, tzinfo=UTC)
    assert result.start == first and result.end == b.hour(1)
    assert "0001-01-01" in result.outside
    hours = set(Allocation.objects.values_list("hour", flat=True))
    assert min(hours) == first and max(hours) == b.hour() and len(hours) == 24 + 10 + 1
    run.refresh_from_db()
    assert run.attributed_at is not None and "0001-01-01" in run.attribution_error


def test_the_sources_page_shows_runs_whose_attribution_failed():
    _good_hour()
    bad = _last_hour_of_9999()
    attribute_pending()
    finance = get_user_model().objects.create_user("fin")
    OrgRole.objects.create(user=finance, role=Role.FINANCE)
    client = Client()
    client.force_login(finance)

    page = client.get("/sources/").content.decode()

    assert "Attribution problems" in page
    assert f"<td>{bad[0].pk}<br>" in page and f"<td>{bad[1].pk}<br>" in page
    assert "outside the plausible time window" in page and "failed" in page
