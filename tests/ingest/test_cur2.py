"""AWS CUR 2.0 (Data Exports): Parquet and CSV.gz written here read to the same cost lines."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from costapp.ingest import cur2
from costapp.ingest.files import InputFile
from costapp.ingest.models import RunStatus

from .billing_cases import assert_fails_cleanly, ingest_path, truncated_gzip

pytestmark = pytest.mark.django_db

SP = "arn:aws:savingsplans::111122223333:savingsplan/sp-1"
HOUR = datetime(2026, 11, 3, 10, tzinfo=UTC)
NEXT = datetime(2026, 11, 3, 11, tzinfo=UTC)

# Two line items: on-demand GPU usage, and Savings Plan covered usage.
RECORDS = [
    {
        "bill_payer_account_id": "111122223333",
        "bill_billing_period_start_date": datetime(2026, 11, 1, tzinfo=UTC),
        "bill_billing_period_end_date": datetime(2026, 12, 1, tzinfo=UTC),
        "line_item_line_item_type": "Usage",
        "line_item_usage_start_date": HOUR,
        "line_item_usage_end_date": NEXT,
        "line_item_product_code": "AmazonEC2",
        "line_item_usage_type": "USE1-BoxUsage:g5.12xlarge",
        "line_item_resource_id": "i-0g5",
        "line_item_usage_amount": "1",
        "line_item_currency_code": "USD",
        "line_item_unblended_cost": "5.672",
        "line_item_net_unblended_cost": None,
        "pricing_term": "OnDemand",
        "pricing_unit": "Hrs",
        "pricing_public_on_demand_cost": "5.672",
        "savings_plan_savings_plan_a_r_n": None,
        "savings_plan_savings_plan_effective_cost": None,
        "product_instance_type": "g5.12xlarge",
        "product_sku": "SKU-G5",
        "product": {"product_name": "Amazon Elastic Compute Cloud", "region": "us-east-1"},
        "resource_tags": {"user_team": "search", "user_model": "llama-70b"},
        "cost_category": {"business_unit": "ml"},
    },
    {
        "bill_payer_account_id": "111122223333",
        "bill_billing_period_start_date": datetime(2026, 11, 1, tzinfo=UTC),
        "bill_billing_period_end_date": datetime(2026, 12, 1, tzinfo=UTC),
        "line_item_line_item_type": "SavingsPlanCoveredUsage",
        "line_item_usage_start_date": HOUR,
        "line_item_usage_end_date": NEXT,
        "line_item_product_code": "AmazonEC2",
        "line_item_usage_type": "USE1-BoxUsage:p5.48xlarge",
        "line_item_resource_id": "i-0p5",
        "line_item_usage_amount": "1",
        "line_item_currency_code": "USD",
        "line_item_unblended_cost": "98.32",
        "line_item_net_unblended_cost": None,
        "pricing_term": "OnDemand",
        "pricing_unit": "Hrs",
        "pricing_public_on_demand_cost": "98.32",
        "savings_plan_savings_plan_a_r_n": SP,
        "savings_plan_savings_plan_effective_cost": "61.700000000001",
        "product_instance_type": "p5.48xlarge",
        "product_sku": "SKU-P5",
        "product": {"product_name": "Amazon Elastic Compute Cloud", "region": "us-east-1"},
        "resource_tags": {},
        "cost_category": {},
    },
]
MAPS = ("product", "resource_tags", "cost_category")
COSTS = (
    "line_item_unblended_cost",
    "line_item_net_unblended_cost",
    "pricing_public_on_demand_cost",
    "savings_plan_savings_plan_effective_cost",
)


def parquet_bytes(records: list[dict]) -> bytes:
    """As Data Exports writes it: timestamps, decimal costs, map<string,string> columns."""
    string_map = pa.map_(pa.string(), pa.string())
    columns = {}
    for name in records[0]:
        values = [r[name] for r in records]
        if name in MAPS:
            columns[name] = pa.array([list(v.items()) for v in values], string_map)
        elif name in COSTS or name == "line_item_usage_amount":
            decimals = [None if v is None else Decimal(v) for v in values]
            columns[name] = pa.array(decimals, pa.decimal128(38, 18))
        elif isinstance(values[0], datetime):
            columns[name] = pa.array(values, pa.timestamp("ms", tz="UTC"))
        else:
            columns[name] = pa.array(values, pa.string())
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


def csv_gz_bytes(records: list[dict]) -> bytes:
    """The CSV flavour: maps as JSON objects, timestamps as ISO text."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow(
            {
                k: json.dumps(v)
                if k in MAPS
                else v.isoformat().replace("+00:00", "Z")
                if isinstance(v, datetime)
                else ("" if v is None else v)
                for k, v in record.items()
            }
        )
    return gzip.compress(out.getvalue().encode())


