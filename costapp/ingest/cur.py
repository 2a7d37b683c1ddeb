"""AWS Cost and Usage Reports, legacy format (`lineItem/UsageStartDate`-style columns, CSV or
CSV.gz), mapped to FOCUS-aligned cost lines. The snake_case spelling AWS's Athena integration
gives the same columns (`line_item_unblended_cost`, `product_region`, `resource_tags_user_team`)
is read as well (ATHENA below).

The mapping follows the FinOps Foundation's CUR -> FOCUS conversion rules
(focus_converters/conversion_rules_export/csv/aws-cur.csv): BilledCost is the net unblended
cost when AWS gives one, else the unblended cost; EffectiveCost (amortized) takes the Savings
Plan or reservation effective cost on covered usage, spreads fees, and zeroes negations and
upfront fees so a commitment is never counted twice. The same rules serve CUR 2.0 (cur2.py),
which only spells the columns differently; hence the column sets below.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from . import hosted
from .files import InputFile
from .focus import calendar_month
from .rows import CostLineRow
from .tabular import Record, open_table

KIND = "billing"

# lineItem/LineItemType -> FOCUS ChargeCategory. FOCUS 1.0 has Credit, so credits and refunds
# land there rather than in Adjustment as the pre-1.0 converter rules have it.
CHARGE_CATEGORY = {
    "Usage": "Usage",
    "DiscountedUsage": "Usage",
    "SavingsPlanCoveredUsage": "Usage",
    "SavingsPlanNegation": "Usage",
    "BundledDiscount": "Usage",
    "Discount": "Usage",
    "PrivateRateDiscount": "Usage",
    "EdpDiscount": "Usage",
    "Tax": "Tax",
    "Fee": "Purchase",
    "RIFee": "Purchase",
    "SavingsPlanUpfrontFee": "Purchase",
    "SavingsPlanRecurringFee": "Purchase",
    "Credit": "Credit",
    "Refund": "Credit",
}
# A line item type AWS adds later still carries real money: keep it, visibly, as Adjustment.
UNKNOWN_CATEGORY = "Adjustment"

PURCHASE_OPTION = {
    "On-Demand": "Standard",
    "Dedicated Hosts": "Standard",
    "Reserved Instances": "Committed",
    "Spot Instances": "Dynamic",
}
PRICING_TERM = {"OnDemand": "Standard", "Reserved": "Committed", "Spot": "Dynamic"}

# lineItem/ProductCode -> FOCUS ServiceCategory, for the services an inference stack bills.
SERVICE_CATEGORY = {
    "AmazonEC2": "Compute",
    "AmazonEKS": "Compute",
    "AmazonECS": "Compute",
    "AWSLambda": "Compute",
    "AmazonSageMaker": "AI and Machine Learning",
    "AmazonBedrock": "AI and Machine Learning",
    "AmazonS3": "Storage",
    "AmazonEFS": "Storage",
    "AmazonFSx": "Storage",
    "AWSDataTransfer": "Networking",
    "AmazonVPC": "Networking",
    "AmazonCloudFront": "Networking",
    "AWSELB": "Networking",
    "AmazonRDS": "Databases",
    "AmazonDynamoDB": "Databases",
    "AmazonCloudWatch": "Management and Governance",
}


@dataclass(frozen=True)
class CurColumns:
    """Where each CUR field lives. A tuple lists spellings in order of preference; a name
    like "product[region]" is a key of a map column (CUR 2.0 folds most product/* columns
    into one `product` map)."""

    payer_account: str
    usage_account: str
    period_start: str
    period_end: str
    usage_start: str
    usage_end: str
    line_type: str
    unblended_cost: str
    net_unblended_cost: str
    currency: str
    description: str
    product_code: str
    usage_type: str
    usage_amount: str
    resource_id: str
    service_name: tuple[str, ...]
    instance_type: tuple[str, ...]
    region: tuple[str, ...]
    sku: tuple[str, ...]
    purchase_option: tuple[str, ...]
    pricing_term: str
    pricing_unit: str
    public_cost: str
    public_rate: str
    sp_arn: str
    sp_effective_cost: str
    sp_total_commitment: str
    sp_used_commitment: str
    ri_arn: str
    ri_effective_cost: str
    ri_unused_upfront: str
    ri_unused_recurring: str
    # Legacy CUR spreads tags over prefixed columns; CUR 2.0 keeps them in map columns.
    tag_prefixes: tuple[tuple[str, str], ...] = ()
    tag_maps: tuple[tuple[str, str], ...] = ()
    # How a missing-column error names the layout it expected.
    label: str = "AWS CUR"
    # Bedrock's price-list attribute "model" ("Claude 2.0"), where the export carries it.
    model: tuple[str, ...] = ()

    def required(self) -> tuple[tuple[str, ...], ...]:
        return tuple(
            (name,)
            for name in (
                self.usage_start,
                self.usage_end,
                self.line_type,
                self.unblended_cost,
                self.currency,
            )
        )


LEGACY = CurColumns(
    payer_account="bill/PayerAccountId",
    usage_account="lineItem/UsageAccountId",
    period_start="bill/BillingPeriodStartDate",
    period_end="bill/BillingPeriodEndDate",
    usage_start="lineItem/UsageStartDate",
    usage_end="lineItem/UsageEndDate",
    line_type="lineItem/LineItemType",
    unblended_cost="lineItem/UnblendedCost",
    net_unblended_cost="lineItem/NetUnblendedCost",
    currency="lineItem/CurrencyCode",
    description="lineItem/LineItemDescription",
    product_code="lineItem/ProductCode",
    usage_type="lineItem/UsageType",
    usage_amount="lineItem/UsageAmount",
    resource_id="lineItem/ResourceId",
    service_name=("product/ProductName", "product/servicename", "lineItem/ProductCode"),
    instance_type=("product/instanceType",),
    region=("product/region", "product/regionCode"),
    sku=("product/sku",),
    purchase_option=("pricing/PurchaseOption", "product/PurchaseOption"),
    pricing_term="pricing/term",
    pricing_unit="pricing/unit",
    public_cost="pricing/publicOnDemandCost",
    public_rate="pricing/publicOnDemandRate",
    sp_arn="savingsPlan/SavingsPlanARN",
    sp_effective_cost="savingsPlan/SavingsPlanEffectiveCost",
    sp_total_commitment="savingsPlan/TotalCommitmentToDate",
    sp_used_commitment="savingsPlan/UsedCommitment",
    ri_arn="reservation/ReservationARN",
    ri_effective_cost="reservation/EffectiveCost",
    ri_unused_upfront="reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    ri_unused_recurring="reservation/UnusedRecurringFee",
    tag_prefixes=(("resourceTags/", ""), ("costCategory/", "costCategory/")),
    model=("product/model",),
)

# The same legacy CUR as AWS's Athena integration (and Glue crawlers) write it: every
# `group/Name` flattened to snake_case, so `product/ProductName` is `product_product_name`,
# `product/region` is `product_region`, `resourceTags/user:team` is `resource_tags_user_team`.
# The line item columns read alike in CUR 2.0, which is why only the product and tag columns
# differ from cur2.CUR2. The flattening has already lost a tag key's `:`, so tags keep the
# snake_case key (`user_team`), as CUR 2.0's resource_tags map does.
ATHENA = CurColumns(
    payer_account="bill_payer_account_id",
    usage_account="line_item_usage_account_id",
    period_start="bill_billing_period_start_date",
    period_end="bill_billing_period_end_date",
    usage_start="line_item_usage_start_date",
    usage_end="line_item_usage_end_date",
    line_type="line_item_line_item_type",
    unblended_cost="line_item_unblended_cost",
    net_unblended_cost="line_item_net_unblended_cost",
    currency="line_item_currency_code",
    description="line_item_line_item_description",
    product_code="line_item_product_code",
    usage_type="line_item_usage_type",
    usage_amount="line_item_usage_amount",
    resource_id="line_item_resource_id",
    service_name=("product_product_name", "product_servicename", "line_item_product_code"),
    instance_type=("product_instance_type",),
    region=("product_region", "product_region_code"),
    sku=("product_sku",),
    purchase_option=("pricing_purchase_option", "product_purchase_option"),
    pricing_term="pricing_term",
    pricing_unit="pricing_unit",
    public_cost="pricing_public_on_demand_cost",
    public_rate="pricing_public_on_demand_rate",
    sp_arn="savings_plan_savings_plan_a_r_n",
    sp_effective_cost="savings_plan_savings_plan_effective_cost",
    sp_total_commitment="savings_plan_total_commitment_to_date",
    sp_used_commitment="savings_plan_used_commitment",
    ri_arn="reservation_reservation_a_r_n",
    ri_effective_cost="reservation_effective_cost",
    ri_unused_upfront="reservation_unused_amortized_upfront_fee_for_billing_period",
    ri_unused_recurring="reservation_unused_recurring_fee",
    tag_prefixes=(("resource_tags_", ""), ("cost_category_", "cost_category/")),
    label="AWS CUR (Athena snake_case)",
    model=("product_model",),
)


def parse(file: InputFile) -> Iterator[CostLineRow]:
    yield from parse_with(file, LEGACY, ATHENA)


def parse_with(
    file: InputFile, columns: CurColumns, *alternatives: CurColumns
) -> Iterator[CostLineRow]:
    """Reads `file` with the first column set whose cost column its header holds; a header
    with none of them is refused in the terms of the first."""
    # ragged: some CUR writers (koku's samples of real exports) end every row one column
    # before the header does; the missing trailing cell reads as null. Every row must still be
    # as wide as the first and end with a line break, so a file cut mid-row is refused.
    expected = "an AWS CUR header row, then rows"
    with open_table(file, ragged=True, expected=expected) as table:
        if not table.header.has(columns.unblended_cost):
            columns = next((c for c in alternatives if table.header.has(c.unblended_cost)), columns)
        table.header.require(
            columns.required(), f"{columns.label} column names such as {columns.unblended_cost}"
        )
        tag_columns = [
            (name, keep + name[len(prefix) :])
            for name in table.header.names
            for prefix, keep in columns.tag_prefixes
            if name.startswith(prefix)
        ]
        for record in table:
            yield to_row(record, columns, tag_columns)


def to_row(record: Record, c: CurColumns, tag_columns: list[tuple[str, str]]) -> CostLineRow:
    maps = _MapCells(record)
    line_type = record.text(c.line_type)
    start = record.datetime(c.usage_start)
    period_start = record.datetime_or_none(c.period_start)
    period_end = record.datetime_or_none(c.period_end)
    if period_start is None or period_end is None:
        period_start, period_end = calendar_month(period_start or start)
    billed = record.decimal(c.net_unblended_cost)
    if billed is None:
        billed = record.decimal(c.unblended_cost, required=True)
    usage_amount = record.decimal(c.usage_amount)
    tags = {key: record.text(name) for name, key in tag_columns if record.text(name)}
    for column, keep in c.tag_maps:
        tags.update({keep + k: str(v) for k, v in record.mapping(column).items() if v})
    product_code = record.text(c.product_code)
    row = CostLineRow(
        provider="AWS",
        billing_account_id=record.text(c.payer_account),
        sub_account_id=record.text(c.usage_account),
        billing_period_start=period_start,
        billing_period_end=period_end,
        charge_period_start=start,
        charge_period_end=record.datetime(c.usage_end),
        charge_category=CHARGE_CATEGORY.get(line_type, UNKNOWN_CATEGORY),
        charge_description=record.text(c.description),
        service_name=maps.text(c.service_name),
        service_category=SERVICE_CATEGORY.get(product_code, ""),
        region=maps.text(c.region),
        resource_id=record.text(c.resource_id),
        resource_type=maps.text(c.instance_type),
        sku_id=maps.text(c.sku),
        pricing_category=_pricing_category(record, c, maps, line_type),
        pricing_unit=record.text(c.pricing_unit),
        consumed_quantity=usage_amount,
        consumed_unit=record.text(c.pricing_unit),
        billed_cost=billed,
        effective_cost=_effective_cost(record, c, line_type, billed),
        list_cost=_list_cost(record, c, usage_amount),
        billing_currency=record.currency(c.currency),
        commitment_discount_id=record.text(c.sp_arn) or record.text(c.ri_arn),
        tags=tags,
        source_file=record.file,
        source_row=record.line,
    )
    if product_code == "AmazonBedrock" or "Bedrock" in row.service_name:
        found = hosted.bedrock(
            product_code=product_code,
            usage_type=record.text(c.usage_type),
            product_name=row.service_name,
            model=maps.text(c.model),
            resource_id=row.resource_id,
            quantity=usage_amount,
            unit=row.pricing_unit,
        )
        hosted.mark(row, found)
    return row


def _effective_cost(record: Record, c: CurColumns, line_type: str, billed: Decimal) -> Decimal:
    """Amortized cost, per the converter's EffectiveCost rule."""
    if line_type == "SavingsPlanCoveredUsage":
        return record.decimal(c.sp_effective_cost, required=True)
    if line_type == "SavingsPlanRecurringFee":
        return record.decimal(c.sp_total_commitment, required=True) - record.decimal(
            c.sp_used_commitment, required=True
        )
    if line_type in ("SavingsPlanNegation", "SavingsPlanUpfrontFee"):
        return Decimal(0)  # already inside the covered usage's effective cost
    if line_type == "DiscountedUsage":
        return record.decimal(c.ri_effective_cost, required=True)
    if line_type == "RIFee":
        return (record.decimal(c.ri_unused_upfront) or Decimal(0)) + (
            record.decimal(c.ri_unused_recurring) or Decimal(0)
        )
    if line_type == "Fee" and record.text(c.ri_arn):
        return Decimal(0)  # an RI's upfront fee: amortized into its discounted usage
    return billed


def _list_cost(record: Record, c: CurColumns, usage_amount: Decimal | None) -> Decimal | None:
    # The provider's own figure first; rate x amount only when AWS left it out.
    public_cost = record.decimal(c.public_cost)
    if public_cost is not None:
        return public_cost
    rate = record.decimal(c.public_rate)
    if rate is not None and usage_amount is not None:
        return rate * usage_amount
    return None


def _pricing_category(record: Record, c: CurColumns, maps: _MapCells, line_type: str) -> str:
    if line_type in ("SavingsPlanCoveredUsage", "DiscountedUsage"):
        return "Committed"
    option = PURCHASE_OPTION.get(maps.text(c.purchase_option))
    if option:
        return option
    if "SpotUsage" in record.text(c.usage_type):
        return "Dynamic"
    return PRICING_TERM.get(record.text(c.pricing_term), "")


class _MapCells:
    """Reads plain columns and "map[key]" cells of one record, decoding each map once."""

    def __init__(self, record: Record) -> None:
        self.record = record
        self._maps: dict[str, dict] = {}

    def text(self, names: tuple[str, ...]) -> str:
        for name in names:
            if name.endswith("]"):
                column, key = name[:-1].split("[", 1)
                if column not in self._maps:
                    self._maps[column] = self.record.mapping(column)
                value = self._maps[column].get(key)
                value = "" if value is None else str(value).strip()
            else:
                value = self.record.text(name)
            if value:
                return value
        return ""
