"""Partitioned attribution: windows of different UTC days run at once, windows sharing a day
queue, and whatever touches every hour (a full recompute, closing a month) waits for the
windows in flight. A second real connection plays the other worker."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import OperationalError, connection, connections

from costapp.attribution.days import day_windows
from costapp.attribution.engine import run_attribution
from costapp.attribution.locking import DAYS, ENGINE, LOCK_NAMESPACE, MAX_DAY_LOCKS, days_of
from costapp.attribution.models import Allocation, ClosedPeriod
from costapp.attribution.periods import close_month
from costapp.attribution.tasks import recompute_by_day

from . import builders as b

pytestmark = pytest.mark.django_db

DAY1 = datetime(2026, 11, 1, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)


def _key(day: datetime) -> int:
    return day.date().toordinal()


@contextmanager
def other_worker(*, engine_shared: bool = False, days: tuple[datetime, ...] = ()) -> Iterator:
    """A second session holding the locks a window in flight holds (session locks: this
    connection is in autocommit). Released explicitly before close: a closed client's backend
    drops its locks a little later."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            if engine_shared:
                cursor.execute("SELECT pg_advisory_lock_shared(%s, %s)", [LOCK_NAMESPACE, ENGINE])
            for day in days:
                cursor.execute("SELECT pg_advisory_lock(%s, %s)", [DAYS, _key(day)])
            try:
                yield cursor
            finally:
                cursor.execute("SELECT pg_advisory_unlock_all()")
    finally:
        other.close()


def _wait_at_most(timeout: str) -> None:
    """A lock wait longer than `timeout` raises (LockNotAvailable) instead of hanging the test;
    SET, not SET LOCAL: it is undone with the test's transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, false)", [timeout])


def _try(cursor, sql: str, key: tuple[int, int]) -> bool:
    cursor.execute(f"SELECT {sql}(%s, %s)", list(key))
    got = cursor.fetchone()[0]
    if got:
        unlock = "pg_advisory_unlock_shared" if sql.endswith("_shared") else "pg_advisory_unlock"
        cursor.execute(f"SELECT {unlock}(%s, %s)", list(key))
    return got


@pytest.fixture
def two_days():
    """One GPU with a cost line and usage on each of two days."""
    b.gpu_resource(gpus=1)
    for day in (DAY1, DAY2):
        b.cost_line(cost="24", start=day + timedelta(hours=10), hours=1)
        b.usage("search", at=day + timedelta(hours=10), requests=10)


def test_the_days_a_window_touches():
    assert days_of(DAY1, DAY2) == [date(2026, 11, 1)]
    assert days_of(DAY1 + timedelta(hours=23), DAY2 + timedelta(hours=1)) == [
        date(2026, 11, 1),
        date(2026, 11, 2),
    ]
    assert days_of(DAY2, DAY1) == []


def test_a_window_holds_its_days_exclusively_and_the_engine_shared(two_days):
    run_attribution(DAY1, DAY2)  # its locks last as long as the test's transaction
    with other_worker() as cursor:
        assert not _try(cursor, "pg_try_advisory_lock", (DAYS, _key(DAY1)))
        assert _try(cursor, "pg_try_advisory_lock", (DAYS, _key(DAY2)))
        assert _try(cursor, "pg_try_advisory_lock_shared", (LOCK_NAMESPACE, ENGINE))
        assert not _try(cursor, "pg_try_advisory_lock", (LOCK_NAMESPACE, ENGINE))


def test_a_window_of_another_day_proceeds_while_one_day_is_being_recomputed(two_days):
    with other_worker(engine_shared=True, days=(DAY1,)):
        _wait_at_most("30s")  # blocked would raise, not pass
        result = run_attribution(DAY2, DAY2 + timedelta(days=1))
    assert result.allocations > 0
    assert Allocation.objects.filter(hour__gte=DAY2).exists()
    assert not Allocation.objects.filter(hour__lt=DAY2).exists()


def test_two_windows_of_one_day_queue(two_days):
    with other_worker(engine_shared=True, days=(DAY2,)):
        _wait_at_most("300ms")
        with pytest.raises(OperationalError, match="lock timeout"):
            run_attribution(DAY1 + timedelta(hours=12), DAY2 + timedelta(hours=12))
    assert not Allocation.objects.exists()
    run_attribution(DAY1 + timedelta(hours=12), DAY2 + timedelta(hours=12))
    assert Allocation.objects.filter(hour__gte=DAY2).exists()


def test_a_full_recompute_waits_for_a_window_in_flight(two_days):
    with other_worker(engine_shared=True, days=(DAY1,)):
        _wait_at_most("300ms")
        with pytest.raises(OperationalError, match="lock timeout"):
            run_attribution()
    assert not Allocation.objects.exists()
    assert run_attribution().allocations > 0


def test_a_window_too_long_or_open_ended_locks_every_hour(two_days):
    with other_worker(engine_shared=True):
        _wait_at_most("300ms")
        for start, end in (
            (DAY1, DAY1 + timedelta(days=MAX_DAY_LOCKS + 1)),
            (DAY1, None),
            (None, DAY2),
        ):
            with pytest.raises(OperationalError, match="lock timeout"):
                run_attribution(start, end)
        # At the bound it still goes per day, beside the other window.
        assert run_attribution(DAY1, DAY1 + timedelta(days=MAX_DAY_LOCKS)).allocations > 0


def test_closing_a_month_waits_for_a_window_in_flight(two_days):
    with other_worker(engine_shared=True, days=(DAY1,)):
        _wait_at_most("300ms")
        with pytest.raises(OperationalError, match="lock timeout"):
            close_month(date(2026, 11, 1), by="finance")
    assert not ClosedPeriod.objects.exists()
    close_month(date(2026, 11, 1), by="finance")
    assert ClosedPeriod.objects.filter(month=date(2026, 11, 1)).exists()


def test_a_long_window_is_cut_into_utc_days():
    start = DAY1 + timedelta(hours=10)
    assert day_windows(start, DAY2 + timedelta(days=1, hours=3)) == [
        (start, DAY2),
        (DAY2, DAY2 + timedelta(days=1)),
        (DAY2 + timedelta(days=1), DAY2 + timedelta(days=1, hours=3)),
    ]


def test_an_open_side_is_closed_at_the_stored_rows(two_days):
    assert day_windows(None, None) == [
        (DAY1 + timedelta(hours=10), DAY2),
        (DAY2, DAY2 + timedelta(hours=11)),
    ]


def test_recompute_by_day_gives_what_one_window_gives(two_days):
    run_attribution(DAY1, DAY2 + timedelta(days=1))
    whole = sorted(
        Allocation.objects.values_list("hour", "kind", "team", "amortized_cost", "billed_cost")
    )
    assert sum(row[3] for row in whole) == Decimal("48")
    Allocation.objects.all().delete()
    assert recompute_by_day.delay(DAY1.isoformat(), None).get() == 2  # eager: ran inline
    assert (
        sorted(
            Allocation.objects.values_list("hour", "kind", "team", "amortized_cost", "billed_cost")
        )
        == whole
    )
