"""A partial index on the runs attribution has yet to take."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0007_run_freshness_indexes"),
        ("sources", "0004_source_last_checked"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ingestionrun",
            index=models.Index(
                condition=models.Q(("attributed_at__isnull", True), ("status", "succeeded")),
                fields=["id"],
                name="run_pending_attribution",
            ),
        ),
    ]
