"""OCI cost reports (CSV or CSV.gz, `lineItem/...`, `product/...`, `cost/myCost` columns), mapped
to FOCUS-aligned cost lines.

Columns from Oracle's "Cost and Usage Reports Overview"
(docs.oracle.com/iaas/Content/Billing/Concepts/costusagereportsoverview.htm): lineItem/tenantId,
lineItem/intervalUsageStart/End, product/service, product/compartmentId, product/region,
product/resourceId, usage/billedQuantity, cost/productSku, product/Description,
cost/unitPrice, cost/myCost (what the tenancy pays, the billed cost), cost/myCostOverage,
cost/currencyCode, cost/billingUnitReadable, lineItem/isCorrection, and one `tags/<namespace>.<key>`
column per tag. OCI bills no commitment amortisation in this report, so the effective cost is
the billed cost; a correction line (lineItem/isCorrection) is an Adjustment.
"""

from __future__ import annotations

from collections.abc import Iterator

from .files import InputFile
from .focus import calendar_month
from .rows import CostLineRow
from .tabular import Record, open_table

KIND = "billing"

REQUIRED = (
    ("lineItem/intervalUsageStart",),
    ("lineItem/intervalUsageEnd",),
    ("cost/myCost",),
    ("cost/currencyCode",),
)
TAG_PREFIX = "tags/"


def parse(file: InputFile) -> Iterator[CostLineRow]:
    with open_table(file, ragged=True, expected="an OCI cost report header row, then rows") as t:
        t.header.require(REQUIRED, "OCI cost report column names such as cost/myCost")
        tag_columns = [
            (name, name[len(TAG_PREFIX) :])
            for name in t.header.names
            if name.startswith(TAG_PREFIX)
        ]
        for record in t:
            yield to_row(record, tag_columns)


def to_row(record: Record, tag_columns: list[tuple[str, str]]) -> CostLineRow:
    start = record.datetime("lineItem/intervalUsageStart")
    period_start, period_end = calendar_month(start)
    cost = record.decimal("cost/myCost", required=True)
    correction = record.text("lineItem/isCorrection").casefold() == "true"
    unit = record.text("cost/billingUnitReadable") or record.text("cost/skuUnitDescription")
    return CostLineRow(
        provider="Oracle",
        billing_account_id=record.text("lineItem/tenantId"),
        sub_account_id=record.text("product/compartmentId"),
        billing_period_start=period_start,
        billing_period_end=period_end,
        charge_period_start=start,
        charge_period_end=record.datetime("lineItem/intervalUsageEnd"),
        charge_category="Adjustment" if correction else "Usage",
        charge_description=record.text("product/Description"),
        service_name=record.text("product/service"),
        region=record.text("product/region"),
        resource_id=record.text("product/resourceId"),
        resource_type=record.text("product/resource"),
        sku_id=record.text("cost/productSku"),
        pricing_unit=unit,
        consumed_quantity=record.decimal("usage/billedQuantity"),
        consumed_unit=unit,
        billed_cost=cost,
        effective_cost=cost,
        billing_currency=record.currency("cost/currencyCode"),
        tags={key: record.text(name) for name, key in tag_columns if record.text(name)},
        source_file=record.file,
        source_row=record.line,
    )
