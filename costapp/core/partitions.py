"""Monthly partitions of the big tables: create them ahead, detach and drop old ones.

The tables in TABLES are PostgreSQL range-partitioned by month on their key column
(costapp/ingest/migrations/0013_partition_ingest_tables_by_month.py): one partition per
month, named <table>_pYYYYMM, holding [first of the month, first of the next) in UTC, and a
DEFAULT partition, <table>_default, that takes any row no month partition holds, so an insert
never fails for want of a partition.

`ensure_partitions` (daily, costapp.ingest.tasks.ensure_partitions) creates the coming months
before their rows arrive, and gives any month the DEFAULT partition has collected rows for its
own partition, moving those rows in the same transaction (a partition cannot be created while
the DEFAULT holds rows of its range). Keep DEFAULT small: creating a partition scans it.

Detaching is a catalog change, but PostgreSQL refuses DETACH ... CONCURRENTLY on a table that
has a DEFAULT partition, as all of ours do. So a detach takes the parent's ACCESS EXCLUSIVE lock
for milliseconds, under a short lock_timeout and retried: it never queues behind a long report
(which would stall every query queued behind it) and gives up instead. CONCURRENTLY is used for
a registered table without DEFAULT. Dropping a detached partition locks nothing else.

To partition another table, write its migration the way ingest 0013 and attribution 0010 do
(costapp.core.partition_sql.rebuild) and add it to TABLES: everything here, the beat task and
`manage.py partitions` then apply to it.

Retention: the allocations (partitioned by hour, attribution 0010) are the accounting record of
their month, and the hourly rollups are what the pages read in their place: these tables are
`kept`. `prune` refuses them, and a month of them is detached or dropped only when asked with
`force` (`manage.py partitions drop --force`), and for the allocations only a closed month (an
open one is rewritten by the next attribution run, into DEFAULT once its partition is gone). A
detached or dropped month of a kept table leaves a stale mark over the month
(attribution_rollup_stale), so the next read makes the rollups the sums of the allocations
still attached.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import OperationalError, connection, transaction
from django.utils import timezone


@dataclass(frozen=True)
class PartitionedTable:
    table: str
    key: str  # the timestamptz column partitioned by month
    kept: bool = False  # never pruned; detached or dropped only with force (see above)


TABLES: dict[str, PartitionedTable] = {
    spec.table: spec
    for spec in (
        PartitionedTable("ingest_costline", "billing_period_start"),
        PartitionedTable("ingest_gpusample", "ts"),
        PartitionedTable("ingest_usagerollup", "hour"),
        PartitionedTable("ingest_seenrequest", "hour"),
        PartitionedTable("attribution_allocation", "hour", kept=True),
        PartitionedTable("attribution_rollup_hour", "hour", kept=True),
        PartitionedTable("attribution_rollup_share_hour", "hour", kept=True),
        PartitionedTable("attribution_rollup_poolteam", "hour", kept=True),
    )
}
ALLOCATIONS = "attribution_allocation"
MONTHS_AHEAD = 3
LOCK_TIMEOUT = "5s"  # how long a partition change waits for a lock before it gives up
ATTEMPTS = 5
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # DEFAULT rows before this get no partition


@dataclass(frozen=True)
class Partition:
    table: str  # the partitioned table
    name: str
    month: date | None  # None for the DEFAULT partition
    attached: bool
    rows: int  # the planner's estimate; -1 before the first ANALYZE
    bytes: int

    @property
    def is_default(self) -> bool:
        return self.attached and self.month is None


class PartitionError(RuntimeError):
    """A partition change that cannot be made as asked (unknown table, a name taken...)."""


def month_of(moment: datetime | date) -> date:
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC)
    return date(moment.year, moment.month, 1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def bounds(month: date) -> tuple[datetime, datetime]:
    """The [low, high) instants a month partition holds."""
    following = add_months(month, 1)
    return (
        datetime(month.year, month.month, 1, tzinfo=UTC),
        datetime(following.year, following.month, 1, tzinfo=UTC),
    )


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y%m}"


def default_name(table: str) -> str:
    return f"{table}_default"


def spec_of(table: str) -> PartitionedTable:
    try:
        return TABLES[table]
    except KeyError:
        raise PartitionError(
            f"{table} is not a partitioned table (one of: {', '.join(sorted(TABLES))})"
        ) from None


def is_partitioned(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)", [table])
        found = cursor.fetchone()
    return bool(found and found[0])


def partitions(table: str) -> list[Partition]:
    """The table's partitions, attached (DEFAULT first, then by month) and detached ones still
    lying around under our naming, oldest first."""
    spec_of(table)
    pattern = f"^{re.escape(table)}_p([0-9]{{4}})([0-9]{{2}})$"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relispartition, pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT',"
            " c.reltuples::bigint, pg_total_relation_size(c.oid)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind = 'r' AND ("
            "  c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = to_regclass(%s))"
            "  OR c.relname ~ %s)",
            [table, pattern],
        )
        found = cursor.fetchall()
    result = []
    for name, attached, is_default, rows, size in found:
        match = re.match(pattern, name)
        month = date(int(match[1]), int(match[2]), 1) if match and not is_default else None
        if month is None and not is_default:
            continue  # a partition named otherwise: not ours to manage
        result.append(Partition(table, name, month, attached, rows, size))
    return sorted(result, key=lambda p: (p.month is not None, p.month or date.min))


def _columns(cursor, table: str) -> str:
    cursor.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
        " AND NOT attisdropped ORDER BY attnum",
        [table],
    )
    return ", ".join(row[0] for row in cursor.fetchall())


@contextmanager
def _lock_timeout(cursor):
    """LOCK_TIMEOUT for the statements inside, the caller's setting back after them."""
    cursor.execute("SELECT current_setting('lock_timeout')")
    (previous,) = cursor.fetchone()
    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT])
    yield
    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])