def summary(rows) -> list[tuple]:
    return [
        (
            r.resource_id,
            r.resource_type,
            r.region,
            r.service_name,
            r.sku_id,
            r.pricing_category,
            r.billed_cost,
            r.effective_cost,
            r.list_cost,
            r.commitment_discount_id,
            r.tags,
            r.charge_period_start,
            r.billing_period_start,
        )
        for r in rows
    ]


def test_parquet_and_csv_gz_read_to_the_same_lines():
    from_parquet = list(
        cur2.parse(InputFile.from_bytes("x-00001.snappy.parquet", parquet_bytes(RECORDS)))
    )
    from_csv = list(cur2.parse(InputFile.from_bytes("x-00001.csv.gz", csv_gz_bytes(RECORDS))))
    assert summary(from_parquet) == summary(from_csv)
    gpu, covered = from_parquet
    assert (gpu.resource_type, gpu.region, gpu.service_name) == (
        "g5.12xlarge",
        "us-east-1",
        "Amazon Elastic Compute Cloud",
    )
    assert gpu.tags == {
        "user_team": "search",
        "user_model": "llama-70b",
        "cost_category/business_unit": "ml",
    }
    assert (gpu.pricing_category, gpu.billed_cost, gpu.effective_cost) == (
        "Standard",
        Decimal("5.672"),
        Decimal("5.672"),
    )
    # Amortized: the Savings Plan's effective cost, to the last digit AWS wrote.
    assert covered.effective_cost == Decimal("61.700000000001")
    assert (covered.pricing_category, covered.commitment_discount_id) == ("Committed", SP)


def test_parquet_float_costs_are_read_through_repr_not_binary_floats():
    table = pa.table(
        {
            "line_item_line_item_type": ["Usage"],
            "line_item_usage_start_date": pa.array([HOUR], pa.timestamp("us", tz="UTC")),
            "line_item_usage_end_date": pa.array([NEXT], pa.timestamp("us", tz="UTC")),
            "line_item_unblended_cost": pa.array([0.1], pa.float64()),
            "line_item_currency_code": ["USD"],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    (row,) = cur2.parse(InputFile.from_bytes("x.parquet", sink.getvalue()))
    assert row.billed_cost == Decimal("0.1")
    # No bill_* columns: the calendar month of the usage.
    assert row.billing_period_start == datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def earlier(write_file):
    october = [{**RECORDS[0], "bill_billing_period_start_date": datetime(2026, 10, 1, tzinfo=UTC)}]
    run = ingest_path(write_file("good.parquet", parquet_bytes(october)), "cur2")
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def test_wrong_header_fails_at_line_1(earlier, write_file):
    records = [{k: v for k, v in r.items() if k != "line_item_currency_code"} for r in RECORDS]
    path = write_file("wrong.parquet", parquet_bytes(records))
    run = assert_fails_cleanly(path, "cur2", line=1, mentions=("line_item_currency_code",))
    # The expected form names CUR 2.0's own columns, not the legacy lineItem/... ones.
    assert "lineItem/" not in run.error and "CUR 2.0" in run.error, run.error


def test_non_numeric_cost_fails_with_row_and_column(earlier, write_file):
    records = [RECORDS[0], {**RECORDS[1], "line_item_unblended_cost": "about 98"}]
    path = write_file("bad.csv.gz", csv_gz_bytes(records))
    assert_fails_cleanly(path, "cur2", line=3, column="line_item_unblended_cost")


def test_unknown_currency_fails_with_row_and_column(earlier, write_file):
    records = [RECORDS[0], {**RECORDS[1], "line_item_currency_code": "ZZZ"}]
    path = write_file("bad.parquet", parquet_bytes(records))
    # Parquet has no lines: the row number stands in, 2 for the second row.
    assert_fails_cleanly(path, "cur2", line=2, column="line_item_currency_code")


def test_truncated_gzip_fails_naming_the_file(earlier, write_file):
    path = write_file("cut.csv.gz", truncated_gzip(gzip.decompress(csv_gz_bytes(RECORDS * 500))))
    assert_fails_cleanly(path, "cur2", mentions=("gzip",))


def test_a_truncated_parquet_file_fails_naming_the_file(earlier, write_file):
    data = parquet_bytes(RECORDS)
    path = write_file("cut.parquet", data[: len(data) // 2])
    assert_fails_cleanly(path, "cur2", mentions=("Parquet",))
