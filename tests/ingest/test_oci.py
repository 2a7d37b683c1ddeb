"""OCI cost reports to cost lines."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from costapp.ingest import oci
from costapp.ingest.files import InputFile
from costapp.ingest.models import RunStatus

from .billing_cases import assert_fails_cleanly, csv_text, ingest_path

pytestmark = pytest.mark.django_db

BASE = {
    "lineItem/referenceNo": "r1",
    "lineItem/tenantId": "ocid1.tenancy.oc1..t",
    "lineItem/intervalUsageStart": "2026-11-03T10:00Z",
    "lineItem/intervalUsageEnd": "2026-11-03T11:00Z",
    "product/service": "COMPUTE",
    "product/compartmentId": "ocid1.compartment.oc1..c",
    "product/region": "eu-frankfurt-1",
    "product/resourceId": "ocid1.instance.oc1..gpu",
    "usage/billedQuantity": "8",
    "cost/productSku": "B98415",
    "product/Description": "Compute - GPU - H100",
    "cost/myCost": "80.0000000001",
    "cost/currencyCode": "EUR",
    "cost/billingUnitReadable": "GPU Per Hour",
    "lineItem/isCorrection": "false",
    "tags/Oracle-Tags.CreatedBy": "alice",
    "tags/ml.team": "search",
}


def test_an_oci_row_maps_cost_time_and_tags():
    text = csv_text(BASE, ({}, {"lineItem/isCorrection": "true", "cost/myCost": "-1"}))
    usage, correction = oci.parse(InputFile.from_bytes("o.csv", text.encode()))
    assert usage.provider == "Oracle" and usage.billed_cost == Decimal("80.0000000001")
    assert usage.charge_period_start == datetime(2026, 11, 3, 10, tzinfo=UTC)
    assert usage.billing_period_start == datetime(2026, 11, 1, tzinfo=UTC)
    assert usage.tags == {"Oracle-Tags.CreatedBy": "alice", "ml.team": "search"}
    assert (usage.resource_id, usage.sku_id) == ("ocid1.instance.oc1..gpu", "B98415")
    assert correction.charge_category == "Adjustment"


def test_a_bad_oci_file_fails_located_and_stores_nothing(write_file):
    good = ingest_path(write_file("good.csv", csv_text(BASE, ({},))), "oci")
    assert good.status == RunStatus.SUCCEEDED, good.error
    bad = write_file("bad.csv", csv_text(BASE, ({}, {"cost/myCost": "1e"})))
    assert_fails_cleanly(bad, "oci", line=3, column="cost/myCost")
