# Written by hand (makemigrations could not import the tree while the Gpu* models move):
# three additive CostLine columns for FOCUS InvoiceId and 1.3 split cost allocation.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0009_run_attribution_error_and_running"),
    ]

    operations = [
        migrations.AddField(
            model_name="costline",
            name="invoice_id",
            field=models.CharField(blank=True, max_length=200, null=True),
        ),
        migrations.AddField(
            model_name="costline",
            name="allocated_method_id",
            field=models.CharField(blank=True, default="", max_length=200),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="costline",
            name="allocated_resource_id",
            field=models.TextField(blank=True, default=""),
            preserve_default=False,
        ),
    ]
