"""Who last wrote each GPU price row: the Google catalog refresh overwrites seed and catalog
rows, never a row edited by hand.

Rows still exactly as migration 0002 loaded them become `seed`; any other existing row was
typed in or changed in the admin, so it stays `manual` (the field's default, which the admin's
new rows get too).
"""

import importlib
from decimal import Decimal

from django.db import migrations, models

SEED = importlib.import_module("costapp.whatif.migrations.0002_load_list_prices")


def mark_seed_rows(apps, schema_editor):
    gpu = apps.get_model("whatif", "GpuInstancePrice")
    for provider, instance, gpu_type, count, region, price, source in SEED.GPU_PRICES:
        gpu.objects.filter(
            provider=provider, instance_type=instance, region=region, gpu_type=gpu_type,
            gpu_count=count, hourly_price=Decimal(price), source=source, as_of=SEED.GPU_AS_OF,
        ).update(origin="seed")  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [("whatif", "0003_recommendations")]

    operations = [
        migrations.AddField(
            model_name="gpuinstanceprice",
            name="origin",
            field=models.CharField(
                choices=[
                    ("seed", "Published list price loaded by a migration"),
                    ("catalog", "Google Cloud Billing Catalog refresh"),
                    ("manual", "Edited by hand"),
                ],
                default="manual",
                help_text="manual rows are never overwritten by the Google catalog refresh; "
                "set 'catalog' to hand a Google row back to it",
                max_length=10,
            ),
        ),
        migrations.RunPython(mark_seed_rows, migrations.RunPython.noop),
    ]
