"""AWS CUR 2.0 (Data Exports) in CSV.gz or Parquet: snake_case columns, with most product
attributes folded into a `product` map and tags into `resource_tags` / `cost_category` maps.

The cost rules are those of the legacy CUR (cur.py); only the column names differ. In CSV the
map columns arrive as JSON objects; in Parquet as map<string,string>.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from .cur import ATHENA, parse_with
from .files import InputFile
from .rows import CostLineRow

KIND = "billing"

# The line item, pricing, savings plan and reservation columns are those of the legacy CUR as
# Athena flattens it (cur.ATHENA); CUR 2.0 differs in its product columns and its tag maps.
CUR2 = replace(
    ATHENA,
    service_name=("product[product_name]", "product_servicecode", "line_item_product_code"),
    instance_type=("product_instance_type", "product[instance_type]"),
    region=("product_region_code", "product[region]", "product[region_code]"),
    sku=("product_sku", "product[sku]"),
    purchase_option=("pricing_purchase_option",),
    tag_prefixes=(),
    tag_maps=(("resource_tags", ""), ("cost_category", "cost_category/")),
    label="AWS CUR 2.0",
    model=("product[model]", "product_model"),
)


def parse(file: InputFile) -> Iterator[CostLineRow]:
    yield from parse_with(file, CUR2)
