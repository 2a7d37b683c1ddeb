"""Partition the allocations and the hourly rollups by month of their hour (PostgreSQL
declarative partitioning), the way ingest 0013 partitions the ingest tables: each table is
rebuilt (renamed aside, recreated partitioned with a DEFAULT partition and one per month its
rows touch plus the current month and three ahead, refilled, its indexes and constraints given
back under the same names; costapp.core.partition_sql). The primary key becomes (id, hour);
Django's model state is untouched (its pk stays `id`), hence a RunPython and no state operation.
Nothing references these tables by foreign key.

The daily rollups (attribution_rollup_day, _share_day, _peak_day) stay plain tables: about 24
times smaller than the hourly ones, deleted and rewritten by day through their (day, ...)
indexes; a month partition of them would hold a few thousand rows.

The statement triggers that mark the rollups stale on a write outside the engine (0009, with
transition tables) go with the old table and are created again on the new parent, where
PostgreSQL allows statement triggers with transition tables: a statement on the parent fires
them once, whichever partitions it reaches. A statement addressed to one partition directly does
not; nothing in the application does that (costapp.core.partitions marks a dropped month stale
itself). The copy into the new table fires nothing: its rollups are already current.

Reversible: the reverse rebuilds plain tables with `id` as primary key, triggers again.
"""

from django.db import migrations

from costapp.core.partition_sql import rebuild

TABLES = (
    ("attribution_allocation", "hour", "id"),
    ("attribution_rollup_hour", "hour", "id"),
    ("attribution_rollup_share_hour", "hour", "id"),
    ("attribution_rollup_poolteam", "hour", "id"),
)

# 0009's triggers, as they stand (the function attribution_rollup_mark_stale is kept).
TRIGGERS = """
CREATE TRIGGER attribution_rollup_stale_on_insert AFTER INSERT ON attribution_allocation
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION attribution_rollup_mark_stale();
CREATE TRIGGER attribution_rollup_stale_on_update AFTER UPDATE ON attribution_allocation
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION attribution_rollup_mark_stale();
CREATE TRIGGER attribution_rollup_stale_on_delete AFTER DELETE ON attribution_allocation
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION attribution_rollup_mark_stale();
CREATE TRIGGER attribution_rollup_stale_on_truncate AFTER TRUNCATE ON attribution_allocation
    FOR EACH STATEMENT EXECUTE FUNCTION attribution_rollup_mark_stale();
"""


def _rebuild_all(schema_editor, partitioned: bool) -> None:
    with schema_editor.connection.cursor() as cursor:
        for table, key, pk in TABLES:
            rebuild(cursor, table, key, pk, partitioned=partitioned)
        cursor.execute(TRIGGERS)


def partition(apps, schema_editor) -> None:
    _rebuild_all(schema_editor, partitioned=True)


def unpartition(apps, schema_editor) -> None:
    _rebuild_all(schema_editor, partitioned=False)


class Migration(migrations.Migration):
    dependencies = [
        ("attribution", "0009_rollup_stale_windows_peak_hours"),
    ]

    operations = [migrations.RunPython(partition, unpartition, elidable=False)]
