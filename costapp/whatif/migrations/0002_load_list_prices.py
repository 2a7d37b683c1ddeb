"""Loads the published list prices the what-if starts from (editable in the admin afterwards).

Read from each provider's public pricing page as known at `as_of`; prices change (AWS cut its
P4 and P5 on-demand prices in June 2025, for one): verify before use. The data lives here, not
in app code, so this migration keeps loading the same rows whatever the code becomes.
"""

from datetime import date
from decimal import Decimal

from django.db import migrations

GPU_AS_OF = date(2024, 12, 1)
HOSTED_AS_OF = date(2025, 6, 1)
VERIFY = "published list price as of the date shown; verify before use"
AWS = "https://aws.amazon.com/ec2/pricing/on-demand/"
GCP = "https://cloud.google.com/compute/gpus-pricing"
AZURE = "https://azure.microsoft.com/pricing/details/virtual-machines/linux/"
OCI = "https://www.oracle.com/cloud/compute/gpu/pricing/"

# provider, instance type, GPU type, GPUs, region, on-demand USD per instance-hour, source
GPU_PRICES = [
    ("AWS", "p4d.24xlarge", "A100-40GB", 8, "us-east-1", "32.7726", AWS),
    ("AWS", "p4de.24xlarge", "A100-80GB", 8, "us-east-1", "40.9657", AWS),
    ("AWS", "p5.48xlarge", "H100", 8, "us-east-1", "98.32", AWS),
    ("AWS", "g5.xlarge", "A10G", 1, "us-east-1", "1.006", AWS),
    ("AWS", "g5.12xlarge", "A10G", 4, "us-east-1", "5.672", AWS),
    ("AWS", "g5.48xlarge", "A10G", 8, "us-east-1", "16.288", AWS),
    ("AWS", "g6.xlarge", "L4", 1, "us-east-1", "0.8048", AWS),
    ("AWS", "g6.12xlarge", "L4", 4, "us-east-1", "4.6016", AWS),
    ("AWS", "g6e.xlarge", "L40S", 1, "us-east-1", "1.861", AWS),
    ("AWS", "g6e.12xlarge", "L40S", 4, "us-east-1", "10.493", AWS),
    ("Google Cloud", "a2-highgpu-1g", "A100-40GB", 1, "us-central1", "3.673385", GCP),
    ("Google Cloud", "a2-highgpu-8g", "A100-40GB", 8, "us-central1", "29.387078", GCP),
    ("Google Cloud", "a2-ultragpu-1g", "A100-80GB", 1, "us-central1", "5.068768", GCP),
    ("Google Cloud", "a2-ultragpu-8g", "A100-80GB", 8, "us-central1", "40.550144", GCP),
    ("Google Cloud", "a3-highgpu-8g", "H100", 8, "us-central1", "88.253735", GCP),
    ("Google Cloud", "g2-standard-4", "L4", 1, "us-central1", "0.706832", GCP),
    ("Microsoft Azure", "Standard_NC24ads_A100_v4", "A100-80GB", 1, "eastus", "3.673", AZURE),
    ("Microsoft Azure", "Standard_ND96asr_v4", "A100-40GB", 8, "eastus", "27.197", AZURE),
    ("Microsoft Azure", "Standard_ND96amsr_A100_v4", "A100-80GB", 8, "eastus", "32.77", AZURE),
    ("Microsoft Azure", "Standard_ND96isr_H100_v5", "H100", 8, "eastus", "98.32", AZURE),
    ("Microsoft Azure", "Standard_NC40ads_H100_v5", "H100-NVL", 1, "eastus", "6.98", AZURE),
    ("Oracle Cloud", "BM.GPU.H100.8", "H100", 8, "all regions", "80.00", OCI),
    ("Oracle Cloud", "BM.GPU.A100-v2.8", "A100-80GB", 8, "all regions", "32.00", OCI),
    ("Oracle Cloud", "BM.GPU4.8", "A100-40GB", 8, "all regions", "24.40", OCI),
    ("Oracle Cloud", "BM.GPU.L40S.4", "L40S", 4, "all regions", "14.00", OCI),
    ("Oracle Cloud", "VM.GPU.A10.1", "A10", 1, "all regions", "2.00", OCI),
]

OPENAI = "https://openai.com/api/pricing/"
ANTHROPIC = "https://www.anthropic.com/pricing#api"
GEMINI = "https://ai.google.dev/gemini-api/docs/pricing"
# provider, model, USD per 1M input tokens, per 1M output tokens, source
HOSTED_PRICES = [
    ("OpenAI", "gpt-4o", "2.50", "10.00", OPENAI),
    ("OpenAI", "gpt-4o-mini", "0.15", "0.60", OPENAI),
    ("OpenAI", "gpt-4.1", "2.00", "8.00", OPENAI),
    ("OpenAI", "gpt-4.1-mini", "0.40", "1.60", OPENAI),
    ("Anthropic", "claude-3-5-haiku", "0.80", "4.00", ANTHROPIC),
    ("Anthropic", "claude-sonnet-4", "3.00", "15.00", ANTHROPIC),
    ("Google", "gemini-2.0-flash", "0.10", "0.40", GEMINI),
]


def load(apps, schema_editor):
    gpu = apps.get_model("whatif", "GpuInstancePrice")
    hosted = apps.get_model("whatif", "HostedModelPrice")
    for provider, instance, gpu_type, count, region, price, source in GPU_PRICES:
        gpu.objects.update_or_create(
            provider=provider,
            instance_type=instance,
            region=region,
            defaults=dict(
                gpu_type=gpu_type, gpu_count=count, hourly_price=Decimal(price),
                source=source, as_of=GPU_AS_OF, note=VERIFY,
            ),
        )  # fmt: skip
    for provider, model, price_in, price_out, source in HOSTED_PRICES:
        hosted.objects.update_or_create(
            model=model,
            defaults=dict(
                provider=provider, input_per_1m=Decimal(price_in),
                output_per_1m=Decimal(price_out), source=source, as_of=HOSTED_AS_OF, note=VERIFY,
            ),
        )  # fmt: skip


def unload(apps, schema_editor):
    apps.get_model("whatif", "GpuInstancePrice").objects.filter(as_of=GPU_AS_OF).delete()
    apps.get_model("whatif", "HostedModelPrice").objects.filter(as_of=HOSTED_AS_OF).delete()


class Migration(migrations.Migration):
    dependencies = [("whatif", "0001_prices_and_scenarios")]
    operations = [migrations.RunPython(load, unload)]
