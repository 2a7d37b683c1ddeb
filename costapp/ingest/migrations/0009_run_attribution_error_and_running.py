"""Attribution failures recorded on runs, and partial indexes for them and for running runs."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0008_run_pending_index"),
        ("sources", "0004_source_last_checked"),
    ]

    operations = [
        migrations.AddField(
            model_name="ingestionrun",
            name="attribution_error",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="ingestionrun",
            name="attribution_failed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="ingestionrun",
            index=models.Index(
                condition=models.Q(("attribution_error", ""), _negated=True),
                fields=["-started_at"],
                name="run_attribution_error",
            ),
        ),
        migrations.AddIndex(
            model_name="ingestionrun",
            index=models.Index(
                condition=models.Q(("status", "running")), fields=["started_at"], name="run_running"
            ),
        ),
    ]
