"""GPU list prices from Google's Cloud Billing Catalog (google-cloud-billing's CloudCatalogClient).

Compute Engine's GPU SKUs ("Nvidia Tesla A100 GPU running in Americas", "Nvidia L4 GPU attached
to Spot Preemptible VMs ...") become GpuPrice rows, one per SKU and region: the on-demand (and
spot, commitment) price of one GPU-hour, which what-if compares against what was billed. The
same refresh writes the Google rows of the what-if price table (whole instances: GPUs + vCPUs +
memory, see costapp.whatif.catalog_prices), in the same transaction.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from costapp.ingest.errors import IngestError
from costapp.whatif import catalog_prices

from .bigquery import google_faults
from .models import GpuPrice

log = logging.getLogger(__name__)

PROVIDER = "Google Cloud"
COMPUTE_ENGINE = "Compute Engine"
# GPU models by the names Google's SKU descriptions use ("Nvidia Tesla A100", "Nvidia H100 80GB").
GPU_MODEL = re.compile(
    r"\bNvidia\b.*?\b(B200|GB200|H200|H100|A100|L40S|L4|T4|V100|P100|P4|K80|RTX ?PRO ?6000)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SkuPrice:
    sku_id: str
    description: str
    region: str
    unit_price: Decimal
    currency: str
    unit: str
    usage_type: str


def catalog_client(api_endpoint: str | None = None, credentials=None, api_key: str | None = None):
    """The REST transport: plain HTTPS+JSON, which an emulator or a test server can answer."""
    from google.cloud.billing_v1 import CloudCatalogClient

    options = {}
    if api_endpoint:
        options["api_endpoint"] = api_endpoint
    if api_key:
        options["api_key"] = api_key
    return CloudCatalogClient(
        transport="rest", credentials=credentials, client_options=options or None
    )


def money(units: int | str, nanos: int) -> Decimal:
    """google.type.Money: whole units plus nanos (10^-9), exactly."""
    return Decimal(int(units)) + Decimal(int(nanos)).scaleb(-9)


def is_gpu(sku) -> bool:
    return sku.category.resource_group == "GPU" or bool(GPU_MODEL.search(sku.description))


def gpu_skus(client, currency: str = "USD") -> Iterator[SkuPrice]:
    return priced_skus(client, is_gpu, currency)


def is_wanted(sku) -> bool:
    """A GPU SKU, or a vCPU/memory SKU the what-if table's Google machine types are made of."""
    return is_gpu(sku) or catalog_prices.is_machine_sku(sku.description)


def priced_skus(
    client, keep: Callable[[object], bool], currency: str = "USD"
) -> Iterator[SkuPrice]:
    """The Compute Engine SKUs `keep` accepts, one SkuPrice per region, at their first paid
    tier."""
    with google_faults("Cloud Billing Catalog"):
        service = next(
            (s for s in client.list_services() if s.display_name == COMPUTE_ENGINE), None
        )
        if service is None:
            raise IngestError(f"the billing catalog lists no {COMPUTE_ENGINE} service")
        for sku in client.list_skus(request={"parent": service.name, "currency_code": currency}):
            if not keep(sku) or not sku.pricing_info:
                continue
            expression = sku.pricing_info[0].pricing_expression
            rates = [r for r in expression.tiered_rates if r.unit_price.units or r.unit_price.nanos]
            if not rates:
                continue  # a free tier only: no list price to compare with
            price = rates[0].unit_price
            for region in sku.service_regions or [""]:
                yield SkuPrice(
                    sku_id=sku.sku_id,
                    description=sku.description,
                    region=region,
                    unit_price=money(price.units, price.nanos),
                    currency=price.currency_code or currency,
                    unit=expression.usage_unit,
                    usage_type=sku.category.usage_type,
                )


def refresh_gpu_prices(client=None, currency: str = "USD") -> int:
    """Fetch every GPU SKU's price and upsert it, and refresh the what-if table's Google rows
    from the same answer; returns how many (SKU, region) GPU prices."""
    client = client or catalog_client()
    fetched_at = timezone.now()
    skus = list(priced_skus(client, is_wanted, currency))
    prices = [
        GpuPrice(provider=PROVIDER, fetched_at=fetched_at, **asdict(p))
        for p in skus
        if not catalog_prices.is_machine_sku(p.description)
    ]
    with transaction.atomic():
        GpuPrice.objects.bulk_create(
            prices,
            update_conflicts=True,
            unique_fields=["provider", "sku_id", "region"],
            update_fields=[
                "description",
                "unit_price",
                "currency",
                "unit",
                "usage_type",
                "fetched_at",
            ],
        )
        whatif = catalog_prices.refresh_google_prices(skus, fetched_at.date(), currency)
    log.info("what-if Google prices: %d updated, %d created, %d kept as edited by hand, "
             "%d not priced by the catalog", len(whatif.updated), len(whatif.created),
             len(whatif.kept_manual), len(whatif.skipped))  # fmt: skip
    return len(prices)
