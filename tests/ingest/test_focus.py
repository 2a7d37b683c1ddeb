"""FOCUS 1.0-1.2 files: CSV, CSV.gz and Parquet to cost lines, with located errors."""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from costapp.ingest import focus, tabular
from costapp.ingest.errors import ParseError
from costapp.ingest.files import InputFile
from costapp.ingest.models import CostLine, RunStatus
from costapp.ingest.runs import ingest
from costapp.ingest.tabular import Header

from .billing_cases import assert_fails_cleanly, csv_text, ingest_path, truncated_gzip

pytestmark = pytest.mark.django_db

BASE = {
    "ProviderName": "AWS",
    "BillingAccountId": "111122223333",
    "BillingPeriodStart": "2026-11-01 00:00:00",
    "BillingPeriodEnd": "2026-12-01 00:00:00",
    "ChargePeriodStart": "2026-11-03 10:00:00",
    "ChargePeriodEnd": "2026-11-03 11:00:00",
    "ChargeCategory": "Usage",
    "ChargeDescription": "$32.77 per On Demand Linux p5.48xlarge Instance Hour",
    "ServiceName": "Amazon Elastic Compute Cloud",
    "ServiceCategory": "Compute",
    "RegionId": "us-east-1",
    "ResourceId": "i-0abc",
    "ResourceType": "p5.48xlarge",
    "SkuId": "SKU1",
    "PricingCategory": "Standard",
    "PricingUnit": "Hours",
    "ConsumedQuantity": "1",
    "ConsumedUnit": "Hours",
    "BilledCost": "98.32000000001",
    "EffectiveCost": "61.7",
    "ListCost": "98.32",
    "ContractedCost": "NULL",
    "BillingCurrency": "USD",
    "CommitmentDiscountId": "",
    "Tags": '{"team": "search", "model": "llama-70b"}',
}


def focus_csv(*rows: dict, columns: list[str] | None = None) -> str:
    return csv_text(BASE, rows, columns)


def parse_text(text: str, name: str = "f.csv") -> list:
    return list(focus.parse(InputFile.from_bytes(name, text.encode())))


def test_a_focus_row_maps_to_every_cost_line_field():
    (row,) = parse_text(focus_csv({}))
    assert row.provider == "AWS" and row.billing_account_id == "111122223333"
    assert row.billing_period_start == datetime(2026, 11, 1, tzinfo=UTC)
    assert row.billing_period_end == datetime(2026, 12, 1, tzinfo=UTC)
    assert row.charge_period_start == datetime(2026, 11, 3, 10, tzinfo=UTC)
    assert row.charge_period_end == datetime(2026, 11, 3, 11, tzinfo=UTC)
    assert (row.charge_category, row.service_name, row.service_category) == (
        "Usage",
        "Amazon Elastic Compute Cloud",
        "Compute",
    )
    assert (row.region, row.resource_id, row.resource_type) == (
        "us-east-1",
        "i-0abc",
        "p5.48xlarge",
    )
    assert (row.sku_id, row.pricing_category, row.pricing_unit) == ("SKU1", "Standard", "Hours")
    assert (row.consumed_quantity, row.consumed_unit) == (Decimal("1"), "Hours")
    # Precision as written, and EffectiveCost kept even where it differs from BilledCost.
    assert row.billed_cost == Decimal("98.32000000001")
    assert row.effective_cost == Decimal("61.7")
    assert row.list_cost == Decimal("98.32") and row.contracted_cost is None
    assert row.billing_currency == "USD" and row.commitment_discount_id == ""
    assert row.tags == {"team": "search", "model": "llama-70b"}
    assert (row.source_file, row.source_row) == ("f.csv", 2)


def test_null_and_empty_cells_both_read_as_null():
    rows = parse_text(
        focus_csv(
            {"ResourceId": "NULL", "Tags": "NULL", "ListCost": ""},
            {"ResourceId": "", "Tags": "", "ListCost": "NULL", "ConsumedQuantity": "NULL"},
        )
    )
    for row in rows:
        assert (row.resource_id, row.tags, row.list_cost) == ("", {}, None)
    assert rows[1].consumed_quantity is None


def test_charge_category_case_is_normalised_and_unknown_values_rejected():
    (row,) = parse_text(focus_csv({"ChargeCategory": "credit"}))
    assert row.charge_category == "Credit"
    with pytest.raises(ParseError) as caught:
        parse_text(focus_csv({}, {"ChargeCategory": "Refund"}))
    assert (caught.value.line, caught.value.column) == (3, "ChargeCategory")


def test_version_is_told_by_the_header():
    def version(*extra: str) -> str:
        return focus.check_header(Header("f.csv", [*BASE, *extra]))

    assert version() == "1.0"
    assert version("SkuMeter", "CommitmentDiscountQuantity") == "1.1"
    assert version("SkuMeter", "BillingAccountType", "PricingCurrency") == "1.2"


