"""A BRIN index on SeenRequest.hour, for pruning ids past the retention window."""

import django.contrib.postgres.indexes
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0005_loadedbill_run_warnings"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="seenrequest",
            index=django.contrib.postgres.indexes.BrinIndex(
                fields=["hour"], name="seenrequest_hour_brin"
            ),
        ),
    ]
