"""FOCUS 1.0-1.4 cost and usage files (CSV, CSV.gz or Parquet): how Azure, OCI and AWS's own
FOCUS export arrive. Each row becomes one CostLineRow, costs kept at the provider's precision.

The version is told by the header alone: 1.1 added capacity reservations, commitment quantities
and SkuMeter/SkuPriceDetails; 1.2 added BillingAccountType, SubAccountType, InvoiceId and the
PricingCurrency* columns; 1.3 added ServiceProviderName/HostProviderName (deprecating
ProviderName), ContractApplied and the split cost allocation columns (Allocated*); 1.4 drops
ProviderName. Column lists: FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec,
specification/datasets/cost_and_usage/columns/*.md ("Version Introduced"). Renames across
versions (Region -> RegionId in 1.0, ProviderName -> ServiceProviderName in 1.3) are read under
either spelling. Null is written both as "NULL" and as "" in the official sample; both read as
null.

InvoiceId is kept on every line (NULL when absent): the sum of BilledCost per invoice is what
finance reconciles. A 1.3 allocated charge (AllocatedMethodId not null) is one piece of a charge
the provider already split to AllocatedResourceId; its AllocatedTags are the piece's own tags and
win over the origin charge's Tags, so the tag rules place the piece where the provider put it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from operator import itemgetter

from . import hosted
from .files import InputFile
from .parsing import NULLS
from .rows import CostLineRow
from .tabular import Header, Record, open_table

KIND = "billing"

CHARGE_CATEGORIES = {c.casefold(): c for c in ("Usage", "Purchase", "Tax", "Credit", "Adjustment")}

# Columns a version introduced; the newest version whose marker is present wins.
VERSION_MARKERS: dict[str, tuple[str, ...]] = {
    "1.3": (
        "ServiceProviderName",
        "HostProviderName",
        "ContractApplied",
        "AllocatedMethodId",
        "AllocatedMethodDetails",
        "AllocatedResourceId",
        "AllocatedResourceName",
        "AllocatedTags",
    ),
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
    if header.has("ServiceProviderName") and not header.has("ProviderName"):
        return "1.4"  # 1.4 removed the ProviderName that 1.3 deprecated
    for version, markers in VERSION_MARKERS.items():
        if any(header.has(name) for name in markers):
            return version
    return "1.0"


def check_header(header: Header) -> str:
    """The FOCUS version of this header, or a ParseError at line 1 naming what is missing."""
    expected = "FOCUS 1.0-1.4 column names"
    native = native_format(header)
    if native:
        expected += f" (this header looks like {native[1]}: read it with the format {native[0]})"
    elif not header.has("ChargeCategory") and any(header.has(n) for n in PRE_1_0):
        expected += " (this header looks like FOCUS 0.5: ChargeType, AmortizedCost)"
    header.require(REQUIRED, expected)
    return detect_version(header)


# A provider's native export, told by columns FOCUS never has. Azure's usage details carry
# ChargeType too, which once made them read as "FOCUS 0.5".
NATIVE_MARKERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "azure",
        "an Azure Cost Management export",
        ("CostInBillingCurrency", "PreTaxCost", "UsageDateTime", "MeterId", "SubscriptionGuid"),
    ),
    ("oci", "an OCI cost report", ("lineItem/intervalUsageStart", "cost/myCost")),
    ("cur", "a legacy AWS CUR", ("lineItem/UnblendedCost", "line_item_unblended_cost")),
)


def native_format(header: Header) -> tuple[str, str] | None:
    """(format, description) of the native export this header looks like, if any."""
    if header.has("BilledCost"):
        return None
    for name, description, markers in NATIVE_MARKERS:
        if any(header.has(marker) for marker in markers):
            return name, description
    return None


# CostLineRow text fields and the FOCUS column each reads; provider and region are added per
# file under the spelling its header uses.
TEXT_COLUMNS: dict[str, str] = {
    "billing_account_id": "BillingAccountId",
    "sub_account_id": "SubAccountId",
    "charge_description": "ChargeDescription",
    "service_name": "ServiceName",
    "service_category": "ServiceCategory",
    "resource_id": "ResourceId",
    "resource_type": "ResourceType",
    "sku_id": "SkuId",
    "pricing_category": "PricingCategory",
    "pricing_unit": "PricingUnit",
    "consumed_unit": "ConsumedUnit",
    "commitment_discount_id": "CommitmentDiscountId",
    "allocated_method_id": "AllocatedMethodId",
    "allocated_resource_id": "AllocatedResourceId",
}
TAGS_HELD = 1024  # distinct Tags cells remembered per file: most lines repeat a few tag sets


def parse(file: InputFile) -> Iterator[CostLineRow]:
    with open_table(file, expected="a FOCUS header row, then rows") as table:
        check_header(table.header)
        layout = Layout(
            table.header,
            provider=table.header.first(*PROVIDER),
            region=table.header.first(*REGION),
        )
        for record in table:
            yield to_row(record, layout)


class Layout:
    """One file's text columns resolved to positions once, so that a row reads its ~16 plain
    text cells in one step; typed cells still go through Record, which locates errors."""

    def __init__(self, header: Header, *, provider: str | None, region: str | None) -> None:
        columns = {**TEXT_COLUMNS, "provider": provider, "region": region}
        positions = {field: header.find(column) for field, column in columns.items()}
        self.fields = tuple(field for field, i in positions.items() if i is not None)
        indices = [i for i in positions.values() if i is not None]
        self.width = max(indices, default=-1) + 1
        # itemgetter fetches them all in one C call, but returns a bare value for one index.
        self._cells: Callable[[list], tuple] = (
            itemgetter(*indices)
            if len(indices) > 1
            else lambda values: tuple(values[i] for i in indices)
        )
        self.absent = {field: "" for field, i in positions.items() if i is None}
        self._tags: dict[str, dict[str, object]] = {}
        self.allocated_tags = header.has("AllocatedTags")

    def texts(self, record: Record) -> dict[str, str]:
        """Each text field's stripped cell, "" for a null spelling or an absent column."""
        values = record.values
        if len(values) < self.width:  # a short (ragged) row: missing cells read as null
            values = [*values, *[None] * (self.width - len(values))]
        # _text inlined for the plain str cells a CSV holds: a call per cell costs ~15% of a row.
        texts = [
            ("" if (text := value.strip()) in NULLS else text)
            if value.__class__ is str
            else _text(value)
            for value in self._cells(values)
        ]
        found = dict(self.absent)
        found.update(zip(self.fields, texts, strict=True))
        return found

    def tags(self, record: Record) -> dict[str, object]:
        """The Tags cell as JSON-ready scalars; a text cell seen before is not parsed again."""
        cell = record.raw("Tags")
        if not isinstance(cell, str):
            return _plain_tags(record)
        known = self._tags.get(cell)
        if known is None:
            known = _plain_tags(record)
            if len(self._tags) >= TAGS_HELD:
                self._tags.clear()
            self._tags[cell] = known
        return dict(known)  # each row owns its dict


