"""Google rows of the what-if price table, written from the Cloud Billing Catalog.

Google bills an accelerator-optimized machine as its parts: the GPUs, the vCPUs and the memory,
each a SKU per region (the a2-highgpu-1g seed row is exactly 1 A100 + 12 A2 vCPUs + 85 GiB of
A2 memory). `GpuInstancePrice` holds whole instances, like the AWS, Azure and OCI rows beside
it, so a refreshed row is GPU SKU x GPUs + core SKU x vCPUs + RAM SKU x GiB, at the on-demand
rate; the Local SSD that A3 and A4 bundle is left out (say so in the row's note). Only the
machine types of `SHAPES` are written: their vCPUs and memory are Google's published shapes.

Which rows: every Google row of a machine type in `SHAPES`, plus one per such machine type in
each region of settings.WHATIF_GOOGLE_REGIONS (created when missing). A row whose origin is
`manual` (typed or changed in the admin) is never overwritten: a negotiated or corrected price
outranks the public list. Seed and catalog rows are. A row whose parts the catalog does not
price in its region (or prices twice, differently) is left as it was and reported.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings

from costapp.attribution import gpu_catalog

from .models import GpuInstancePrice, PriceOrigin

if TYPE_CHECKING:
    from costapp.sources.catalog import SkuPrice

log = logging.getLogger(__name__)

PROVIDER = "Google Cloud"
SOURCE = "Google Cloud Billing Catalog API"
ON_DEMAND = "OnDemand"
NOTE = ("on-demand list price from the catalog: GPUs + vCPUs + memory SKUs (bundled Local SSD "
        "not included); verify before use")  # fmt: skip

# Google's GPU SKU descriptions for on-demand use ("Nvidia Tesla A100 GPU running in Americas");
# Spot, commitment and virtual-workstation SKUs read differently and never match.
_GPU_SKU = {
    "A100-40GB": r"Nvidia Tesla A100 GPU running in ",
    "A100-80GB": r"Nvidia Tesla A100 80GB GPU running in ",
    "H100": r"Nvidia H100 80GB GPU running in ",
    "B200": r"Nvidia B200(?: \d+GB)? GPU running in ",
    "L4": r"Nvidia L4 GPU running in ",
}
_MACHINE_SKU = re.compile(r"(A2|A3|A4|G2) Instance (Core|Ram) running in ")


@dataclass(frozen=True)
class MachineShape:
    series: str  # the machine series' core and RAM SKUs: "A2 Instance Core running in ..."
    vcpus: int
    memory_gib: int


# Google's published shapes (accelerator-optimized machine family documentation).
SHAPES: dict[str, MachineShape] = {
    "a2-highgpu-1g": MachineShape("A2", 12, 85),
    "a2-highgpu-8g": MachineShape("A2", 96, 680),
    "a2-ultragpu-1g": MachineShape("A2", 12, 170),
    "a2-ultragpu-8g": MachineShape("A2", 96, 1360),
    "a3-highgpu-8g": MachineShape("A3", 208, 1872),
    "a4-highgpu-8g": MachineShape("A4", 224, 3968),
    "g2-standard-4": MachineShape("G2", 4, 16),
}


@dataclass
class CatalogRefresh:
    updated: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    kept_manual: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # "instance (region)" -> why


def is_machine_sku(description: str) -> bool:
    """A vCPU or memory SKU of a machine series the table prices (the refresh needs these
    beside the GPU SKUs)."""
    return bool(_MACHINE_SKU.match(description))


def _component(description: str) -> str | None:
    """The component a SKU prices ("gpu:H100", "core:A3", "ram:A3"), or None."""
    machine = _MACHINE_SKU.match(description)
    if machine:
        return f"{machine.group(2).lower()}:{machine.group(1)}"
    for gpu_type, pattern in _GPU_SKU.items():
        if re.match(pattern, description):
            return f"gpu:{gpu_type}"
    return None


def _index(skus: Iterable[SkuPrice], currency: str) -> dict[tuple[str, str], list[SkuPrice]]:
    """On-demand SKUs by (component, region)."""
    index: dict[tuple[str, str], list[SkuPrice]] = defaultdict(list)
    for sku in skus:
        if sku.usage_type != ON_DEMAND or sku.currency != currency:
            continue
        component = _component(sku.description)
        if component:
            index[(component, sku.region)].append(sku)
    return index


@dataclass(frozen=True)
class _Priced:
    hourly: Decimal
    source: str


def _price(shape: MachineShape, gpu_type: str, gpus: int, region: str,
           index: dict[tuple[str, str], list[SkuPrice]]) -> _Priced | str:  # fmt: skip
    """The instance's hourly price from its three SKUs, or why there is none."""
    parts = (
        (f"gpu:{gpu_type}", gpus, "h", ""),
        (f"core:{shape.series}", shape.vcpus, "h", ""),
        (f"ram:{shape.series}", shape.memory_gib, "GiBy.h", " GiB"),
    )
    hourly, cited = Decimal(0), []
    for component, quantity, unit, suffix in parts:
        found = index.get((component, region), [])
        prices = {sku.unit_price for sku in found}
        if not found:
            return f"the catalog lists no on-demand {component} SKU in {region}"
        if len(prices) > 1:
            ids = ", ".join(sorted(sku.sku_id for sku in found))
            return f"several {component} SKUs in {region} at different prices ({ids})"
        sku = min(found, key=lambda s: s.sku_id)
        if sku.unit != unit:
            return f"SKU {sku.sku_id} is priced per {sku.unit!r}, not per {unit!r}"
        hourly += sku.unit_price * quantity
        cited.append(f"SKU {sku.sku_id} x {quantity}{suffix}")
    return _Priced(hourly, f"{SOURCE}, " + " + ".join(cited))


