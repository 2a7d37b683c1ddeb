"""Azure Cost Management exports (EA, MCA and the older PreTaxCost layout) to cost lines."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from costapp.ingest import azure
from costapp.ingest.errors import ParseError
from costapp.ingest.files import InputFile
from costapp.ingest.models import CostLine, RunStatus

from .billing_cases import assert_fails_cleanly, csv_text, ingest_path

pytestmark = pytest.mark.django_db

EA = {
    "BillingAccountId": "12345678",
    "SubscriptionId": "sub-1",
    "Date": "9/2/2023",
    "BillingPeriodStartDate": "9/1/2023",
    "BillingPeriodEndDate": "9/30/2023",
    "MeterCategory": "Virtual Machines",
    "MeterName": "NC24ads A100 v4",
    "MeterId": "m-1",
    "ResourceLocation": "EastUS",
    "ResourceId": "/subscriptions/sub-1/vm/gpu1",
    "Quantity": "24",
    "UnitOfMeasure": "1 Hour",
    "PayGPrice": "3.673",
    "CostInBillingCurrency": "88.1520000001",
    "BillingCurrencyCode": "CAD",
    "ChargeType": "Usage",
    "PricingModel": "OnDemand",
    "Tags": '"team": "search","model": "llama"',
}
MCA = {
    "invoiceId": "G123",
    "billingAccountId": "acct:mca",
    "subscriptionId": "sub-2",
    "date": "2026-11-03",
    "meterCategory": "Cognitive Services",
    "costInBillingCurrency": "1.25",
    "billingCurrency": "EUR",
    "chargeType": "UnusedReservation",
    "pricingModel": "Reservation",
    "benefitId": "/reservations/r1",
    "tags": '{"team": "ads"}',
}
OLD = {
    "SubscriptionGuid": "sub-3",
    "UsageDateTime": "2026-11-04",
    "MeterCategory": "Storage",
    "InstanceId": "/subscriptions/sub-3/disk",
    "UsageQuantity": "2",
    "PreTaxCost": "0.0000001",
    "Currency": "USD",
}


def parse_text(text: str) -> list:
    return list(azure.parse(InputFile.from_bytes("a.csv", text.encode())))


def test_an_ea_row_maps_dates_money_and_braceless_tags():
    (row,) = parse_text(csv_text(EA, ({},)))
    assert row.provider == "Microsoft" and row.billing_account_id == "12345678"
    assert row.charge_period_start == datetime(2023, 9, 2, tzinfo=UTC)
    assert row.charge_period_end == datetime(2023, 9, 3, tzinfo=UTC)
    # Azure's billing period end is its last day, inclusive.
    assert row.billing_period_end == datetime(2023, 10, 1, tzinfo=UTC)
    assert row.billed_cost == row.effective_cost == Decimal("88.1520000001")
    assert row.list_cost == Decimal("88.152") and row.billing_currency == "CAD"
    assert row.tags == {"team": "search", "model": "llama"}
    assert (row.service_name, row.region, row.pricing_category) == (
        "Virtual Machines",
        "EastUS",
        "Standard",
    )
    assert row.invoice_id is None


def test_an_mca_amortized_row_keeps_invoice_and_commitment():
    (row,) = parse_text(csv_text(MCA, ({},)))
    assert (row.invoice_id, row.sub_account_id, row.billing_currency) == ("G123", "sub-2", "EUR")
    assert (row.charge_category, row.pricing_category) == ("Usage", "Committed")
    assert row.commitment_discount_id == "/reservations/r1" and row.tags == {"team": "ads"}
    assert row.billing_period_start == datetime(2026, 11, 1, tzinfo=UTC)


def test_the_older_pretaxcost_layout_reads():
    (row,) = parse_text(csv_text(OLD, ({},)))
    assert row.billed_cost == Decimal("0.0000001") and row.sub_account_id == "sub-3"
    assert row.resource_id == "/subscriptions/sub-3/disk"
    assert row.consumed_quantity == Decimal("2")


def test_a_bad_date_is_located():
    with pytest.raises(ParseError) as caught:
        parse_text(csv_text(EA, ({}, {"Date": "yesterday"})))
    assert (caught.value.line, caught.value.column) == (3, "Date")


def test_an_azure_export_given_as_focus_names_azure_not_focus_0_5(write_file):
    path = write_file("export.csv", csv_text(EA, ({},)))
    from costapp.ingest.runs import ingest

    run = ingest([InputFile.from_path(path)], "focus")
    assert run.status == RunStatus.FAILED
    assert "format azure" in run.error and "0.5" not in run.error


def test_a_bad_file_stores_nothing(write_file):
    good = ingest_path(write_file("good.csv", csv_text(EA, ({},))), "azure")
    assert good.status == RunStatus.SUCCEEDED, good.error
    assert CostLine.objects.get().billed_cost == Decimal("88.1520000001")
    bad = write_file(
        "bad.csv", csv_text(EA, ({"Date": "9/3/2023"}, {"CostInBillingCurrency": "x"}))
    )
    assert_fails_cleanly(bad, "azure", line=3, column="CostInBillingCurrency")
