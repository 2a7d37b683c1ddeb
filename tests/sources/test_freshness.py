"""Data freshness: the selector's per-source facts and the finance-only page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from costapp.core.models import OrgRole, Role
from costapp.ingest.models import IngestionRun, LoadedBill, RunStatus
from costapp.sources.models import Source
from costapp.sources.selectors import freshness, loaded_bills

pytestmark = pytest.mark.django_db

OCTOBER = datetime(2026, 10, 1, tzinfo=UTC)
SEPTEMBER = datetime(2026, 9, 1, tzinfo=UTC)


def _run(source, status, minutes_ago, **fields) -> IngestionRun:
    run = IngestionRun.objects.create(
        source=source, format=source.format, location="x", status=status, **fields
    )
    moment = timezone.now() - timedelta(minutes=minutes_ago)
    IngestionRun.objects.filter(pk=run.pk).update(started_at=moment, finished_at=moment)
    return IngestionRun.objects.get(pk=run.pk)


def test_freshness_reports_last_success_lag_coverage_and_last_error(make_source):
    healthy = make_source(name="a-healthy", schedule_minutes=60)
    failing = make_source(name="b-failing", schedule_minutes=60)
    silent = make_source(name="c-silent")
    end = timezone.now() - timedelta(hours=1)
    _run(healthy, RunStatus.FAILED, 90, error="old problem")
    _run(healthy, RunStatus.SUCCEEDED, 30, rows_read=10, rows_stored=9, data_end=end)
    _run(failing, RunStatus.SUCCEEDED, 300)
    _run(
        failing,
        RunStatus.FAILED,
        10,
        error="bad.csv, line 3, column cost: oops",
        error_file="bad.csv",
        error_line=3,
        error_column="cost",
    )

    now = timezone.now()
    rows = {row.source.name: row for row in freshness(now)}
    assert [name for name in rows] == ["a-healthy", "b-failing", "c-silent"]
    a, b, c = rows["a-healthy"], rows["b-failing"], rows["c-silent"]
    # Lag is the age of the newest data (an hour), not of the last successful run (30 minutes).
    assert a.lag == now - end and a.data_through == end and a.last_run.rows_stored == 9
    assert a.last_error.error == "old problem" and not a.failing and not a.stale
    assert (
        b.failing
        and b.stale
        and (b.last_error.error_line, b.last_error.error_column) == (3, "cost")
    )
    assert c.last_success_at is None and c.lag is None and c.stale and not c.failing
    assert silent.pk == c.source.pk


def test_pushed_sources_are_never_called_stale(make_source):
    [row] = freshness_for(make_source(location_kind=Source.Location.PUSH))
    assert not row.stale


def freshness_for(source):
    return [row for row in freshness() if row.source.pk == source.pk]


def test_the_page_is_for_finance_only(make_source):
    source = make_source(name="cur-prod")
    _run(source, RunStatus.FAILED, 5, error="s3://b/k.csv.gz, line 7, column cost: not a number")
    users = get_user_model().objects
    client = Client()
    assert client.get("/sources/").status_code == 302  # to the login page

    client.force_login(users.create_user("dev"))
    assert client.get("/sources/").status_code == 403

    finance = users.create_user("fin")
    OrgRole.objects.create(user=finance, role=Role.FINANCE)
    client.force_login(finance)
    page = client.get("/sources/")
    assert page.status_code == 200
    assert b"cur-prod" in page.content and b"line 7, column cost" in page.content


def _bill(run, stream, sub="", period=OCTOBER, currency="USD", rows=1, billed="1", effective="1"):
    return LoadedBill.objects.create(
        run=run, stream=stream, provider="AWS", billing_account_id="111", sub_account_id=sub,
        billing_period_start=period, billing_currency=currency, rows=rows,
        billed_cost=Decimal(billed), effective_cost=Decimal(effective),
    )  # fmt: skip


def test_loaded_bills_sum_sub_accounts_name_streams_and_flag_a_bill_held_twice(make_source):
    cur = make_source(name="cur-prod", format="focus")
    run = _run(cur, RunStatus.SUCCEEDED, 5)
    _bill(run, cur.stream, sub="a", rows=2, billed="10.0000000001", effective="8")
    _bill(run, cur.stream, sub="b", rows=3, billed="5", effective="4.5")
    _bill(run, cur.stream, sub="a", period=SEPTEMBER, billed="7", effective="7")
    _bill(run, "local:focus", sub="a", period=SEPTEMBER, billed="7", effective="7")

    october, september = loaded_bills()

    assert (october.period, october.streams, october.sub_accounts, october.rows) == (
        OCTOBER, ["cur-prod"], 2, 5,
    )  # fmt: skip
    assert (october.billed_cost, october.effective_cost) == (Decimal("15.0000000001"), 12.5)
    assert not october.held_twice
    assert september.streams == ["cur-prod", "local:focus"] and september.held_twice


def test_the_page_lists_loaded_bills_for_finance(make_source):
    cur = make_source(name="cur-prod", format="focus")
    run = _run(cur, RunStatus.SUCCEEDED, 5, warnings=["AWS billing account 111 ... counts twice"])
    _bill(run, cur.stream, billed="1234.565", effective="-0.001", currency="EUR")
    _bill(run, "local:focus", billed="0", effective="0", currency="EUR")  # the same bill again
    finance = get_user_model().objects.create_user("fin")
    OrgRole.objects.create(user=finance, role=Role.FINANCE)
    client = Client()
    client.force_login(finance)

    page = client.get("/sources/").content.decode()

    assert "Bills loaded" in page and "2026-10" in page
    assert "1,234.56 EUR" in page and "0.00 EUR" in page and "-0.00" not in page
    assert "counts twice" in page and "1 warning" in page


def test_a_source_checked_lately_without_news_is_not_stale(make_source):
    daily_export = make_source(name="cur-daily", schedule_minutes=60)
    changed = timezone.now() - timedelta(hours=20)  # the export last changed 20 hours ago
    _run(daily_export, RunStatus.SUCCEEDED, 20 * 60, data_end=changed)
    Source.objects.filter(pk=daily_export.pk).update(
        last_checked_at=timezone.now() - timedelta(minutes=30)
    )
    [row] = freshness_for(Source.objects.get(pk=daily_export.pk))
    assert row.lag > timedelta(hours=19) and not row.stale
    Source.objects.filter(pk=daily_export.pk).update(
        last_checked_at=timezone.now() - timedelta(hours=3)
    )
    [row] = freshness_for(Source.objects.get(pk=daily_export.pk))
    assert row.stale


def test_a_clean_poll_marks_the_source_checked_and_a_broken_location_does_not(
    make_source, tmp_path
):
    from costapp.sources.service import run_source

    folder = tmp_path / "exports"
    folder.mkdir()
    source = make_source(location=str(folder))
    assert run_source(source) == []  # nothing there yet: no run, but a clean check
    checked = Source.objects.get(pk=source.pk).last_checked_at
    assert checked is not None

    folder.rmdir()
    (failed,) = run_source(source)
    assert failed.status == RunStatus.FAILED and "no such folder" in failed.error
    assert Source.objects.get(pk=source.pk).last_checked_at == checked
