"""Indexes for freshness: each source's newest run and data coverage by index probe."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0006_seenrequest_hour_brin"),
        ("sources", "0004_source_last_checked"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ingestionrun",
            index=models.Index(fields=["source", "-started_at", "-id"], name="run_source_newest"),
        ),
        migrations.AddIndex(
            model_name="ingestionrun",
            index=models.Index(
                fields=["source", "status", "-started_at", "-id"], name="run_source_status_newest"
            ),
        ),
        migrations.AddIndex(
            model_name="ingestionrun",
            index=models.Index(fields=["source", "status", "data_end"], name="run_source_data_end"),
        ),
    ]