def test_a_focus_1_2_file_with_its_new_columns_ingests():
    columns = [*BASE, "BillingAccountType", "ChargeClass", "PricingCurrency", "InvoiceId"]
    text = focus_csv(
        {"BillingAccountType": "Billing Profile", "ChargeClass": "Correction", "InvoiceId": "I-1"},
        columns=columns,
    )
    assert focus.check_header(Header("f", columns)) == "1.2"
    (row,) = parse_text(text)
    assert row.billed_cost == Decimal("98.32000000001")


def test_renamed_columns_are_read_under_either_name():
    renamed = {"ProviderName": "ServiceProviderName", "RegionId": "Region"}
    header = ",".join(renamed.get(c, c) for c in BASE)
    values = focus_csv({}).splitlines()[1]
    (row,) = parse_text(f"{header}\n{values}\n")
    assert (row.provider, row.region) == ("AWS", "us-east-1")


def test_a_missing_billing_period_is_the_calendar_month_of_the_charge():
    columns = [c for c in BASE if not c.startswith("BillingPeriod")]
    (row,) = parse_text(focus_csv({"ChargePeriodStart": "2026-12-31T23:00:00Z"}, columns=columns))
    assert row.billing_period_start == datetime(2026, 12, 1, tzinfo=UTC)
    assert row.billing_period_end == datetime(2027, 1, 1, tzinfo=UTC)


def test_a_quoted_newline_does_not_shift_reported_line_numbers():
    text = focus_csv({"ChargeDescription": "two\nlines"}, {"BilledCost": "lots"})
    with pytest.raises(ParseError) as caught:
        parse_text(text)
    # Header on line 1, the first record on lines 2-3, the bad one starts on line 4.
    assert (caught.value.line, caught.value.column) == (4, "BilledCost")


def test_csv_gz_reads_like_csv():
    data = gzip.compress(focus_csv({}, {"BilledCost": "1.5"}).encode())
    rows = list(focus.parse(InputFile.from_bytes("f.csv.gz", data)))
    assert [r.billed_cost for r in rows] == [Decimal("98.32000000001"), Decimal("1.5")]


