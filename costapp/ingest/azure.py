"""Azure Cost Management exports (usage details, CSV, CSV.gz or Parquet), actual or amortized, in
the EA, MCA and older PreTaxCost/UsageDateTime layouts, mapped to FOCUS-aligned cost lines.

Columns per layout, from Microsoft's "Understand the terms in your Azure usage and charges file"
(learn.microsoft.com/azure/cost-management-billing/automate/understand-usage-details-fields),
the EA sample in ../shared/fixtures/focus-converters (finopsfoundation/focus_converters) and the
finops-toolkit's dataset metadata: EA writes PascalCase (CostInBillingCurrency,
BillingCurrencyCode), MCA camelCase (costInBillingCurrency, billingCurrency, invoiceId) — the
header lookup is case-insensitive, so one spelling list serves both — and the older export
writes PreTaxCost, UsageDateTime, SubscriptionGuid, InstanceId, UsageQuantity and Currency.

An export holds one cost basis: the actual file bills commitment purchases and zero-cost covered
usage; the amortized file spreads the purchase over the usage it covers and adds
UnusedReservation / UnusedSavingsPlan lines. Neither file alone gives the other figure, so a row
keeps its one cost as both billed and effective cost; load one of the two per billing account
(both through two sources would count twice, which the loaded-bills check reports).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from . import hosted
from .files import InputFile
from .focus import calendar_month
from .rows import CostLineRow
from .tabular import Record, open_table

KIND = "billing"

# Each field's spellings, newest layout first.
COST = ("CostInBillingCurrency", "Cost", "PreTaxCost")
CURRENCY = ("BillingCurrencyCode", "BillingCurrency", "Currency")
DATE = ("Date", "UsageDateTime")
QUANTITY = ("Quantity", "UsageQuantity")
SUBSCRIPTION = ("SubscriptionId", "SubscriptionGuid")
RESOURCE = ("ResourceId", "InstanceId")
REGION = ("ResourceLocation", "MeterRegion")
SERVICE = ("MeterCategory", "ConsumedService", "ProductName")
ACCOUNT = ("BillingAccountId", "BillingProfileId", "AccountName")
COMMITMENT = ("benefitId", "ReservationId")
REQUIRED = (COST, CURRENCY, DATE)

# ChargeType -> FOCUS ChargeCategory. Unused commitment is usage nobody used (FOCUS 1.2's
# CommitmentDiscountStatus "Unused"); a type Microsoft adds later keeps its money as Adjustment.
CHARGE_CATEGORY = {
    "usage": "Usage",
    "unusedreservation": "Usage",
    "unusedsavingsplan": "Usage",
    "purchase": "Purchase",
    "refund": "Credit",
    "tax": "Tax",
    "roundingadjustment": "Adjustment",
}
PRICING_CATEGORY = {
    "ondemand": "Standard",
    "reservation": "Committed",
    "savingsplan": "Committed",
    "spot": "Dynamic",
}
# US-style dates (9/2/2023) in EA CSVs; ISO in MCA and the older layout.
DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%m/%d/%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def parse(file: InputFile) -> Iterator[CostLineRow]:
    with open_table(file, expected="an Azure Cost Management export header row, then rows") as t:
        t.header.require(
            REQUIRED, "Azure usage-details column names such as CostInBillingCurrency or PreTaxCost"
        )
        columns = {
            name: t.header.first(*spellings)
            for name, spellings in {
                "cost": COST,
                "currency": CURRENCY,
                "date": DATE,
                "quantity": QUANTITY,
                "subscription": SUBSCRIPTION,
                "resource": RESOURCE,
                "region": REGION,
                "service": SERVICE,
                "account": ACCOUNT,
                "commitment": COMMITMENT,
            }.items()
        }
        for record in t:
            yield to_row(record, columns)


def to_row(record: Record, c: dict[str, str | None]) -> CostLineRow:
    day = azure_date(record, c["date"])
    period_start = azure_date_or_none(record, "BillingPeriodStartDate")
    period_end = azure_date_or_none(record, "BillingPeriodEndDate")
    if period_start is None:
        period_start, period_end = calendar_month(day)
    elif period_end is None or period_end <= period_start:
        period_end = calendar_month(period_start)[1]
    else:
        period_end += timedelta(days=1)  # Azure's end date is the period's last day, inclusive
    cost = record.decimal(c["cost"], required=True)
    charge_type = record.text("ChargeType") or "Usage"
    category = CHARGE_CATEGORY.get(charge_type.replace(" ", "").casefold(), "Adjustment")
    unit = record.text("UnitOfMeasure")
    row = CostLineRow(
        provider="Microsoft",
        billing_account_id=record.text(c["account"]),
        sub_account_id=record.text(c["subscription"]),
        billing_period_start=period_start,
        billing_period_end=period_end,
        charge_period_start=day,
        charge_period_end=day + timedelta(days=1),  # usage details are daily
        charge_category=category,
        charge_description=record.text("MeterName") or record.text("ProductName"),
        service_name=record.text(c["service"]),
        service_category=record.text("ServiceFamily"),
        region=record.text(c["region"]),
        resource_id=record.text(c["resource"]),
        resource_type=record.text("ResourceType") or record.text("MeterSubCategory"),
        sku_id=record.text("MeterId"),
        pricing_category=PRICING_CATEGORY.get(record.text("PricingModel").casefold(), ""),
        pricing_unit=unit,
        consumed_quantity=record.decimal(c["quantity"]),
        consumed_unit=unit,
        billed_cost=cost,
        effective_cost=cost,
        list_cost=_list_cost(record, c),
        billing_currency=record.currency(c["currency"]),
        commitment_discount_id=record.text(c["commitment"]),
        invoice_id=record.text("InvoiceId") or None,
        tags=azure_tags(record, "Tags"),
        source_file=record.file,
        source_row=record.line,
    )
    context = " ".join(
        (row.service_name, record.text("MeterSubCategory"), record.text("ProductName"))
    )
    found = hosted.azure_openai(
        meter=record.text("MeterName"),
        context=context,
        quantity=row.consumed_quantity,
        unit=unit,
    )
    return hosted.mark(row, found)


def _list_cost(record: Record, c: dict[str, str | None]) -> Decimal | None:
    # PayGPrice is the pay-as-you-go unit price; list cost is it times the quantity.
    price = record.decimal("PayGPrice")
    quantity = record.decimal(c["quantity"])
    if price is None or quantity is None:
        return None
    return price * quantity


def azure_date_or_none(record: Record, name: str) -> datetime | None:
    if not record.header.has(name) or record.raw(name) is None:
        return None
    return azure_date(record, name)


def azure_date(record: Record, name: str | None) -> datetime:
    value = record.raw(name)
    if not isinstance(value, str):
        return record.datetime(name)  # Parquet timestamps and dates
    text = value.strip()
    for form in DATE_FORMATS:
        try:
            return datetime.strptime(text, form).replace(tzinfo=UTC)
        except ValueError:
            continue
    return record.datetime(name)  # ISO with a zone, or a located error naming the cell


def azure_tags(record: Record, name: str) -> dict[str, object]:
    """The Tags cell: JSON, or EA's JSON members without their braces ("a": "b","c": "d")."""
    text = record.text(name)
    if not text:
        return {}
    if not text.startswith("{"):
        text = "{" + text + "}"
    try:
        found = json.loads(text)
    except json.JSONDecodeError as exc:
        raise record.error(name, f"cannot read the tags {text[:60]!r}: {exc.msg}", "JSON") from None
    if not isinstance(found, dict):
        raise record.error(name, f"{text[:60]!r} is not a set of tags", "a JSON object")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in found.items()}