def refresh_google_prices(skus: Iterable[SkuPrice], as_of: date, currency: str = "USD",
                          regions: Sequence[str] | None = None) -> CatalogRefresh:  # fmt: skip
    """Write the Google rows of the price table from `skus` (the catalog's Compute Engine SKUs,
    GPU and machine ones; others are ignored), dated `as_of`. Call inside the transaction that
    stores the catalog's GPU prices, so both tables move together."""
    index = _index(skus, currency)
    regions = settings.WHATIF_GOOGLE_REGIONS if regions is None else regions
    existing = {
        (row.instance_type, row.region): row
        for row in GpuInstancePrice.objects.filter(provider=PROVIDER, instance_type__in=SHAPES)
    }
    wanted = set(existing) | {(instance, region) for instance in SHAPES for region in regions}
    result = CatalogRefresh()
    for instance, region in sorted(wanted):
        label = f"{instance} ({region})"
        row = existing.get((instance, region))
        if row is not None and row.origin == PriceOrigin.MANUAL:
            result.kept_manual.append(label)
            continue
        if row is not None and row.currency != currency:
            result.skipped[label] = f"the row is in {row.currency}, the catalog answered {currency}"
            continue
        gpu = gpu_catalog.lookup(instance)
        priced = _price(SHAPES[instance], gpu.gpu_model, gpu.gpu_count, region, index)
        if isinstance(priced, str):
            result.skipped[label] = priced
            continue
        values = dict(gpu_type=gpu.gpu_model, gpu_count=gpu.gpu_count, hourly_price=priced.hourly,
                      currency=currency, source=priced.source, as_of=as_of, note=NOTE,
                      origin=PriceOrigin.CATALOG)  # fmt: skip
        if row is None:
            GpuInstancePrice.objects.create(
                provider=PROVIDER, instance_type=instance, region=region, **values
            )
            result.created.append(label)
        else:
            GpuInstancePrice.objects.filter(pk=row.pk).update(**values)
            result.updated.append(label)
    for label, why in result.skipped.items():
        log.info("what-if price of %s not refreshed: %s", label, why)
    return result
