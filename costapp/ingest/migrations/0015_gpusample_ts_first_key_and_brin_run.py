"""GpuSample keeps two B-trees instead of four: the unique reading key, now (ts, gpu_uuid,
mig_instance), serves the ts reads too; run_id gets a BRIN index.

Every COPY of readings paid for four B-trees: the primary key (id, ts), the unique
(gpu_uuid, mig_instance, ts) that keeps one reading per GPU and instant, ts and run_id.
Measured with psql's \\copy of the same 49,920 readings (7 runs each on the shared 2-core
machine, medians): a plain table 0.35 s, the old table 1.10 s, the same columns with the key
in (ts, gpu_uuid, mig_instance) order and no ts B-tree 0.76 s. The old key inserted into the
middle of the tree (256 GPUs, each its own insertion point), splitting pages; readings
arrive in time order, so a ts-first key grows at its right edge.

Reads: attribution reads a window by ts range (costapp/attribution/steps.py); a ts-first key
is the index it uses, as the ts B-tree was (on 1.3M readings, 64 GPUs a minute for 14 days:
a day's window 100-180 ms, 3 hours 10-35 ms, either way). ON CONFLICT (gpu_uuid,
mig_instance, ts) infers the same key whatever its column order. A run's readings are deleted
by run_id: they are written together, so BRIN finds them (2 ms for 3,840 readings) with a
48 kB index per month partition where the B-tree was 8 MB.
"""

import django.contrib.postgres.indexes
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0014_hot_tables_without_run_fk_checks"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="gpusample",
            name="gpusample_unique_reading",
        ),
        migrations.AddConstraint(
            model_name="gpusample",
            constraint=models.UniqueConstraint(
                fields=("ts", "gpu_uuid", "mig_instance"), name="gpusample_unique_reading"
            ),
        ),
        migrations.RemoveIndex(
            model_name="gpusample",
            name="ingest_gpus_ts_e9258c_idx",
        ),
        migrations.AlterField(
            model_name="gpusample",
            name="run",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="gpu_samples",
                to="ingest.ingestionrun",
            ),
        ),
        migrations.AddIndex(
            model_name="gpusample",
            index=django.contrib.postgres.indexes.BrinIndex(
                fields=["run"], name="gpusample_run_brin"
            ),
        ),
    ]