def _retrying(change, attempts: int = ATTEMPTS):
    """Run a partition change, again after a pause when it gave up waiting for a lock."""
    for attempt in range(1, attempts + 1):
        try:
            return change()
        except OperationalError as error:
            if "lock timeout" not in str(error) or attempt == attempts:
                raise
            time.sleep(min(2**attempt, 30))
    return None


def create_partition(table: str, month: date) -> int:
    """Create the table's partition for `month`, moving into it the rows the DEFAULT partition
    holds for that month, in one transaction; returns how many rows moved."""
    spec = spec_of(table)
    name = partition_name(table, month)
    low, high = bounds(month)

    def change() -> int:
        with transaction.atomic(), connection.cursor() as cursor, _lock_timeout(cursor):
            # Writers wait (a row for this month must not reach DEFAULT between the move and
            # the CREATE), readers go on until the CREATE's brief exclusive lock.
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
            if cursor.fetchone()[0]:
                return 0  # created meanwhile, or a detached table not yet dropped
            columns = _columns(cursor, table)
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [default_name(table)])
            if not cursor.fetchone()[0]:  # no DEFAULT: nothing to move
                cursor.execute(
                    f"CREATE TABLE {name} PARTITION OF {table}"
                    f" FOR VALUES FROM ('{low.isoformat()}') TO ('{high.isoformat()}')"
                )
                return 0
            cursor.execute(
                f"CREATE TEMP TABLE _moving ON COMMIT DROP AS SELECT {columns} FROM {table}"
                " WITH NO DATA"
            )
            cursor.execute(
                f"WITH gone AS (DELETE FROM {default_name(table)} WHERE {spec.key} >= %s"
                f" AND {spec.key} < %s RETURNING {columns}) INSERT INTO _moving SELECT * FROM gone",
                [low, high],
            )
            moved = cursor.rowcount
            cursor.execute(
                f"CREATE TABLE {name} PARTITION OF {table}"
                f" FOR VALUES FROM ('{low.isoformat()}') TO ('{high.isoformat()}')"
            )
            if moved:
                cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _moving")
            cursor.execute("DROP TABLE _moving")
            return moved

    return _retrying(change)


def months_in_default(table: str, now: datetime | None = None) -> list[date]:
    """The plausible months the DEFAULT partition holds rows of (a scan of DEFAULT)."""
    spec = spec_of(table)
    now = now or timezone.now()
    _, latest = bounds(add_months(month_of(now), 13))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', {spec.key}, 'UTC') FROM {default_name(table)}"
            f" WHERE {spec.key} >= %s AND {spec.key} < %s",
            [EARLIEST, latest],
        )
        return sorted(month_of(row[0]) for row in cursor.fetchall())


def ensure_partitions(
    months_ahead: int = MONTHS_AHEAD,
    now: datetime | None = None,
    tables: Iterable[str] | None = None,
) -> list[str]:
    """Create the partitions of this month and the next `months_ahead`, and of every month the
    DEFAULT partition holds rows for; returns the names created. Idempotent."""
    now = now or timezone.now()
    current = month_of(now)
    created = []
    for table in tables or TABLES:
        if not is_partitioned(table):
            continue
        present = {p.month for p in partitions(table)}  # detached ones too: their name is taken
        wanted = {add_months(current, n) for n in range(months_ahead + 1)}
        wanted.update(months_in_default(table, now))
        for month in sorted(wanted - present):
            create_partition(table, month)
            created.append(partition_name(table, month))
    return created


def _attached(table: str, name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT FROM pg_inherits"
            " WHERE inhrelid = to_regclass(%s) AND inhparent = to_regclass(%s))",
            [name, table],
        )
        return cursor.fetchone()[0]


