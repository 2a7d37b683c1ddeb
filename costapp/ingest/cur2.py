"""AWS CUR 2.0 (Data Exports) in CSV.gz or Parquet: snake_case columns, with most product
attributes folded into a `product` map and tags into `resource_tags` / `cost_category` maps.

The cost rules are those of the legacy CUR (cur.py); only the column names differ. In CSV the
map columns arrive as JSON objects; in Parquet as map<string,string>.
"""

from __future__ import annotations

from collections.abc import Iterator

from .cur import CurColumns, parse_with
from .files import InputFile
from .rows import CostLineRow

KIND = "billing"

CUR2 = CurColumns(
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
    service_name=("product[product_name]", "product_servicecode", "line_item_product_code"),
    instance_type=("product_instance_type", "product[instance_type]"),
    region=("product_region_code", "product[region]", "product[region_code]"),
    sku=("product_sku", "product[sku]"),
    purchase_option=("pricing_purchase_option",),
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
    tag_maps=(("resource_tags", ""), ("cost_category", "cost_category/")),
    label="AWS CUR 2.0",
)


def parse(file: InputFile) -> Iterator[CostLineRow]:
    yield from parse_with(file, CUR2)
