"""Partition the four big ingest tables by month (PostgreSQL declarative partitioning).

Each table is rebuilt: renamed aside, recreated as a partitioned table with the same columns
(LIKE: defaults, identity, storage; so columns another migration adds before this one come
along, and ALTER TABLE on the parent reaches every partition for those added after), given a
DEFAULT partition (no insert ever fails for want of a month) and one partition per month its
rows touch plus the current month and three ahead, refilled, then given back the same
constraints, foreign keys and indexes under the same names (read from the catalog, so the
names Django's later migrations refer to stay valid). The identity sequence continues where
the old one stopped.

A partitioned table's unique constraints must include its partition key, so the primary key
becomes (id, key), and (request_id, hour) for SeenRequest; Django's model state is untouched
(its pk stays `id`, `request_id`), which is why this is a RunPython of SQL and no state
operation. What that means for counting each request once is in costapp/ingest/retention.py.

New months are added ahead by costapp.core.partitions.ensure_partitions (a daily beat task);
its naming (<table>_pYYYYMM, <table>_default) is the one used here. Reversible: the reverse
rebuilds plain tables with the original primary keys.
"""

from django.db import migrations

# The rebuild is shared with attribution 0010 (costapp.core.partition_sql, whose functions
# keep their behaviour for the migrations that run them).
from costapp.core.partition_sql import rebuild

# (table, partition key, the primary key Django knows). CostLine is partitioned by billing
# period, not charge period: a restatement replaces one billing period of one stream
# (DELETE ... WHERE billing_period_start = X prunes to one partition), a bill is kept or
# dropped whole, and attribution's read (charge_period_start < end AND charge_period_end >=
# start) has no lower bound on charge_period_start that charge-period partitions could prune by.
TABLES = (
    ("ingest_costline", "billing_period_start", "id"),
    ("ingest_gpusample", "ts", "id"),
    ("ingest_usagerollup", "hour", "id"),
    ("ingest_seenrequest", "hour", "request_id"),
)


def partition(apps, schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        for table, key, pk in TABLES:
            rebuild(cursor, table, key, pk, partitioned=True)


def unpartition(apps, schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        for table, key, pk in TABLES:
            rebuild(cursor, table, key, pk, partitioned=False)


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0012_costline_hosted_model"),
    ]

    operations = [migrations.RunPython(partition, unpartition, elidable=False)]