def _may_remove(spec: PartitionedTable, month: date, force: bool) -> None:
    """Refuse to take a month out of a kept table unless forced, and out of the allocations
    unless the month is closed."""
    if not spec.kept:
        return
    if not force:
        raise PartitionError(
            f"{spec.table} is kept (the allocations are the accounting record, the hourly"
            " rollups what the pages read): detach or drop a month of it only with force"
        )
    if spec.table == ALLOCATIONS:
        from costapp.attribution.periods import closed_months

        if month not in closed_months():
            raise PartitionError(
                f"{month:%Y-%m} is not closed: its allocations are rewritten by the next"
                " attribution run; close the month first"
            )


def _mark_stale(spec: PartitionedTable, month: date) -> None:
    """The month's rollups no longer match what is attached: the next read refreshes them."""
    if not spec.kept:
        return
    low, high = bounds(month)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO attribution_rollup_stale (at, first_hour, last_hour)"
            " VALUES (now(), %s, %s::timestamptz - interval '1 hour')",
            [low, high],
        )


def detach_partition(table: str, month: date, force: bool = False) -> str:
    """Detach the table's partition for `month`, keeping it as a plain table of the same name;
    returns that name. A no-op when it is already detached. A kept table's month only with
    `force` (and the allocations' only when closed)."""
    spec = spec_of(table)
    _may_remove(spec, month, force)
    name = partition_name(table, month)
    if not _attached(table, name):
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
            if not cursor.fetchone()[0]:
                raise PartitionError(f"{table} has no partition {name}")
        return name
    has_default = any(p.is_default for p in partitions(table))
    if not has_default and not connection.in_atomic_block:
        # Only a table without DEFAULT may detach concurrently, and only outside a
        # transaction block: the detach commits twice.
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {name} CONCURRENTLY")
        _mark_stale(spec, month)
        return name

    def change() -> None:
        with transaction.atomic(), connection.cursor() as cursor, _lock_timeout(cursor):
            cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {name}")
            _mark_stale(spec, month)

    _retrying(change)
    return name


def drop_partition(table: str, month: date, force: bool = False) -> tuple[str, int]:
    """Detach (when attached) and drop the table's partition for `month`; returns its name and
    how many rows it held. A kept table's month only with `force` (see detach_partition)."""
    name = detach_partition(table, month, force)
    if connection.in_atomic_block:
        # Rows written earlier in the caller's transaction leave deferred foreign-key checks
        # queued, and PostgreSQL drops no table with checks pending: run them now.
        connection.check_constraints()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {name}")
        (rows,) = cursor.fetchone()
        cursor.execute(f"DROP TABLE {name}")
    return name, rows


@dataclass
class Pruned:
    dropped: list[str]  # whole partitions dropped
    rows_dropped: int  # the rows they held
    deleted: int  # rows deleted in batches elsewhere

    @property
    def rows(self) -> int:
        return self.rows_dropped + self.deleted


def prune(
    table: str,
    intervals: Iterable[tuple[datetime | None, datetime]],
    batch: int,
) -> Pruned:
    """Remove the table's rows whose key lies in any of the [low, high) intervals (low None:
    unbounded): month partitions an interval covers whole are dropped, the rest are deleted in
    batches of `batch` rows, a transaction each, partition by partition."""
    spec = spec_of(table)
    if spec.kept:
        raise PartitionError(f"{table} is kept: it is never pruned")
    intervals = sorted(intervals, key=lambda i: i[1])
    pruned = Pruned([], 0, 0)
    if not intervals:
        return pruned
    leaves = []
    if is_partitioned(table):
        for part in partitions(table):
            if not part.attached:
                continue
            if part.month is None:
                leaves.append(part.name)
                continue
            low, high = bounds(part.month)
            if any((lo is None or lo <= low) and high <= hi for lo, hi in intervals):
                name, rows = drop_partition(table, part.month)
                pruned.dropped.append(name)
                pruned.rows_dropped += rows
            elif any((lo is None or lo < high) and low < hi for lo, hi in intervals):
                leaves.append(part.name)
    else:
        leaves.append(table)
    for leaf in leaves:
        for low, high in intervals:
            pruned.deleted += _delete_in_batches(leaf, spec.key, low, high, batch)
    return pruned


def _delete_in_batches(
    leaf: str, key: str, low: datetime | None, high: datetime, batch: int
) -> int:
    # ctid names a row within one table only: batches run against a leaf, never the parent.
    where, params = f"{key} < %s", [high]
    if low is not None:
        where, params = f"{key} >= %s AND {where}", [low, high]
    deleted = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {leaf} WHERE ctid = ANY(ARRAY("
                f" SELECT ctid FROM {leaf} WHERE {where} LIMIT %s))",
                [*params, batch],
            )
            count = cursor.rowcount
        deleted += count
        if count < batch:
            return deleted
