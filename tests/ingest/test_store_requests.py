"""store_requests: a request id counts once ever, whichever path the writer takes to count it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from django.db import connection, connections, transaction

from costapp.ingest.errors import ParseError
from costapp.ingest.models import IngestionRun, SeenRequest, UsageRollup
from costapp.ingest.rows import RequestRow
from costapp.ingest.store import STAGE_WORK_MEM, store_requests

HOUR = datetime(2026, 11, 1, 10, tzinfo=UTC)


def rows(*ids: str) -> list[RequestRow]:
    return [
        RequestRow(
            ts=HOUR,
            request_id=i,
            team="search",
            model="m",
            endpoint="/v1/chat",
            source_file="push",
            source_row=n,
            input_tokens=10,
        )
        for n, i in enumerate(ids, start=1)
    ]


def new_run() -> int:
    return IngestionRun.objects.create(format="jsonl", location="push").pk


@pytest.mark.django_db
def test_a_delivery_of_ids_all_counted_before_stores_nothing():
    with transaction.atomic():
        store_requests(rows("a", "b"), new_run())
    run = new_run()
    with transaction.atomic():
        stats = store_requests(rows("b", "a"), run)
    assert (stats.rows_read, stats.rows_stored) == (2, 0)
    assert not UsageRollup.objects.filter(run_id=run).exists()


@pytest.mark.django_db
def test_a_repeat_of_an_id_counted_earlier_still_fails_the_delivery_at_the_repeat():
    with transaction.atomic():
        store_requests(rows("a"), new_run())
    run = new_run()
    with pytest.raises(ParseError) as raised, transaction.atomic():
        store_requests(rows("b", "a", "c", "b"), run)
    assert (raised.value.line, raised.value.column) == (4, "request_id")
    assert not SeenRequest.objects.filter(run_id=run).exists()


@pytest.mark.django_db
def test_the_callers_work_mem_is_back_after_storing():
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('work_mem')")
        before = cursor.fetchone()[0]
        store_requests(rows("a", "b"), new_run())
        cursor.execute("SELECT current_setting('work_mem')")
        assert cursor.fetchone()[0] == before != STAGE_WORK_MEM


def _waiting_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_pushes_of_one_id_count_it_once():
    first, second = new_run(), new_run()
    outcome: dict = {}
    started = threading.Event()

    def push() -> None:
        try:
            with transaction.atomic():
                outcome["pid"] = connection.connection.info.backend_pid
                started.set()
                outcome["stats"] = store_requests(rows("shared", "only-second"), second)
        finally:
            started.set()
            connections.close_all()

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            other.set_autocommit(False)
            cursor.execute(
                "INSERT INTO ingest_seenrequest (request_id, run_id, hour) VALUES (%s, %s, %s)",
                ["shared", first, HOUR],
            )
            thread = threading.Thread(target=push)
            thread.start()
            started.wait(10)
            # The second push blocks on the first's uncommitted id: commit only once it waits,
            # so the test exercises the race rather than two pushes one after the other.
            for _ in range(200):
                if "pid" in outcome and _waiting_on_a_lock(outcome["pid"]):
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the second push never waited on the first")
            other.commit()
        thread.join(30)
    finally:
        other.close()
    assert outcome["stats"].rows_stored == 1
    assert sum(r.requests for r in UsageRollup.objects.filter(run_id=second)) == 1
    assert SeenRequest.objects.get(request_id="shared").run_id == first