def test_parquet_streams_in_batches_and_keeps_provider_precision(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "BATCH_ROWS", 2)  # several batches from five rows
    n = 5
    ts = pa.timestamp("us", tz="UTC")
    table = pa.table(
        {
            "ProviderName": ["Microsoft"] * n,
            "BillingAccountId": ["acct"] * n,
            "ChargePeriodStart": pa.array(
                [datetime(2026, 11, 1, h, tzinfo=UTC) for h in range(n)], ts
            ),
            "ChargePeriodEnd": pa.array(
                [datetime(2026, 11, 1, h + 1, tzinfo=UTC) for h in range(n)], ts
            ),
            "ChargeCategory": ["Usage"] * n,
            "BilledCost": pa.array([Decimal("0.1234567890123456")] * n, pa.decimal128(38, 16)),
            "EffectiveCost": pa.array([0.1] * n, pa.float64()),  # float: read via repr, exactly
            "BillingCurrency": ["EUR"] * n,
            "Tags": pa.array([[("team", "ads")]] * n, pa.map_(pa.string(), pa.string())),
        }
    )
    path = tmp_path / "export.parquet"
    pq.write_table(table, path)
    rows = list(focus.parse(InputFile.from_path(path)))
    assert [r.source_row for r in rows] == [1, 2, 3, 4, 5]
    assert {r.billed_cost for r in rows} == {Decimal("0.1234567890123456")}
    assert {r.effective_cost for r in rows} == {Decimal("0.1")}
    assert rows[4].charge_period_start == datetime(2026, 11, 1, 4, tzinfo=UTC)
    assert rows[0].tags == {"team": "ads"} and rows[0].billing_currency == "EUR"
    # No BillingPeriod columns: the month of the charge.
    assert rows[0].billing_period_start == datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def earlier(write_file):
    """A good delivery stored first, which the bad ones must leave untouched."""
    run = ingest_path(
        write_file("good.csv", focus_csv({"BillingPeriodStart": "2026-10-01"})), "focus"
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def test_wrong_header_fails_at_line_1_naming_the_missing_columns(earlier, write_file):
    columns = [c for c in BASE if c not in {"BilledCost", "BillingCurrency"}]
    path = write_file("wrong.csv", focus_csv(columns=columns))
    run = assert_fails_cleanly(path, "focus", line=1)
    assert "BilledCost, BillingCurrency" in run.error


def test_a_focus_0_5_header_is_told_apart(earlier, write_file):
    path = write_file("old.csv", "ChargeType,Provider,BilledCost,AmortizedCost\nUsage,A,1,1\n")
    assert_fails_cleanly(path, "focus", line=1, mentions=("FOCUS 0.5",))


def test_non_numeric_cost_fails_with_line_and_column(earlier, write_file):
    path = write_file("bad.csv", focus_csv({}, {}, {"EffectiveCost": "12,3x"}))
    assert_fails_cleanly(path, "focus", line=4, column="EffectiveCost", mentions=("'12,3x'",))


def test_unknown_currency_fails_with_line_and_column(earlier, write_file):
    path = write_file("bad.csv", focus_csv({}, {"BillingCurrency": "XBT"}))
    assert_fails_cleanly(path, "focus", line=3, column="BillingCurrency", mentions=("XBT",))


def test_truncated_gzip_fails_naming_the_file(earlier, write_file):
    text = focus_csv(*({"ResourceId": f"i-{n}"} for n in range(2000)))
    path = write_file("cut.csv.gz", truncated_gzip(text.encode()))
    assert_fails_cleanly(path, "focus", mentions=("gzip",))


def test_a_plain_csv_cut_mid_row_fails(earlier, write_file):
    text = focus_csv({}, {})
    path = write_file("cut.csv", text[: text.rindex("search") - 20])
    assert_fails_cleanly(path, "focus", line=3, mentions=("fields",))


def test_the_same_file_twice_is_skipped(write_file):
    path = write_file("nov.csv", focus_csv({}, {"ResourceId": "i-2"}))
    assert ingest_path(path, "focus").status == RunStatus.SUCCEEDED
    again = ingest_path(path, "focus")
    assert again.status == RunStatus.SKIPPED
    assert CostLine.objects.count() == 2


def test_a_restated_billing_period_replaces_the_earlier_rows(write_file):
    october = ingest_path(
        write_file("oct.csv", focus_csv({"BillingPeriodStart": "2026-10-01"})), "focus"
    )
    first = ingest_path(write_file("nov-v1.csv", focus_csv({}, {"BilledCost": "5"})), "focus")
    restated = ingest_path(write_file("nov-v2.csv", focus_csv({"BilledCost": "7"})), "focus")
    assert restated.status == RunStatus.SUCCEEDED, restated.error
    assert not CostLine.objects.filter(run=first).exists()
    november = CostLine.objects.filter(billing_period_start=datetime(2026, 11, 1, tzinfo=UTC))
    assert [line.billed_cost for line in november] == [Decimal("7")]
    # Another period of the same account is not touched.
    assert CostLine.objects.filter(run=october).count() == 1


def test_sub_account_is_kept_for_attribution_by_account(shared_fixtures):
    path = shared_fixtures / "focus-sample-data" / "focus_1.0_sample_1000.csv"
    with path.open(newline="", encoding="utf-8-sig") as handle:
        expected = {
            row["SubAccountId"] for row in csv.DictReader(handle) if row["SubAccountId"] != "NULL"
        }
    run = ingest([InputFile.from_path(path)], "focus")
    stored = set(CostLine.objects.filter(run=run).values_list("sub_account_id", flat=True))
    assert expected and expected <= stored


def test_focus_1_3_and_1_4_are_told_apart_by_provider_columns():
    names = [c for c in BASE if c != "ProviderName"]
    assert focus.check_header(Header("f", [*BASE, "ServiceProviderName"])) == "1.3"
    assert focus.check_header(Header("f", [*BASE, "AllocatedMethodId"])) == "1.3"
    assert focus.check_header(Header("f", [*names, "ServiceProviderName"])) == "1.4"


def test_a_focus_1_4_file_stores_invoice_and_allocation(write_file):
    columns = [
        *(c for c in BASE if c != "ProviderName"),
        "ServiceProviderName",
        "InvoiceId",
        "AllocatedMethodId",
        "AllocatedResourceId",
        "AllocatedTags",
    ]
    base = {**BASE, "ServiceProviderName": "Microsoft", "InvoiceId": "INV-1"}
    split = {
        "AllocatedMethodId": "k8s-cpu-memory",
        "AllocatedResourceId": "ns/search",
        "AllocatedTags": '{"team": "ads"}',
        "BilledCost": "0.25",
    }
    text = csv_text(base, ({}, split, {"InvoiceId": "", "BilledCost": "1"}), columns)
    run = ingest_path(write_file("f14.csv", text), "focus")
    assert run.status == RunStatus.SUCCEEDED, run.error
    lines = list(CostLine.objects.order_by("source_row"))
    assert [line.invoice_id for line in lines] == ["INV-1", "INV-1", None]
    assert lines[0].provider == "Microsoft" and lines[0].allocated_method_id == ""
    assert (lines[1].allocated_method_id, lines[1].allocated_resource_id) == (
        "k8s-cpu-memory",
        "ns/search",
    )
    # The piece's own tags win over the origin charge's.
    assert lines[1].tags == {"team": "ads", "model": "llama-70b"}


def test_billed_cost_is_summed_per_invoice_for_the_sources_page(write_file):
    from costapp.sources.selectors import invoices

    columns = [*BASE, "InvoiceId"]
    text = csv_text(
        BASE,
        (
            {"InvoiceId": "INV-1", "BilledCost": "1.0000000001"},
            {"InvoiceId": "INV-1", "BilledCost": "2"},
            {"InvoiceId": "INV-2", "BilledCost": "5"},
            {"InvoiceId": "", "BilledCost": "7"},
        ),
        columns,
    )
    run = ingest_path(write_file("inv.csv", text), "focus")
    assert run.status == RunStatus.SUCCEEDED, run.error
    found = {(i.invoice_id, i.rows, i.billed_cost) for i in invoices()}
    assert found == {("INV-1", 2, Decimal("3.0000000001")), ("INV-2", 1, Decimal("5"))}
