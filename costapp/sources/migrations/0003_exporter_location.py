"""Sources: the DCGM exporter location kind (scraped directly)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sources", "0002_source_state_gpuprice"),
    ]

    operations = [
        migrations.AlterField(
            model_name="source",
            name="location",
            field=models.TextField(
                blank=True, help_text="folder, s3://bucket/prefix, table, URL, or exporter URLs"
            ),
        ),
        migrations.AlterField(
            model_name="source",
            name="location_kind",
            field=models.CharField(
                choices=[
                    ("local", "Local folder"),
                    ("s3", "S3 prefix"),
                    ("bigquery", "BigQuery table"),
                    ("prometheus", "Prometheus HTTP API"),
                    ("exporter", "DCGM exporter /metrics (scraped)"),
                    ("push", "Pushed over HTTP"),
                ],
                max_length=16,
            ),
        ),
    ]
