"""Adds the B200 instance that has a published on-demand price we could trace: AWS p6-b200.

p6-b200.48xlarge became generally available on 2025-05-15, after AWS's June 2025 P4/P5 price
cut was announced, so its row is dated 2025-06-01 while the other AWS rows of 0002 keep their
2024-12-01 prices (higher than today's): compare B200 with H100 on AWS only after refreshing the
P5 row. The figure is the us-east-1 Linux on-demand rate as it appears in public price data
copied from AWS's price list; it was not read from AWS's page itself, hence the note.

Google's a4-highgpu-8g (also 8 x B200) is not seeded: no on-demand figure could be traced to a
source, and Google sells A4 mostly through reservations, Flex-start and Spot. The Google
catalog refresh (`costapp.whatif.catalog_prices`) writes its row from the catalog's B200, A4 core
and A4 memory SKUs when it runs with credentials.
"""

from datetime import date
from decimal import Decimal

from django.db import migrations

AS_OF = date(2025, 6, 1)
AWS = "https://aws.amazon.com/ec2/pricing/on-demand/"
NOTE = ("AWS on-demand price list as of 2025-06 (us-east-1, Linux), as reproduced in public "
        "price data, not read from AWS's page: verify before use")  # fmt: skip

# provider, instance type, GPU type, GPUs, region, on-demand USD per instance-hour, source
GPU_PRICES = [
    ("AWS", "p6-b200.48xlarge", "B200", 8, "us-east-1", "113.9328", AWS),
]


def load(apps, schema_editor):
    gpu = apps.get_model("whatif", "GpuInstancePrice")
    for provider, instance, gpu_type, count, region, price, source in GPU_PRICES:
        row = gpu.objects.filter(provider=provider, instance_type=instance, region=region).first()
        if row is not None and row.origin == "manual":
            continue  # someone already typed this price in: theirs stands
        gpu.objects.update_or_create(
            provider=provider,
            instance_type=instance,
            region=region,
            defaults=dict(
                gpu_type=gpu_type, gpu_count=count, hourly_price=Decimal(price), source=source,
                as_of=AS_OF, note=NOTE, origin="seed",
            ),
        )  # fmt: skip


def unload(apps, schema_editor):
    gpu = apps.get_model("whatif", "GpuInstancePrice")
    for provider, instance, *_ in GPU_PRICES:
        gpu.objects.filter(provider=provider, instance_type=instance, origin="seed").delete()


class Migration(migrations.Migration):
    dependencies = [("whatif", "0004_gpu_price_origin")]
    operations = [migrations.RunPython(load, unload)]