def _text(value: object) -> str:
    """Record.text for a value already fetched by position."""
    if isinstance(value, str):
        value = value.strip()
        return "" if value in NULLS else value
    return "" if value is None else str(value).strip()


def _plain_tags(record: Record, column: str = "Tags") -> dict[str, object]:
    return {str(k): _plain(v) for k, v in record.mapping(column).items()}


def to_row(record: Record, layout: Layout) -> CostLineRow:
    start = record.datetime("ChargePeriodStart")
    end = record.datetime("ChargePeriodEnd")
    period_start = record.datetime_or_none("BillingPeriodStart")
    period_end = record.datetime_or_none("BillingPeriodEnd")
    if period_start is None:
        period_start, period_end = calendar_month(start)
    elif period_end is None:
        period_end = calendar_month(period_start)[1]
    tags = layout.tags(record)
    if layout.allocated_tags:
        tags.update(_plain_tags(record, "AllocatedTags"))
    row = CostLineRow(
        **layout.texts(record),
        billing_period_start=period_start,
        billing_period_end=period_end,
        charge_period_start=start,
        charge_period_end=end,
        charge_category=charge_category(record, "ChargeCategory"),
        consumed_quantity=record.decimal("ConsumedQuantity"),
        billed_cost=record.decimal("BilledCost", required=True),
        effective_cost=record.decimal("EffectiveCost", required=True),
        list_cost=record.decimal("ListCost"),
        contracted_cost=record.decimal("ContractedCost"),
        billing_currency=record.currency("BillingCurrency"),
        invoice_id=record.text("InvoiceId") or None,
        tags=tags,
        source_file=record.file,
        source_row=record.line,
    )
    return hosted.mark(row, hosted.focus_line(row, record.text))


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
