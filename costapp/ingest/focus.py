"""FOCUS 1.0-1.2 cost and usage files (CSV, CSV.gz or Parquet): how Azure, OCI and AWS's own
FOCUS export arrive. Each row becomes one CostLineRow, costs kept at the provider's precision.

The version is told by the header alone: 1.1 added capacity reservations, commitment quantities
and SkuMeter/SkuPriceDetails; 1.2 added BillingAccountType, SubAccountType, InvoiceId and the
PricingCurrency* columns. Renames across versions (Region -> RegionId in 1.0, ProviderName ->
ServiceProviderName in 1.3) are read under either spelling. Null is written both as "NULL" and
as "" in the official sample; both read as null.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from .files import InputFile
from .rows import CostLineRow
from .tabular import Header, Record, open_table

KIND = "billing"

CHARGE_CATEGORIES = {c.casefold(): c for c in ("Usage", "Purchase", "Tax", "Credit", "Adjustment")}

# Columns a version introduced; the newest version whose marker is present wins.
VERSION_MARKERS: dict[str, tuple[str, ...]] = {
    "1.2": (
        "BillingAccountType",
        "SubAccountType",
        "InvoiceId",
        "PricingCurrency",
        "PricingCurrencyContractedUnitPrice",
        "PricingCurrencyEffectiveCost",
        "PricingCurrencyListUnitPrice",
    ),
    "1.1": (
        "CapacityReservationId",
        "CapacityReservationStatus",
        "CommitmentDiscountQuantity",
        "CommitmentDiscountUnit",
        "ServiceSubcategory",
        "SkuMeter",
        "SkuPriceDetails",
    ),
}

PROVIDER = ("ProviderName", "ServiceProviderName")
REGION = ("RegionId", "Region")

# What a CostLine cannot do without; the other FOCUS columns are read when present.
REQUIRED: tuple[tuple[str, ...], ...] = (
    ("BilledCost",),
    ("EffectiveCost",),
    ("BillingCurrency",),
    ("ChargeCategory",),
    ("ChargePeriodStart",),
    ("ChargePeriodEnd",),
    PROVIDER,
)

# FOCUS 0.5 names: a file with these is a pre-1.0 export, told apart for a clearer message.
PRE_1_0 = ("ChargeType", "AmortizedCost", "BilledCurrency", "Provider")


def detect_version(header: Header) -> str:
    for version, markers in VERSION_MARKERS.items():
        if any(header.has(name) for name in markers):
            return version
    return "1.0"


def check_header(header: Header) -> str:
    """The FOCUS version of this header, or a ParseError at line 1 naming what is missing."""
    expected = "FOCUS 1.0-1.2 column names"
    if not header.has("ChargeCategory") and any(header.has(n) for n in PRE_1_0):
        expected += " (this header looks like FOCUS 0.5: ChargeType, AmortizedCost)"
    header.require(REQUIRED, expected)
    return detect_version(header)


def parse(file: InputFile) -> Iterator[CostLineRow]:
    with open_table(file) as table:
        check_header(table.header)
        provider = table.header.first(*PROVIDER)
        region = table.header.first(*REGION)
        for record in table:
            yield to_row(record, provider=provider, region=region)


def to_row(record: Record, *, provider: str | None, region: str | None) -> CostLineRow:
    start = record.datetime("ChargePeriodStart")
    end = record.datetime("ChargePeriodEnd")
    period_start = record.datetime_or_none("BillingPeriodStart")
    period_end = record.datetime_or_none("BillingPeriodEnd")
    if period_start is None:
        period_start, period_end = calendar_month(start)
    elif period_end is None:
        period_end = calendar_month(period_start)[1]
    tags = record.mapping("Tags")
    return CostLineRow(
        provider=record.text(provider),
        billing_account_id=record.text("BillingAccountId"),
        sub_account_id=record.text("SubAccountId"),
        billing_period_start=period_start,
        billing_period_end=period_end,
        charge_period_start=start,
        charge_period_end=end,
        charge_category=charge_category(record, "ChargeCategory"),
        charge_description=record.text("ChargeDescription"),
        service_name=record.text("ServiceName"),
        service_category=record.text("ServiceCategory"),
        region=record.text(region),
        resource_id=record.text("ResourceId"),
        resource_type=record.text("ResourceType"),
        sku_id=record.text("SkuId"),
        pricing_category=record.text("PricingCategory"),
        pricing_unit=record.text("PricingUnit"),
        consumed_quantity=record.decimal("ConsumedQuantity"),
        consumed_unit=record.text("ConsumedUnit"),
        billed_cost=record.decimal("BilledCost", required=True),
        effective_cost=record.decimal("EffectiveCost", required=True),
        list_cost=record.decimal("ListCost"),
        contracted_cost=record.decimal("ContractedCost"),
        billing_currency=record.currency("BillingCurrency"),
        commitment_discount_id=record.text("CommitmentDiscountId"),
        tags={str(k): _plain(v) for k, v in tags.items()},
        source_file=record.file,
        source_row=record.line,
    )


def charge_category(record: Record, column: str) -> str:
    value = record.text(column)
    known = CHARGE_CATEGORIES.get(value.casefold())
    if known is None:
        raise record.error(
            column,
            f"unknown charge category {value!r}",
            "Usage, Purchase, Tax, Credit or Adjustment",
        )
    return known


def calendar_month(moment: datetime) -> tuple[datetime, datetime]:
    """The UTC calendar month holding `moment`: the billing period when a format has none."""
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    end = datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _plain(value: object) -> object:
    """Tag values as JSON-ready scalars: a number tag read as Decimal is kept as its text."""
    if value is None or isinstance(value, str | bool):
        return value
    return str(value)
