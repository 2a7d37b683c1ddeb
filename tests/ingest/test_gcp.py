"""Google Cloud billing export rows, from CSV files and from BigQuery records."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from google.cloud.bigquery.table import Row

from costapp.ingest import gcp
from costapp.ingest.errors import ParseError
from costapp.ingest.files import InputFile
from costapp.ingest.models import RunStatus

from .billing_cases import assert_fails_cleanly, csv_text, ingest_path, truncated_gzip

pytestmark = pytest.mark.django_db

CREDITS = (
    "[{'name': 'FreeTrial:Credit-1', 'amount': -0.000005, 'full_name': None,"
    " 'id': 'FreeTrial:Credit-1', 'type': 'PROMOTION'},"
    " {'name': 'SUD', 'amount': -1.25, 'full_name': None, 'id': 'SUD', 'type': 'SUSTAINED_USAGE_DISCOUNT'}]"
)
# The flattened standard export, as koku's sample of it and `bq extract` write it.
BASE = {
    "billing_account_id": "000000-B0BBA4-940A77",
    "service.id": "6F81-5844-456A",
    "service.description": "Compute Engine",
    "sku.id": "039F-D0DA-4055",
    "sku.description": "Nvidia Tesla A100 GPU running in Americas",
    "usage_start_time": "2026-11-03 10:00:00+00:00",
    "usage_end_time": "2026-11-03 11:00:00+00:00",
    "project.id": "inference-prod",
    "project.labels": "[{'key': 'cost-center', 'value': 'ml'}]",
    "labels": "[{'key': 'team', 'value': 'search'}]",
    "system_labels": "[{'key': 'compute.googleapis.com/machine_spec', 'value': 'a2-highgpu-1g'}]",
    "location.location": "us-central1",
    "location.region": "us-central1",
    "cost": "2.933908",
    "currency": "USD",
    "usage.amount": "3600.0",
    "usage.unit": "seconds",
    "usage.pricing_unit": "hour",
    "credits": CREDITS,
    "invoice.month": "202611",
    "cost_type": "regular",
}


def gcp_csv(*rows: dict, columns: list[str] | None = None) -> str:
    return csv_text(BASE, rows, columns)


def parse_text(text: str) -> list:
    return list(gcp.parse(InputFile.from_bytes("gcp.csv", text.encode())))


def test_an_export_row_maps_to_a_cost_line_with_credits_in_effective_cost():
    (row,) = parse_text(gcp_csv({}))
    assert (row.provider, row.billing_account_id) == ("Google Cloud", "000000-B0BBA4-940A77")
    assert (row.service_name, row.sku_id, row.charge_description) == (
        "Compute Engine",
        "039F-D0DA-4055",
        "Nvidia Tesla A100 GPU running in Americas",
    )
    assert (row.region, row.resource_type, row.charge_category) == (
        "us-central1",
        "a2-highgpu-1g",
        "Usage",
    )
    assert (row.consumed_quantity, row.consumed_unit, row.pricing_unit) == (
        Decimal("3600.0"),
        "seconds",
        "hour",
    )
    assert row.billed_cost == Decimal("2.933908")
    # Credit amounts come as Python reprs of floats; read from their text, exactly.
    assert row.effective_cost == Decimal("2.933908") - Decimal("0.000005") - Decimal("1.25")
    assert row.tags == {
        "team": "search",
        "project:cost-center": "ml",
        "compute.googleapis.com/machine_spec": "a2-highgpu-1g",
    }


def test_the_invoice_month_is_a_pacific_time_month():
    (row,) = parse_text(gcp_csv({}))
    # November starts in daylight time (UTC-7) and December in standard time (UTC-8).
    assert row.billing_period_start == datetime(2026, 11, 1, 7, tzinfo=UTC)
    assert row.billing_period_end == datetime(2026, 12, 1, 8, tzinfo=UTC)


def test_without_invoice_month_the_period_is_the_calendar_month_of_usage():
    columns = [c for c in BASE if c != "invoice.month"]
    (row,) = parse_text(gcp_csv({}, columns=columns))
    assert row.billing_period_start == datetime(2026, 11, 1, tzinfo=UTC)


def test_cost_types_map_to_charge_categories():
    rows = parse_text(
        gcp_csv({"cost_type": "tax"}, {"cost_type": "rounding_error"}, {"cost_type": ""})
    )
    assert [r.charge_category for r in rows] == ["Tax", "Adjustment", "Usage"]
    with pytest.raises(ParseError) as caught:
        parse_text(gcp_csv({"cost_type": "mystery"}))
    assert (caught.value.line, caught.value.column) == (2, "cost_type")


def test_bigquery_records_of_the_detailed_export_map_the_same_way():
    record = {
        "billing_account_id": "000000-B0BBA4-940A77",
        "service": {"id": "6F81-5844-456A", "description": "Compute Engine"},
        "sku": {"id": "039F-D0DA-4055", "description": "Nvidia Tesla A100 GPU running in Americas"},
        "usage_start_time": datetime(2026, 11, 3, 10, tzinfo=UTC),
        "usage_end_time": datetime(2026, 11, 3, 11, tzinfo=UTC),
        "project": {"id": "inference-prod", "labels": [{"key": "cost-center", "value": "ml"}]},
        "labels": [{"key": "team", "value": "search"}],
        "system_labels": [{"key": "compute.googleapis.com/machine_spec", "value": "a2-highgpu-1g"}],
        "location": {"location": "us-central1", "region": "us-central1"},
        "resource": {
            "name": "gpu-node-1",
            "global_name": "//compute.googleapis.com/projects/p/zones/z/instances/42",
        },
        "cost": 2.933908,  # FLOAT64, as the client returns it
        "cost_at_list": 3.6730,
        "currency": "USD",
        "usage": {"amount": 3600.0, "unit": "seconds", "pricing_unit": "hour"},
        "credits": [{"name": "SUD", "amount": -1.25, "type": "SUSTAINED_USAGE_DISCOUNT"}],
        "invoice": {"month": "202611"},
        "cost_type": "regular",
    }
    # The client's Row objects, as a query result yields them.
    result = Row(tuple(record.values()), {name: i for i, name in enumerate(record)})
    (row,) = gcp.rows_from_bigquery([result], "bq:proj.billing.gcp_billing_export_resource_v1")
    (from_csv,) = parse_text(gcp_csv({"credits": "[{'name': 'SUD', 'amount': -1.25}]"}))
    assert row.billed_cost == from_csv.billed_cost == Decimal("2.933908")
    assert row.effective_cost == from_csv.effective_cost == Decimal("1.683908")
    assert row.list_cost == Decimal("3.673")
    assert row.resource_id == "//compute.googleapis.com/projects/p/zones/z/instances/42"
    assert (row.tags, row.billing_period_start) == (from_csv.tags, from_csv.billing_period_start)
    assert (row.source_file, row.source_row) == (
        "bq:proj.billing.gcp_billing_export_resource_v1",
        1,
    )


def test_a_bad_bigquery_record_is_located_by_number_and_dotted_field():
    good = {
        "usage_start_time": datetime(2026, 11, 3, tzinfo=UTC),
        "usage_end_time": datetime(2026, 11, 3, 1, tzinfo=UTC),
        "cost": 1.0,
        "currency": "USD",
    }
    bad = {**good, "invoice": {"month": "2026-11"}}
    with pytest.raises(ParseError) as caught:
        list(gcp.rows_from_bigquery([good, bad], "bq:t"))
    assert (caught.value.file, caught.value.line, caught.value.column) == (
        "bq:t",
        2,
        "invoice.month",
    )


@pytest.fixture
def earlier(write_file):
    run = ingest_path(write_file("good.csv", gcp_csv({"invoice.month": "202610"})), "gcp")
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def test_wrong_header_fails_at_line_1(earlier, write_file):
    path = write_file("wrong.csv", gcp_csv({}, columns=[c for c in BASE if c != "cost"]))
    assert_fails_cleanly(path, "gcp", line=1, mentions=("cost",))


def test_non_numeric_cost_fails_with_line_and_column(earlier, write_file):
    path = write_file("bad.csv", gcp_csv({}, {"cost": "1.2.3"}))
    assert_fails_cleanly(path, "gcp", line=3, column="cost")


def test_a_credit_without_a_number_fails_with_line_and_column(earlier, write_file):
    path = write_file("bad.csv", gcp_csv({"credits": "[{'name': 'x', 'amount': 'lots'}]"}))
    assert_fails_cleanly(path, "gcp", line=2, column="credits")


def test_unknown_currency_fails_with_line_and_column(earlier, write_file):
    path = write_file("bad.csv", gcp_csv({"currency": "GOLD"}))
    assert_fails_cleanly(path, "gcp", line=2, column="currency")


def test_truncated_gzip_fails_naming_the_file(earlier, write_file):
    path = write_file("cut.csv.gz", truncated_gzip(gcp_csv(*({} for _ in range(2000))).encode()))
    assert_fails_cleanly(path, "gcp", mentions=("gzip",))
