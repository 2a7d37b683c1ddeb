"""The catalog refresh writes the what-if table's Google rows: whole instances from their GPU,
vCPU and memory SKUs, answered by a local server speaking the Cloud Billing Catalog's REST API
(the only thing faked: Google's endpoint). Hand-edited rows are never overwritten."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.contrib.auth import get_user_model
from django.forms.models import model_to_dict
from django.test import Client
from django.utils import timezone
from google.auth.credentials import AnonymousCredentials

from costapp.sources.catalog import catalog_client, refresh_gpu_prices
from costapp.sources.models import GpuPrice
from costapp.whatif.models import GpuInstancePrice, PriceOrigin
from tests.sources.servers import json_reply, serve

pytestmark = pytest.mark.django_db

COMPUTE = "6F81-5844-456A"
CENTRAL, EAST = "us-central1", "us-east1"


def _sku(sku_id, description, regions, price, unit="h", group="GPU", usage="OnDemand"):
    units, fraction = divmod(D(price), 1)
    return {
        "name": f"services/{COMPUTE}/skus/{sku_id}",
        "skuId": sku_id,
        "description": description,
        "category": {"serviceDisplayName": "Compute Engine", "resourceFamily": "Compute",
                     "resourceGroup": group, "usageType": usage},
        "serviceRegions": regions,
        "pricingInfo": [{"pricingExpression": {"usageUnit": unit, "tieredRates": [
            {"startUsageAmount": 0, "unitPrice": {
                "currencyCode": "USD", "units": str(units), "nanos": int(fraction * 10**9)}},
        ]}}],
    }  # fmt: skip


def _catalog(a100: str = "2.933908") -> list[dict]:
    return [
        _sku("A100-1", "Nvidia Tesla A100 GPU running in Americas", [CENTRAL, EAST], a100),
        # Cheaper, but Spot: never an on-demand price.
        _sku(
            "A100-SPOT",
            "Nvidia Tesla A100 GPU attached to Spot Preemptible VMs running in Americas",
            [CENTRAL],
            "0.88",
            usage="Preemptible",
        ),
        _sku("A2-CORE", "A2 Instance Core running in Americas", [CENTRAL], "0.031611", group="CPU"),
        _sku(
            "A2-RAM",
            "A2 Instance Ram running in Americas",
            [CENTRAL],
            "0.004237",
            unit="GiBy.h",
            group="RAM",
        ),
        _sku("B200-1", "Nvidia B200 GPU running in Americas", [CENTRAL], "10.5"),
        _sku("A4-CORE", "A4 Instance Core running in Americas", [CENTRAL], "0.04", group="CPU"),
        _sku(
            "A4-RAM",
            "A4 Instance Ram running in Americas",
            [CENTRAL],
            "0.005",
            unit="GiBy.h",
            group="RAM",
        ),
        _sku("L4-1", "Nvidia L4 GPU running in Americas", [CENTRAL], "0.56"),
        _sku("G2-CORE", "G2 Instance Core running in Americas", [CENTRAL], "0.024988", group="CPU"),
        _sku(
            "G2-RAM",
            "G2 Instance Ram running in Americas",
            [CENTRAL],
            "0.002927",
            unit="GiBy.h",
            group="RAM",
        ),
    ]


def _handler(skus: list[dict]):
    def handle(request):
        if request.path == "/v1/services":
            return json_reply({"services": [{"name": f"services/{COMPUTE}", "serviceId": COMPUTE,
                                             "displayName": "Compute Engine"}]})  # fmt: skip
        if request.path == f"/v1/services/{COMPUTE}/skus":
            return json_reply({"skus": skus})
        return json_reply({"error": {"code": 404, "message": "no"}}, 404)

    return handle


def _refresh(skus: list[dict]) -> int:
    with serve(_handler(skus)) as peer:
        return refresh_gpu_prices(catalog_client(peer.url, credentials=AnonymousCredentials()))


def _row(instance: str, region: str = CENTRAL) -> GpuInstancePrice:
    return GpuInstancePrice.objects.get(provider="Google Cloud", instance_type=instance,
                                        region=region)  # fmt: skip


def test_seeded_google_rows_become_the_catalogs_gpus_plus_vcpus_plus_memory(settings):
    settings.WHATIF_GOOGLE_REGIONS = [CENTRAL, EAST]
    seeded_ultra = model_to_dict(_row("a2-ultragpu-1g"))
    # The machine SKUs feed the what-if table only; GpuPrice keeps its GPU SKUs per region.
    assert _refresh(_catalog()) == 5
    assert set(GpuPrice.objects.values_list("sku_id", flat=True)) == {
        "A100-1", "A100-SPOT", "B200-1", "L4-1"}  # fmt: skip

    a2 = _row("a2-highgpu-1g")
    # 2.933908 + 12 x 0.031611 + 85 x 0.004237: the seed's own figure, now from the catalog.
    assert a2.hourly_price == D("3.673385")
    assert a2.source == ("Google Cloud Billing Catalog API, SKU A100-1 x 1 + SKU A2-CORE x 12 "
                         "+ SKU A2-RAM x 85 GiB")  # fmt: skip
    assert (a2.as_of, a2.origin) == (timezone.now().date(), PriceOrigin.CATALOG)
    assert "Local SSD not included" in a2.note
    # 8 x 2.933908 + 96 x 0.031611 + 680 x 0.004237
    assert _row("a2-highgpu-8g").hourly_price == D("29.38708")
    # Not seeded: created from the B200, A4 core and A4 memory SKUs. 84 + 8.96 + 19.84
    a4 = _row("a4-highgpu-8g")
    assert (a4.gpu_type, a4.gpu_count, a4.hourly_price) == ("B200", 8, D("112.8"))
    assert a4.per_gpu_hour == D("14.1")
    # No A100 80GB SKU: the seed row stays as it was; us-east1 has GPUs but no A2 vCPU SKU.
    assert model_to_dict(_row("a2-ultragpu-1g")) == seeded_ultra
    assert not GpuInstancePrice.objects.filter(region=EAST).exists()


def test_a_row_edited_by_hand_is_kept_and_catalog_rows_follow_the_catalog():
    _refresh(_catalog())
    negotiated = _row("g2-standard-4")
    negotiated.hourly_price, negotiated.source = D("0.5"), "our contract"
    negotiated.origin = PriceOrigin.MANUAL
    negotiated.save()

    _refresh(_catalog(a100="3"))

    assert _row("a2-highgpu-1g").hourly_price == D("3.739477")  # 3 + 0.379332 + 0.360145
    kept = _row("g2-standard-4")
    assert (kept.hourly_price, kept.source, kept.origin) == (D("0.5"), "our contract", "manual")


def test_an_admin_edit_makes_the_row_manual_so_the_refresh_leaves_it():
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw"))
    row = _row("a3-highgpu-8g")
    assert row.origin == PriceOrigin.SEED
    form = {k: v for k, v in model_to_dict(row).items() if k != "id"}
    response = client.post(f"/admin/whatif/gpuinstanceprice/{row.pk}/change/",
                           {**form, "hourly_price": "70"})  # fmt: skip
    assert response.status_code == 302
    assert _row("a3-highgpu-8g").origin == PriceOrigin.MANUAL

    h100 = _sku("H100-1", "Nvidia H100 80GB GPU running in Americas", [CENTRAL], "11")
    core = _sku("A3-CORE", "A3 Instance Core running in Americas", [CENTRAL], "0.03", group="CPU")
    ram = _sku("A3-RAM", "A3 Instance Ram running in Americas", [CENTRAL], "0.004",
               unit="GiBy.h", group="RAM")  # fmt: skip
    _refresh([h100, core, ram])
    assert _row("a3-highgpu-8g").hourly_price == D("70")

    # Handed back to the catalog, it follows it again: 88 + 6.24 + 7.488
    client.post(f"/admin/whatif/gpuinstanceprice/{row.pk}/change/",
                {**form, "hourly_price": "70", "origin": "catalog"})  # fmt: skip
    _refresh([h100, core, ram])
    assert _row("a3-highgpu-8g").hourly_price == D("101.728")


def test_two_prices_for_one_part_leave_the_row_alone():
    twice = _sku("A100-2", "Nvidia Tesla A100 GPU running in Americas", [CENTRAL], "2.5")
    _refresh([*_catalog(), twice])
    assert _row("a2-highgpu-1g").origin == PriceOrigin.SEED
    assert _row("a4-highgpu-8g").origin == PriceOrigin.CATALOG
