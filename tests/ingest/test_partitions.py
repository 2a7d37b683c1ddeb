"""Monthly partitions of the big ingest tables: made by the migration, created ahead, rows moved
out of DEFAULT, old months detached and dropped, retention by whole partitions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, transaction

from costapp.attribution.models import ClosedPeriod
from costapp.core import partitions
from costapp.core.partitions import PartitionedTable, add_months, month_of, partition_name
from costapp.ingest import tasks
from costapp.ingest.models import GpuSample, IngestionRun, SeenRequest, UsageRollup
from costapp.ingest.retention import prune_gpu_samples, prune_seen_requests
from costapp.ingest.rows import GpuSampleRow, RequestRow
from costapp.ingest.store import store_gpu_samples, store_requests

NOW = datetime(2026, 11, 30, 5, 42, tzinfo=UTC)
OLD = date(2024, 5, 1)  # a month no migration made a partition for


def new_run() -> int:
    return IngestionRun.objects.create(format="test", location="push").pk


def samples(*instants: datetime, gpu: str = "GPU-1") -> int:
    run = new_run()
    rows = [
        GpuSampleRow(ts=ts, gpu_uuid=gpu, source_file="s.prom", source_row=n,
                     utilization=Decimal("0.5"))
        for n, ts in enumerate(instants, start=1)
    ]  # fmt: skip
    with transaction.atomic():
        store_gpu_samples(rows, run)
    return run


def requests(*pairs: tuple[str, datetime]) -> int:
    run = new_run()
    rows = [
        RequestRow(ts=ts, request_id=rid, team="search", model="m", endpoint="/v1/chat",
                   source_file="push", source_row=n, input_tokens=10)
        for n, (rid, ts) in enumerate(pairs, start=1)
    ]  # fmt: skip
    with transaction.atomic():
        store_requests(rows, run)
    return run


def leaf_of(table: str, where: str, params: list) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE {where}", params)
        return sorted(row[0] for row in cursor.fetchall())


def attached(table: str) -> dict[date | None, str]:
    return {p.month: p.name for p in partitions.partitions(table) if p.attached}


def at(month: date, day: int = 10, hour: int = 12) -> datetime:
    return datetime(month.year, month.month, day, hour, tzinfo=UTC)


@pytest.mark.django_db
@pytest.mark.parametrize("table", sorted(partitions.TABLES))
def test_the_migration_partitions_each_table_by_month_with_a_default(table):
    key = partitions.TABLES[table].key
    assert partitions.is_partitioned(table)
    months = attached(table)
    assert None in months  # DEFAULT
    # The migration made this month (of its run) and three ahead: at least the next two exist
    # whenever the test database was made this month or last.
    current = month_of(datetime.now(UTC))
    assert {current, add_months(current, 1)} <= set(months)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
            " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary",
            [table],
        )
        primary = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
            [table],
        )
        (foreign_keys,) = cursor.fetchone()
    # The model's key with the partition key: (id, key), or a composite key holding it.
    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    assert primary == {f.column for f in model._meta.pk_fields} | {key}
    # run_id -> ingest_ingestionrun kept where the model asks for it (migration 0014 drops it
    # from the hottest tables); the attribution tables have none.
    run = next((f for f in model._meta.fields if f.name == "run"), None)
    assert foreign_keys == int(bool(run and run.db_constraint))


@pytest.mark.django_db
def test_a_row_of_a_month_without_partition_lands_in_default_and_ensure_moves_it():
    run = samples(at(OLD), at(OLD, 11))
    moved = GpuSample.objects.filter(run_id=run).values_list("ts", "gpu_uuid", "source_row")
    before = sorted(moved)
    assert leaf_of("ingest_gpusample", "run_id = %s", [run]) == ["ingest_gpusample_default"] * 2

    created = partitions.ensure_partitions(months_ahead=2, now=NOW)

    assert partition_name("ingest_gpusample", OLD) in created
    for month in (date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)):
        for table in partitions.TABLES:
            assert month in attached(table)
    assert leaf_of("ingest_gpusample", "run_id = %s", [run]) == ["ingest_gpusample_p202405"] * 2
    assert sorted(moved.all()) == before
    assert partitions.ensure_partitions(months_ahead=2, now=NOW) == []  # idempotent


@pytest.mark.django_db
def test_the_identity_keeps_counting_after_the_move():
    def rollup(day: int) -> int:
        return UsageRollup.objects.create(run_id=new_run(), hour=at(OLD, day), team="t",
                                          model="m", endpoint="/e").pk  # fmt: skip

    first = rollup(10)
    partitions.ensure_partitions(now=NOW)
    assert leaf_of("ingest_usagerollup", "id = %s", [first]) == ["ingest_usagerollup_p202405"]
    assert rollup(12) > first


@pytest.mark.django_db
def test_detach_and_drop_of_an_old_month_leave_the_rest_readable_and_writable():
    old, kept = OLD, add_months(OLD, 1)
    for month in (old, kept):
        partitions.create_partition("ingest_usagerollup", month)
    for month in (old, kept):
        UsageRollup.objects.create(run_id=new_run(), hour=at(month), team="t", model="m",
                                   endpoint="/e", requests=3)  # fmt: skip

    name = partitions.detach_partition("ingest_usagerollup", old)

    assert name == "ingest_usagerollup_p202405" and old not in attached("ingest_usagerollup")
    assert [r.hour for r in UsageRollup.objects.all()] == [at(kept)]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT requests FROM {name}")  # kept aside as a plain table
        assert cursor.fetchall() == [(3,)]
    UsageRollup.objects.create(run_id=new_run(), hour=at(kept, 12), team="t", model="m",
                               endpoint="/e", requests=4)  # fmt: skip
    late = UsageRollup.objects.create(run_id=new_run(), hour=at(old, 12), team="t", model="m",
                                      endpoint="/e", requests=5)  # fmt: skip
    assert leaf_of("ingest_usagerollup", "id = %s", [late.pk]) == ["ingest_usagerollup_default"]
    assert partitions.detach_partition("ingest_usagerollup", old) == name  # no-op the 2nd time

    assert partitions.drop_partition("ingest_usagerollup", old) == (name, 1)

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [name])
        assert cursor.fetchone() == (None,)
    assert sorted(r.requests for r in UsageRollup.objects.all()) == [3, 4, 5]
    # The month's late row stays in DEFAULT: the name of the detached month was free again.
    assert partition_name("ingest_usagerollup", old) in partitions.ensure_partitions(now=NOW)


@pytest.mark.django_db
def test_ensure_leaves_a_month_alone_while_its_detached_table_is_kept():
    partitions.create_partition("ingest_usagerollup", OLD)
    partitions.detach_partition("ingest_usagerollup", OLD)
    UsageRollup.objects.create(run_id=new_run(), hour=at(OLD), team="t", model="m",
                               endpoint="/e", requests=1)  # fmt: skip
    created = partitions.ensure_partitions(now=NOW, tables=["ingest_usagerollup"])
    assert partition_name("ingest_usagerollup", OLD) not in created
    assert UsageRollup.objects.get().requests == 1  # still there, in DEFAULT


@pytest.mark.django_db
def test_an_unknown_table_or_month_is_refused():
    with pytest.raises(partitions.PartitionError, match="not a partitioned table"):
        partitions.detach_partition("ingest_ingestionrun", OLD)
    with pytest.raises(partitions.PartitionError, match="has no partition"):
        partitions.detach_partition("ingest_costline", date(1999, 1, 1))


@pytest.mark.django_db(transaction=True)
def test_a_table_without_default_detaches_concurrently(monkeypatch):
    # CONCURRENTLY is refused on a table with a DEFAULT partition (all of ours), so a probe
    # table without one, registered like the others, shows that path.
    monkeypatch.setitem(partitions.TABLES, "hpart_probe", PartitionedTable("hpart_probe", "ts"))
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE hpart_probe (ts timestamptz NOT NULL) PARTITION BY RANGE (ts)")
    try:
        for month in (OLD, add_months(OLD, 1)):
            partitions.create_partition("hpart_probe", month)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO hpart_probe VALUES (%s), (%s)", [at(OLD), at(add_months(OLD, 1))]
            )
        assert not connection.in_atomic_block
        partitions.detach_partition("hpart_probe", OLD)
        assert set(attached("hpart_probe")) == {add_months(OLD, 1)}
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM hpart_probe")
            assert cursor.fetchone() == (1,)
        assert [p.attached for p in partitions.partitions("hpart_probe")] == [False, True]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS hpart_probe, hpart_probe_p202405")


@pytest.mark.django_db
def test_request_ids_past_the_window_go_by_whole_partition_and_the_rest_in_batches():
    # The window ends 45 days before NOW: 2026-10-16 05:00.
    whole, partial = date(2026, 9, 1), date(2026, 10, 1)
    for month in (whole, partial):
        partitions.create_partition("ingest_seenrequest", month)
    requests(
        *((f"sep-{n}", at(whole, 1 + n)) for n in range(3)),
        *((f"oct-old-{n}", at(partial, 1 + n)) for n in range(5)),
        ("oct-edge", datetime(2026, 10, 16, 5, tzinfo=UTC)),
        ("ancient", datetime(2025, 1, 3, tzinfo=UTC)),  # in DEFAULT
        ("new", NOW),
    )

    assert prune_seen_requests(NOW, days=45, batch=2) == 9

    assert whole not in attached("ingest_seenrequest")
    assert partial in attached("ingest_seenrequest")
    assert set(SeenRequest.objects.values_list("request_id", flat=True)) == {"oct-edge", "new"}
    assert (
        UsageRollup.objects.count() >= 1
        and sum(UsageRollup.objects.values_list("requests", flat=True)) == 11
    )  # the counts stay
    assert prune_seen_requests(NOW, days=45, batch=2) == 0


@pytest.mark.django_db
def test_a_resent_request_counts_once_since_it_carries_the_same_hour():
    first = requests(("r-1", datetime(2026, 11, 3, 10, 5, tzinfo=UTC)))
    again = requests(("r-1", datetime(2026, 11, 3, 10, 5, tzinfo=UTC)))
    assert UsageRollup.objects.filter(run_id=first).get().requests == 1
    assert not UsageRollup.objects.filter(run_id=again).exists()


@pytest.mark.django_db
def test_one_id_sent_with_instants_in_two_hours_counts_in_each():
    # The documented cost of (request_id, hour) as the key (costapp/ingest/retention.py).
    requests(("r-1", datetime(2026, 11, 3, 10, 59, tzinfo=UTC)))
    requests(("r-1", datetime(2026, 11, 3, 11, 0, tzinfo=UTC)))
    assert sum(UsageRollup.objects.values_list("requests", flat=True)) == 2


@pytest.mark.django_db
def test_gpu_samples_go_past_the_window_in_closed_months_only():
    closed_whole, open_old, closed_partial = date(2026, 6, 1), date(2026, 7, 1), date(2026, 10, 1)
    for month in (closed_whole, open_old, closed_partial):
        partitions.create_partition("ingest_gpusample", month)
    cutoff = datetime(2026, 10, 16, 5, tzinfo=UTC)  # NOW less 45 days
    samples(
        *(at(closed_whole, 1 + n) for n in range(4)),
        *(at(open_old, 1 + n) for n in range(4)),
        *(cutoff - timedelta(hours=h) for h in range(1, 6)),  # closed, before the cutoff
        cutoff,
        NOW,
        datetime(2025, 3, 2, tzinfo=UTC),  # closed too, in DEFAULT
    )

    kept_all = prune_gpu_samples([closed_whole, closed_partial], NOW, days=None)
    assert kept_all.rows == 0 and GpuSample.objects.count() == 16  # unset: keep everything

    pruned = prune_gpu_samples(
        [closed_whole, closed_partial, date(2025, 3, 1)], NOW, days=45, batch=2
    )

    assert pruned.dropped == ["ingest_gpusample_p202606"] and pruned.rows_dropped == 4
    assert pruned.deleted == 6
    left = sorted(GpuSample.objects.values_list("ts", flat=True))
    assert left == [*(at(open_old, 1 + n) for n in range(4)), cutoff, NOW]


@pytest.mark.django_db
def test_the_retention_task_reads_the_closed_months_and_the_setting(settings):
    settings.GPU_SAMPLE_RETENTION_DAYS = 30
    old_closed, old_open = date(2024, 1, 1), date(2024, 2, 1)
    ClosedPeriod.objects.create(month=old_closed, totals={})
    samples(at(old_closed), at(old_open))
    assert tasks.prune_gpu_samples.delay().get() == 1
    assert [month_of(ts) for ts in GpuSample.objects.values_list("ts", flat=True)] == [old_open]
    settings.GPU_SAMPLE_RETENTION_DAYS = None
    samples(at(old_closed, 12))
    assert tasks.prune_gpu_samples.delay().get() == 0


@pytest.mark.django_db
def test_the_beat_task_and_the_command_create_ahead_and_list(capsys):
    samples(at(OLD))
    assert partition_name("ingest_gpusample", OLD) in tasks.ensure_partitions.delay().get()
    call_command("partitions", "list", "ingest_gpusample")
    listing = capsys.readouterr().out
    assert "2024-05  ingest_gpusample_p202405" in listing and "DEFAULT" in listing
    call_command("partitions", "detach", "ingest_gpusample", "2024-05")
    call_command("partitions", "list", "ingest_gpusample")
    assert "DETACHED" in capsys.readouterr().out
    call_command("partitions", "drop", "ingest_gpusample", "2024-05")
    assert "dropped ingest_gpusample_p202405 (1 rows)" in capsys.readouterr().out
    call_command("partitions", "ensure", "--months-ahead", "1")
    assert "0 partition(s) created" in capsys.readouterr().out
