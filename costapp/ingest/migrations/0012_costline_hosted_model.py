# Four additive CostLine columns for hosted-model lines (issue 17): provider, model id, token
# direction and token count. Database defaults keep older writers (COPY without the columns)
# inserting.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0011_gpu_inventory_moved_to_attribution"),
    ]

    operations = [
        migrations.AddField(
            model_name="costline",
            name="hosted_provider",
            field=models.CharField(blank=True, db_default="", default="", max_length=50),
        ),
        migrations.AddField(
            model_name="costline",
            name="hosted_model",
            field=models.CharField(blank=True, db_default="", default="", max_length=200),
        ),
        migrations.AddField(
            model_name="costline",
            name="token_direction",
            field=models.CharField(blank=True, db_default="", default="", max_length=16),
        ),
        migrations.AddField(
            model_name="costline",
            name="token_count",
            field=models.BigIntegerField(blank=True, null=True),
        ),
    ]
