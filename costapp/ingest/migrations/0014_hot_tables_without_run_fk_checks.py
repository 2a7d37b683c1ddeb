"""GpuSample and SeenRequest keep their run, without a database foreign key.

A deferred FK queues one check per inserted row and runs them all at commit: for a delivery of
100k request ids that took as long as writing the ids (bench ingest). Only ingest() writes these
rows, with the run it has just created; deleting a run still cascades through Django.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0013_partition_ingest_tables_by_month"),
    ]

    operations = [
        migrations.AlterField(
            model_name="gpusample",
            name="run",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="gpu_samples",
                to="ingest.ingestionrun",
            ),
        ),
        migrations.AlterField(
            model_name="seenrequest",
            name="run",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="ingest.ingestionrun",
            ),
        ),
    ]
