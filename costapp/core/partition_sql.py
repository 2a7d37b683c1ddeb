"""Rebuild a table as one range-partitioned by month (or back): what the migrations that
partition the big tables run (ingest 0013, attribution 0010).

Migrations run this code as it stands when they run, not as it stood when they were written:
what a function here does must not change. A migration that needs something else gets a new
function (or a new argument whose default keeps the old behaviour).

The table is renamed aside, recreated with the same columns (LIKE: defaults, identity, storage;
so columns another migration adds before this one come along, and ALTER TABLE on the parent
reaches every partition for those added after), given a DEFAULT partition (no insert ever fails
for want of a month) and one partition per month its rows touch plus the current month and
MONTHS_AHEAD ahead, refilled, then given back the same constraints, foreign keys and indexes
under the same names (read from the catalog, so the names Django's later migrations refer to
stay valid). The identity sequence continues where the old one stopped. Triggers are not
carried over: the migration re-creates them on the new table.

A partitioned table's unique constraints must include its partition key, so the primary key
becomes (pk, key); a unique constraint without the key stops the rebuild. The naming
(<table>_pYYYYMM, <table>_default) is costapp.core.partitions'.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

MONTHS_AHEAD = 3
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # rows before this (implausible) stay in DEFAULT


def _month(year: int, month: int) -> datetime:
    return datetime(year + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=UTC)


def _months_with_rows(cursor, table: str, key: str) -> set[datetime]:
    now = datetime.now(UTC)
    cursor.execute(
        f"SELECT DISTINCT date_trunc('month', {key}, 'UTC') FROM {table}"
        f" WHERE {key} >= %s AND {key} < %s",
        [EARLIEST, _month(now.year, now.month + 13)],
    )
    months = {row[0].astimezone(UTC) for row in cursor.fetchall()}
    months.update(_month(now.year, now.month + n) for n in range(MONTHS_AHEAD + 1))
    return months


def _definitions(cursor, table: str) -> tuple[list[tuple[str, str, str]], list[str]]:
    """The table's unique/foreign-key/exclusion constraints and its other indexes, as SQL."""
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype IN ('u', 'f', 'x') ORDER BY conname",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " WHERE i.indrelid = %s::regclass AND NOT EXISTS ("
        "  SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)"
        " ORDER BY i.indexrelid::regclass::text",
        [table],
    )
    indexes = [
        re.sub(r" ON (ONLY )?\S+ USING ", f" ON {table} USING ", row[0], count=1)
        for row in cursor.fetchall()
    ]
    return constraints, indexes


def rebuild(cursor, table: str, key: str, pk: str, partitioned: bool) -> None:
    """Rebuild `table` partitioned by month on `key` (its primary key then (pk, key)), or, with
    partitioned False, as a plain table with primary key `pk`; its rows kept."""
    old = f"{table}_unpartitioned" if partitioned else f"{table}_partitioned"
    constraints, indexes = _definitions(cursor, table)
    cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk])
    (sequence,) = cursor.fetchone()
    cursor.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
        " AND NOT attisdropped ORDER BY attnum",
        [table],
    )
    columns = ", ".join(row[0] for row in cursor.fetchall())
    months = _months_with_rows(cursor, table, key) if partitioned else set()

    cursor.execute(f"ALTER TABLE {table} RENAME TO {old}")
    if sequence:
        # Free the name: the new identity column gets <table>_<pk>_seq again.
        cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {sequence.split('.')[-1]}_old")
    cursor.execute(
        f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING IDENTITY"
        " INCLUDING GENERATED INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS"
        " INCLUDING COMPRESSION)" + (f" PARTITION BY RANGE ({key})" if partitioned else "")
    )
    if partitioned:
        cursor.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        for low in sorted(months):
            high = _month(low.year, low.month + 1)
            cursor.execute(
                f"CREATE TABLE {table}_p{low:%Y%m} PARTITION OF {table}"
                f" FOR VALUES FROM ('{low.isoformat()}') TO ('{high.isoformat()}')"
            )
    cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {old}")
    if sequence:
        cursor.execute(f"SELECT last_value, is_called FROM {sequence.split('.')[-1]}_old")
        last_value, is_called = cursor.fetchone()
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, %s), %s, %s)",
            [table, pk, last_value, is_called],
        )
    cursor.execute(f"DROP TABLE {old}")  # its indexes, constraints, triggers, sequence go too

    primary = f"{pk}, {key}" if partitioned else pk
    cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({primary})")
    for name, kind, definition in constraints:
        if partitioned and kind == "u" and key not in definition:
            raise RuntimeError(f"{name} on {table} must include the partition key {key}")
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for definition in indexes:
        cursor.execute(definition)
    cursor.execute(f"ANALYZE {table}")
