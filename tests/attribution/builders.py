"""Small builders for attribution tests: cost lines, GPU resources, samples and usage rollups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from costapp.attribution.models import GpuPool, GpuResource
from costapp.ingest.models import CostLine, GpuSample, IngestionRun, UsageRollup

H0 = datetime(2026, 11, 1, 10, tzinfo=UTC)


def hour(n: int = 0) -> datetime:
    return H0 + timedelta(hours=n)


def run() -> IngestionRun:
    existing = IngestionRun.objects.filter(location="builders").first()
    return existing or IngestionRun.objects.create(format="test", location="builders")


def gpu_resource(resource_id: str = "i-gpu", gpus: int = 8, pool: str = "aws/us-east-1/H100"):
    pool_row, _ = GpuPool.objects.get_or_create(name=pool)
    return GpuResource.objects.create(
        resource_id=resource_id,
        provider="AWS",
        region="us-east-1",
        instance_type="p5.48xlarge",
        gpu_type="H100",
        gpu_count=gpus,
        pool=pool_row,
    )


def cost_line(
    resource_id: str = "i-gpu",
    cost: str | Decimal = "100",
    billed: str | Decimal | None = None,
    start: datetime | None = None,
    hours: int = 1,
    category: str = "Usage",
    pricing: str = "Standard",
    tags: dict | None = None,
    service: str = "Amazon EC2",
) -> CostLine:
    start = start or H0
    return CostLine.objects.create(
        run=run(),
        stream="test",
        provider="AWS",
        billing_period_start=start.replace(day=1, hour=0),
        billing_period_end=start.replace(day=28, hour=0),
        charge_period_start=start,
        charge_period_end=start + timedelta(hours=hours),
        charge_category=category,
        service_name=service,
        region="us-east-1",
        resource_id=resource_id,
        resource_type="p5.48xlarge",
        pricing_category=pricing,
        billed_cost=Decimal(billed if billed is not None else cost),
        effective_cost=Decimal(cost),
        billing_currency="USD",
        tags=tags or {},
        source_file="bill.csv",
        source_row=CostLine.objects.count() + 1,
    )


def samples(resource_id: str, at: datetime, utilizations: list[str], gpus: int = 1) -> None:
    """One reading per utilization value (spread over the hour) for each of `gpus` GPUs."""
    step = timedelta(minutes=60 // max(len(utilizations), 1))
    for gpu in range(gpus):
        for i, value in enumerate(utilizations):
            GpuSample.objects.create(
                run=run(),
                ts=at + i * step,
                gpu_uuid=f"GPU-{resource_id}-{gpu}",
                gpu_index=gpu,
                hostname=f"host-{resource_id}",
                resource_id=resource_id,
                utilization=Decimal(value),
                source_file="dcgm.prom",
                source_row=i,
            )


def usage(
    team: str,
    at: datetime | None = None,
    resource_id: str = "i-gpu",
    model: str = "llama-70b",
    endpoint: str = "/v1/chat",
    requests: int = 0,
    input_tokens: int = 0,
    output_tokens: int = 0,
    gpu_seconds: str | Decimal | None = None,
) -> UsageRollup:
    return UsageRollup.objects.create(
        run=run(),
        hour=at or H0,
        team=team,
        model=model,
        endpoint=endpoint,
        resource_id=resource_id,
        requests=requests,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        gpu_seconds=Decimal(gpu_seconds) if gpu_seconds is not None else None,
    )
