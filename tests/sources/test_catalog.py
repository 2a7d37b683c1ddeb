"""GPU list prices from CloudCatalogClient over its REST transport, answered by a local server."""

from __future__ import annotations

from decimal import Decimal

import pytest
from google.auth.credentials import AnonymousCredentials

from costapp.ingest.errors import IngestError, TransientError
from costapp.sources.catalog import catalog_client, refresh_gpu_prices
from costapp.sources.models import GpuPrice

from .servers import json_reply, serve

pytestmark = pytest.mark.django_db

COMPUTE = "6F81-5844-456A"


def _sku(sku_id, description, regions, units, nanos, group="GPU", usage="OnDemand"):
    return {
        "name": f"services/{COMPUTE}/skus/{sku_id}",
        "skuId": sku_id,
        "description": description,
        "category": {
            "serviceDisplayName": "Compute Engine",
            "resourceFamily": "Compute",
            "resourceGroup": group,
            "usageType": usage,
        },
        "serviceRegions": regions,
        "pricingInfo": [
            {
                "pricingExpression": {
                    "usageUnit": "h",
                    "usageUnitDescription": "hour",
                    "tieredRates": [
                        {
                            "startUsageAmount": 0,
                            "unitPrice": {
                                "currencyCode": "USD",
                                "units": str(units),
                                "nanos": nanos,
                            },
                        }
                    ],
                }
            }
        ],
    }


PAGES = {
    "": {
        "skus": [
            _sku(
                "A100-1",
                "Nvidia Tesla A100 GPU running in Americas",
                ["us-central1", "us-east1"],
                2,
                933908000,
            ),
            _sku(
                "N1-CPU",
                "N1 Predefined Instance Core running in Americas",
                ["us-central1"],
                0,
                31611000,
                group="CPU",
            ),
        ],
        "nextPageToken": "page2",
    },
    "page2": {
        "skus": [
            _sku(
                "H100-1", "Nvidia H100 80GB GPU running in Americas", ["us-central1"], 11, 60670000
            ),
            _sku(
                "L4-SPOT",
                "Nvidia L4 GPU attached to Spot Preemptible VMs running in Americas",
                ["europe-west4"],
                0,
                222000000,
                usage="Preemptible",
            ),
        ]
    },
}


def _catalog(request):
    if request.path == "/v1/services":
        return json_reply(
            {
                "services": [
                    {
                        "name": "services/95FF-2EF5-5EA1",
                        "serviceId": "95FF-2EF5-5EA1",
                        "displayName": "Cloud Storage",
                    },
                    {
                        "name": f"services/{COMPUTE}",
                        "serviceId": COMPUTE,
                        "displayName": "Compute Engine",
                    },
                ]
            }
        )
    if request.path == f"/v1/services/{COMPUTE}/skus":
        assert request.query["currencyCode"] == ["USD"]
        return json_reply(PAGES[request.query.get("pageToken", [""])[0]])
    return json_reply({"error": {"code": 404, "message": "no"}}, 404)


def _client(url: str):
    return catalog_client(api_endpoint=url, credentials=AnonymousCredentials())


def test_gpu_skus_of_compute_engine_are_stored_per_region_with_exact_prices():
    with serve(_catalog) as peer:
        assert refresh_gpu_prices(_client(peer.url)) == 4
    prices = {(p.sku_id, p.region): p for p in GpuPrice.objects.all()}
    assert set(prices) == {
        ("A100-1", "us-central1"),
        ("A100-1", "us-east1"),
        ("H100-1", "us-central1"),
        ("L4-SPOT", "europe-west4"),
    }
    a100 = prices[("A100-1", "us-central1")]
    assert (a100.unit_price, a100.currency, a100.unit, a100.usage_type) == (
        Decimal("2.933908"),
        "USD",
        "h",
        "OnDemand",
    )
    assert prices[("L4-SPOT", "europe-west4")].usage_type == "Preemptible"


def test_a_refresh_updates_prices_in_place():
    with serve(_catalog) as peer:
        refresh_gpu_prices(_client(peer.url))
        PAGES["page2"]["skus"][0]["pricingInfo"][0]["pricingExpression"]["tieredRates"][0][
            "unitPrice"
        ]["units"] = "10"
        try:
            refresh_gpu_prices(_client(peer.url))
        finally:
            PAGES["page2"]["skus"][0]["pricingInfo"][0]["pricingExpression"]["tieredRates"][0][
                "unitPrice"
            ]["units"] = "11"
    assert GpuPrice.objects.count() == 4
    assert GpuPrice.objects.get(sku_id="H100-1").unit_price == Decimal("10.06067")


def test_catalog_outages_are_transient_and_refusals_permanent():
    with (
        serve(lambda request: json_reply({"error": {"code": 503, "message": "busy"}}, 503)) as peer,
        pytest.raises(TransientError),
    ):
        refresh_gpu_prices(_client(peer.url))
    refusal = {"error": {"code": 403, "message": "no"}}
    with serve(lambda request: json_reply(refusal, 403)) as peer, pytest.raises(IngestError):
        refresh_gpu_prices(_client(peer.url))
    assert not GpuPrice.objects.exists()
