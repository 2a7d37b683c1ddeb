"""Source.last_checked_at: when a poll last read the location cleanly."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sources", "0003_exporter_location"),
    ]

    operations = [
        migrations.AddField(
            model_name="source",
            name="last_checked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
