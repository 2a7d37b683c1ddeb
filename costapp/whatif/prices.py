"""Reads of the list-price tables: a GPU type's on-demand price per GPU-hour, a hosted model's
price per 1M tokens. The rows carry their source and date; callers show them beside the figure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .models import GpuInstancePrice, HostedModelPrice


@dataclass(frozen=True)
class GpuHourPrice:
    gpu_type: str
    per_gpu_hour: Decimal
    instance_type: str
    provider: str
    source: str
    as_of: date

    @property
    def citation(self) -> str:
        return f"{self.provider} {self.instance_type} list price, {self.source} ({self.as_of})"


def gpu_types() -> list[str]:
    return list(
        GpuInstancePrice.objects.order_by("gpu_type").values_list("gpu_type", flat=True).distinct()
    )


def gpu_hour_price(gpu_type: str, provider: str = "") -> GpuHourPrice | None:
    """The lowest listed on-demand price per GPU-hour of `gpu_type`, on `provider` when it
    lists that type (a move within one cloud), else on any."""
    rows = list(GpuInstancePrice.objects.filter(gpu_type=gpu_type))
    same = [row for row in rows if provider and row.provider.lower() == provider.lower()]
    candidates = same or rows
    if not candidates:
        return None
    best = min(candidates, key=lambda row: (row.per_gpu_hour, row.provider, row.instance_type))
    return GpuHourPrice(
        gpu_type, best.per_gpu_hour, best.instance_type, best.provider, best.source, best.as_of
    )


def hosted_models() -> list[HostedModelPrice]:
    return list(HostedModelPrice.objects.all())


def hosted_price(model: str) -> HostedModelPrice | None:
    return HostedModelPrice.objects.filter(model=model).first()
