"""Legacy AWS CUR: billed vs amortized cost per line item type, tags, located errors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from costapp.ingest import cur
from costapp.ingest.errors import ParseError
from costapp.ingest.files import InputFile
from costapp.ingest.models import RunStatus

from .billing_cases import assert_fails_cleanly, csv_text, ingest_path, truncated_gzip

pytestmark = pytest.mark.django_db

BASE = {
    "identity/LineItemId": "li-1",
    "bill/PayerAccountId": "111122223333",
    "bill/BillingPeriodStartDate": "2026-11-01T00:00:00Z",
    "bill/BillingPeriodEndDate": "2026-12-01T00:00:00Z",
    "lineItem/LineItemType": "Usage",
    "lineItem/UsageStartDate": "2026-11-03T10:00:00Z",
    "lineItem/UsageEndDate": "2026-11-03T11:00:00Z",
    "lineItem/ProductCode": "AmazonEC2",
    "lineItem/UsageType": "USE1-BoxUsage:p5.48xlarge",
    "lineItem/ResourceId": "i-0abc",
    "lineItem/UsageAmount": "1",
    "lineItem/CurrencyCode": "USD",
    "lineItem/UnblendedCost": "98.32",
    "lineItem/LineItemDescription": "$98.32 per On Demand Linux p5.48xlarge Instance Hour",
    "product/ProductName": "Amazon Elastic Compute Cloud",
    "product/instanceType": "p5.48xlarge",
    "product/region": "us-east-1",
    "product/sku": "SKU-P5",
    "pricing/term": "OnDemand",
    "pricing/unit": "Hrs",
    "pricing/publicOnDemandCost": "98.32",
    "pricing/publicOnDemandRate": "98.32",
    "savingsPlan/SavingsPlanARN": "",
    "savingsPlan/SavingsPlanEffectiveCost": "",
    "savingsPlan/TotalCommitmentToDate": "",
    "savingsPlan/UsedCommitment": "",
    "reservation/ReservationARN": "",
    "reservation/EffectiveCost": "",
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod": "",
    "reservation/UnusedRecurringFee": "",
    "resourceTags/user:team": "search",
    "resourceTags/aws:createdBy": "",
    "costCategory/BusinessUnit": "ml",
}
SP = "arn:aws:savingsplans::111122223333:savingsplan/sp-1"
RI = "arn:aws:ec2:us-east-1:111122223333:reserved-instances/ri-1"


def cur_csv(*rows: dict, columns: list[str] | None = None) -> str:
    return csv_text(BASE, rows, columns)


def parse_text(text: str) -> list:
    return list(cur.parse(InputFile.from_bytes("cur.csv", text.encode())))


def test_on_demand_usage_maps_to_a_focus_aligned_line():
    (row,) = parse_text(cur_csv({}))
    assert (row.provider, row.billing_account_id) == ("AWS", "111122223333")
    assert row.billing_period_start == datetime(2026, 11, 1, tzinfo=UTC)
    assert row.charge_period_start == datetime(2026, 11, 3, 10, tzinfo=UTC)
    assert (row.charge_category, row.pricing_category) == ("Usage", "Standard")
    assert (row.service_name, row.service_category) == ("Amazon Elastic Compute Cloud", "Compute")
    assert (row.resource_id, row.resource_type, row.region) == (
        "i-0abc",
        "p5.48xlarge",
        "us-east-1",
    )
    assert (row.sku_id, row.pricing_unit, row.consumed_quantity) == ("SKU-P5", "Hrs", Decimal(1))
    assert row.billed_cost == row.effective_cost == row.list_cost == Decimal("98.32")
    # Empty tag cells are not tags; cost categories keep their prefix.
    assert row.tags == {"user:team": "search", "costCategory/BusinessUnit": "ml"}


def test_amortized_cost_follows_the_line_item_type():
    rows = parse_text(
        cur_csv(
            {
                "lineItem/LineItemType": "SavingsPlanCoveredUsage",
                "savingsPlan/SavingsPlanARN": SP,
                "savingsPlan/SavingsPlanEffectiveCost": "61.70",
            },
            {"lineItem/LineItemType": "SavingsPlanNegation", "lineItem/UnblendedCost": "-98.32"},
            {
                "lineItem/LineItemType": "SavingsPlanRecurringFee",
                "lineItem/UnblendedCost": "70",
                "savingsPlan/TotalCommitmentToDate": "70",
                "savingsPlan/UsedCommitment": "61.70",
            },
            {
                "lineItem/LineItemType": "DiscountedUsage",
                "reservation/ReservationARN": RI,
                "reservation/EffectiveCost": "55.1",
            },
            {
                "lineItem/LineItemType": "RIFee",
                "lineItem/UnblendedCost": "40",
                "reservation/ReservationARN": RI,
                "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod": "1.5",
                "reservation/UnusedRecurringFee": "2.25",
            },
            {
                "lineItem/LineItemType": "Fee",
                "lineItem/UnblendedCost": "3000",
                "reservation/ReservationARN": RI,
            },
            {"lineItem/LineItemType": "Tax", "lineItem/UnblendedCost": "9.83"},
            {"lineItem/LineItemType": "Credit", "lineItem/UnblendedCost": "-5"},
            {"lineItem/LineItemType": "SomethingNew", "lineItem/UnblendedCost": "1"},
        )
    )
    summary = [(r.charge_category, r.billed_cost, r.effective_cost) for r in rows]
    assert summary == [
        ("Usage", Decimal("98.32"), Decimal("61.70")),
        ("Usage", Decimal("-98.32"), Decimal(0)),
        ("Purchase", Decimal("70"), Decimal("8.30")),
        ("Usage", Decimal("98.32"), Decimal("55.1")),
        ("Purchase", Decimal("40"), Decimal("3.75")),
        ("Purchase", Decimal("3000"), Decimal(0)),
        ("Tax", Decimal("9.83"), Decimal("9.83")),
        ("Credit", Decimal("-5"), Decimal("-5")),
        ("Adjustment", Decimal("1"), Decimal("1")),
    ]
    assert rows[0].pricing_category == rows[3].pricing_category == "Committed"
    assert (rows[0].commitment_discount_id, rows[3].commitment_discount_id) == (SP, RI)


def test_net_unblended_cost_is_the_billed_cost_when_present_even_when_zero():
    columns = [*BASE, "lineItem/NetUnblendedCost"]
    rows = parse_text(
        cur_csv(
            {"lineItem/NetUnblendedCost": "90"}, {"lineItem/NetUnblendedCost": "0"}, columns=columns
        )
    )
    assert [r.billed_cost for r in rows] == [Decimal("90"), Decimal("0")]


def test_spot_usage_is_dynamic_pricing():
    (row,) = parse_text(
        cur_csv({"lineItem/UsageType": "USE1-SpotUsage:g5.12xlarge", "pricing/term": ""})
    )
    assert row.pricing_category == "Dynamic"


def test_covered_usage_without_its_effective_cost_is_located():
    text = cur_csv({"lineItem/LineItemType": "SavingsPlanCoveredUsage"})
    with pytest.raises(ParseError) as caught:
        parse_text(text)
    assert (caught.value.line, caught.value.column) == (2, "savingsPlan/SavingsPlanEffectiveCost")


def test_rows_ending_early_read_missing_trailing_cells_as_null():
    text = cur_csv({})
    header, row = text.splitlines()
    (parsed,) = parse_text(f"{header}\n{row.rsplit(',', 2)[0]}\n")
    assert parsed.tags == {"user:team": "search"}


def test_column_names_match_whatever_their_case():
    text = cur_csv({"savingsPlan/SavingsPlanARN": SP}).replace(
        "SavingsPlanARN", "SavingsPlanArn", 1
    )
    (row,) = parse_text(text)
    assert row.commitment_discount_id == SP


# The legacy CUR as AWS's Athena integration flattens it: the same cells under snake_case names.
ATHENA = {
    "identity_line_item_id": "li-1",
    "bill_payer_account_id": "111122223333",
    "bill_billing_period_start_date": "2026-11-01T00:00:00Z",
    "bill_billing_period_end_date": "2026-12-01T00:00:00Z",
    "line_item_line_item_type": "Usage",
    "line_item_usage_start_date": "2026-11-03T10:00:00Z",
    "line_item_usage_end_date": "2026-11-03T11:00:00Z",
    "line_item_product_code": "AmazonEC2",
    "line_item_usage_type": "USE1-BoxUsage:p5.48xlarge",
    "line_item_resource_id": "i-0abc",
    "line_item_usage_amount": "1",
    "line_item_currency_code": "USD",
    "line_item_unblended_cost": "98.32",
    "line_item_line_item_description": "$98.32 per On Demand Linux p5.48xlarge Instance Hour",
    "product_product_name": "Amazon Elastic Compute Cloud",
    "product_instance_type": "p5.48xlarge",
    "product_region": "us-east-1",
    "product_sku": "SKU-P5",
    "pricing_term": "OnDemand",
    "pricing_unit": "Hrs",
    "pricing_public_on_demand_cost": "98.32",
    "resource_tags_user_team": "search",
    "resource_tags_aws_created_by": "",
    "cost_category_business_unit": "ml",
}


def test_athena_snake_case_columns_map_like_the_legacy_ones():
    (legacy,) = parse_text(cur_csv({}))
    (row,) = parse_text(csv_text(ATHENA, ({},)))
    assert (row.service_name, row.service_category) == ("Amazon Elastic Compute Cloud", "Compute")
    assert (row.region, row.resource_type, row.sku_id) == ("us-east-1", "p5.48xlarge", "SKU-P5")
    assert (row.pricing_category, row.billed_cost, row.list_cost) == (
        "Standard",
        Decimal("98.32"),
        Decimal("98.32"),
    )
    # The flattening lost the tag key's ':'; keys read as CUR 2.0's resource_tags map has them.
    assert row.tags == {"user_team": "search", "cost_category/business_unit": "ml"}
    same = ("charge_period_start", "billing_period_start", "sub_account_id", "effective_cost")
    assert [getattr(row, f) for f in same] == [getattr(legacy, f) for f in same]


def test_athena_product_servicename_names_the_service_when_product_name_is_absent():
    columns = [c for c in ATHENA if c != "product_product_name"] + ["product_servicename"]
    (row,) = parse_text(csv_text({**ATHENA, "product_servicename": "AmazonEC2"}, ({},), columns))
    assert row.service_name == "AmazonEC2"


def test_athena_missing_column_is_named_in_snake_case(earlier, write_file):
    columns = [c for c in ATHENA if c != "line_item_currency_code"]
    path = write_file("athena.csv", csv_text(ATHENA, ({},), columns))
    run = assert_fails_cleanly(path, "cur", line=1, mentions=("line_item_currency_code",))
    assert "lineItem/" not in run.error


@pytest.fixture
def earlier(write_file):
    run = ingest_path(
        write_file("good.csv", cur_csv({"bill/BillingPeriodStartDate": "2026-10-01T00:00:00Z"})),
        "cur",
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def test_wrong_header_fails_at_line_1(earlier, write_file):
    columns = [c for c in BASE if c != "lineItem/UnblendedCost"]
    path = write_file("wrong.csv", cur_csv({}, columns=columns))
    assert_fails_cleanly(path, "cur", line=1, mentions=("lineItem/UnblendedCost",))


def test_non_numeric_cost_fails_with_line_and_column(earlier, write_file):
    path = write_file("bad.csv", cur_csv({}, {"lineItem/UnblendedCost": "n/a-ish"}))
    assert_fails_cleanly(path, "cur", line=3, column="lineItem/UnblendedCost")


def test_unknown_currency_fails_with_line_and_column(earlier, write_file):
    path = write_file("bad.csv", cur_csv({"lineItem/CurrencyCode": "DOGE"}))
    assert_fails_cleanly(path, "cur", line=2, column="lineItem/CurrencyCode")


def test_truncated_gzip_fails_naming_the_file(earlier, write_file):
    text = cur_csv(*({"identity/LineItemId": f"li-{n}"} for n in range(2000)))
    path = write_file("cut.csv.gz", truncated_gzip(text.encode()))
    assert_fails_cleanly(path, "cur", mentions=("gzip",))
