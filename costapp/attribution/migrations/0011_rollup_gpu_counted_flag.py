"""The hourly and daily allocation rollups get `gpu_counted` (Allocation.gpu_count set, with no
inventory look-up), so the fleet page reads the rollups and keeps its figures exactly.

Adding the column to the partitioned attribution_rollup_hour adds it to every partition. The
rollups already written hold `false` there, which is wrong for the engine's GPU lines: a stale
mark over every hour (when there are allocations) makes the next read rebuild them
(costapp.attribution.rollups.ensure_current).

A partial index on the allocations' unmeasured and inferred rows: where the fleet's list of GPUs
without telemetry (per resource, so from the raw rows) starts.
"""

from django.db import migrations, models

MARK_ALL_STALE = """
INSERT INTO attribution_rollup_stale (at, first_hour, last_hour)
SELECT now(), NULL, NULL WHERE EXISTS (SELECT 1 FROM attribution_allocation)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("attribution", "0010_partition_allocations_and_hourly_rollups_by_month"),
    ]

    operations = [
        migrations.AddField(
            model_name="allocationday",
            name="gpu_counted",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="allocationhour",
            name="gpu_counted",
            field=models.BooleanField(default=False),
        ),
        migrations.AddIndex(
            model_name="allocation",
            index=models.Index(
                condition=models.Q(kind="unmeasured") | models.Q(utilization_source="inferred"),
                fields=["hour"],
                name="allocation_unmeasured_hour",
            ),
        ),
        migrations.RunSQL(MARK_ALL_STALE, migrations.RunSQL.noop, elidable=False),
    ]
