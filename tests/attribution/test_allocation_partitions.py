"""The allocations and the hourly rollups partitioned by month (attribution migration 0010,
costapp/core/partitions.py): the engine writes and the rollup reads work across months, the
stale-mark triggers fire on the partitioned table, a month is kept unless forced (and closed),
and the migration rebuilds a table holding rows both ways."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from costapp.attribution import periods, rollups
from costapp.attribution.engine import run_attribution
from costapp.attribution.idle import fetch
from costapp.attribution.models import Allocation, AllocationHour, LineKind, RollupStale
from costapp.core import partitions

from . import builders as b

pytestmark = pytest.mark.django_db

OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)
HOURLY = ("attribution_rollup_hour", "attribution_rollup_share_hour", "attribution_rollup_poolteam")
TABLES = ("attribution_allocation", *HOURLY)
EDGE = datetime(2026, 10, 31, 20, tzinfo=UTC)  # eight hours before November


def _leaves(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT tableoid::regclass::text FROM {table}")
        return {row[0] for row in cursor.fetchall()}


def _triggers() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'attribution_allocation'::regclass"
            " AND NOT tgisinternal"
        )
        return {row[0] for row in cursor.fetchall()}


def _indexes(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return dict(cursor.fetchall())


_READ = """SELECT team, kind, sum(amortized_cost) AS a, sum(billed_cost) AS b
FROM {source} lines WHERE hour >= %(start)s AND hour < %(end)s GROUP BY 1, 2"""


def _read(source: str, start: datetime, end: datetime) -> dict:
    rows = fetch(_READ.format(source=source), {"start": start, "end": end})
    return {(r["team"], r["kind"]): (r["a"], r["b"]) for r in rows}


def _two_months_attributed() -> None:
    """Sixteen hours of a 4-GPU resource astride the end of October, two teams using it."""
    for month in (OCT, NOV):
        for table in TABLES:
            partitions.create_partition(table, month)
    b.gpu_resource(gpus=4)
    b.cost_line(cost="160.0000000001", billed="200", hours=16, start=EDGE)
    for at, team in ((EDGE + timedelta(hours=2), "team-a"), (EDGE + timedelta(hours=10), "team-b")):
        b.usage(team, at, gpu_seconds=Decimal(3600))
    run_attribution()


@pytest.mark.parametrize("table", TABLES)
def test_the_migration_partitions_allocations_and_hourly_rollups_by_hour(table):
    assert partitions.is_partitioned(table)
    assert partitions.TABLES[table].key == "hour" and partitions.TABLES[table].kept
    assert any(p.is_default for p in partitions.partitions(table))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE confrelid = %s::regclass OR"
            " (conrelid = %s::regclass AND contype = 'f')",
            [table, table],
        )
        assert cursor.fetchone() == (0,)  # no foreign key to or from it


def test_the_daily_rollups_stay_plain_and_the_indexes_and_triggers_came_along():
    for table in ("attribution_rollup_day", "attribution_rollup_share_day"):
        assert not partitions.is_partitioned(table)
    assert _triggers() == {
        f"attribution_rollup_stale_on_{op}" for op in ("insert", "update", "delete", "truncate")
    }
    indexes = _indexes("attribution_allocation")
    assert "WHERE ((kind)::text = 'unallocated'::text)" in indexes["allocation_unallocated_hour"]
    assert indexes["attribution_allocation_pkey"].endswith("(id, hour)")
    assert "utilization_source" in indexes["allocation_unmeasured_hour"]  # 0011, on the parent
    assert len(indexes) == 5  # the pk and Allocation.Meta's four
    assert {"rollup_hour_hour", "rollup_hour_team"} < set(_indexes("attribution_rollup_hour"))


def test_the_engine_writes_and_the_reads_read_across_two_months():
    _two_months_attributed()
    assert not RollupStale.objects.exists()
    for table in TABLES:
        assert _leaves(table) == {f"{table}_p202610", f"{table}_p202611"}
    start, end = EDGE - timedelta(days=1), EDGE + timedelta(days=1)
    raw = _read("attribution_allocation", start, end)
    assert _read(rollups.lines(), start, end) == raw
    assert _read(rollups.lines(hourly=True), start, end) == raw
    assert sum(a for a, _ in raw.values()) == Decimal("160.0000000001")
    # A window of one month prunes to its partition and still reads exactly.
    low, high = partitions.bounds(NOV)
    assert _read(rollups.lines(), low, high) == _read("attribution_allocation", low, high)


def test_a_raw_write_across_months_leaves_one_mark_spanning_them():
    RollupStale.objects.all().delete()
    Allocation.objects.bulk_create(
        Allocation(hour=EDGE + timedelta(hours=h), resource_id="i-1", kind=LineKind.USAGE,
                   team="a", currency="USD", amortized_cost=Decimal(1), billed_cost=Decimal(1))
        for h in (0, 9)
    )  # fmt: skip
    mark = RollupStale.objects.get()
    assert (mark.first_hour, mark.last_hour) == (EDGE, EDGE + timedelta(hours=9))
    start, end = EDGE, EDGE + timedelta(hours=10)
    assert _read(rollups.lines(), start, end) == {("a", "usage"): (Decimal(2), Decimal(2))}
    assert not RollupStale.objects.exists()


def test_a_kept_month_goes_only_forced_and_closed_and_the_rest_stays_usable():
    _two_months_attributed()
    for table in TABLES:
        with pytest.raises(partitions.PartitionError, match="kept"):
            partitions.detach_partition(table, OCT)
        with pytest.raises(partitions.PartitionError, match="kept"):
            partitions.prune(table, [(None, datetime(2026, 11, 1, tzinfo=UTC))], 100)
    with pytest.raises(partitions.PartitionError, match="not closed"):
        partitions.drop_partition("attribution_allocation", OCT, force=True)
    periods.close_month(OCT, by="test")

    name = partitions.detach_partition("attribution_allocation", OCT, force=True)

    assert name == "attribution_allocation_p202610"
    low, high = partitions.bounds(NOV)
    mark = RollupStale.objects.get()
    assert (mark.first_hour, mark.last_hour) == (
        partitions.bounds(OCT)[0],
        low - timedelta(hours=1),
    )
    # The rollups follow what is attached: October reads empty, November as before.
    start, end = EDGE - timedelta(days=1), EDGE + timedelta(days=1)
    assert _read(rollups.lines(), start, end) == _read("attribution_allocation", start, end)
    assert _read(rollups.lines(), start, low) == {}
    assert not AllocationHour.objects.filter(hour__lt=low).exists()
    # November is rewritten by the engine, partition pruning past the detached month.
    before = _read("attribution_allocation", low, high)
    b.usage("team-c", EDGE + timedelta(hours=12), gpu_seconds=Decimal(3600))
    run_attribution(low, high)
    after = _read("attribution_allocation", low, high)
    assert ("team-c", "usage") in after and after != before
    assert _read(rollups.lines(), low, high) == after

    assert partitions.drop_partition("attribution_allocation", OCT, force=True)[0] == name
    assert partitions.drop_partition("attribution_rollup_hour", OCT, force=True)[1] == 0


def test_the_migration_rebuilds_tables_holding_rows_both_ways():
    _two_months_attributed()
    migration = importlib.import_module(
        "costapp.attribution.migrations.0010_partition_allocations_and_hourly_rollups_by_month"
    )
    before = {t: _read(t, EDGE - timedelta(days=1), EDGE + timedelta(days=1)) for t in TABLES[:2]}
    top = max(Allocation.objects.values_list("id", flat=True))

    with connection.schema_editor(atomic=False) as editor:
        migration.unpartition(None, editor)
    for table in TABLES:
        assert not partitions.is_partitioned(table)
    assert _indexes("attribution_allocation")["attribution_allocation_pkey"].endswith("(id)")
    assert len(_triggers()) == 4
    with connection.schema_editor(atomic=False) as editor:
        migration.partition(None, editor)

    for table in TABLES:
        assert partitions.is_partitioned(table)
        assert _leaves(table) == {f"{table}_p202610", f"{table}_p202611"}
    after = {t: _read(t, EDGE - timedelta(days=1), EDGE + timedelta(days=1)) for t in TABLES[:2]}
    assert after == before
    assert len(_triggers()) == 4
    RollupStale.objects.all().delete()
    new = Allocation.objects.create(hour=EDGE, resource_id="i-2", kind=LineKind.USAGE)
    assert new.pk > top  # the identity went on counting
    assert RollupStale.objects.get().first_hour == EDGE  # the trigger fires on the new table
