"""The commitment and spot discounts the bill itself shows, for the pricing lever's defaults.

A FOCUS line carries what it cost (EffectiveCost) and what it would have cost at list price
(ListCost); over the committed (or spot) usage lines of the scope's resources in the period,
1 - effective / list is the discount this fleet actually gets. Finance only: the lines are the
provider's, not split by team, so a lead's scope keeps the published defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection

from costapp.core.access import Scope

from .baseline import WhatIfScope, _where

# FOCUS PricingCategory -> the lever parameter its discount suggests.
CATEGORIES = {"Committed": "commitment_discount", "Dynamic": "spot_discount"}

_DISCOUNTS = """
SELECT c.pricing_category, sum(c.effective_cost), sum(c.list_cost), count(*)
FROM ingest_costline c
WHERE c.charge_category = 'Usage' AND c.pricing_category = ANY(%s)
  AND c.list_cost > 0 AND c.billing_currency = %s
  AND c.charge_period_start >= %s AND c.charge_period_start < %s
  AND c.resource_id IN (
      SELECT DISTINCT a.resource_id FROM attribution_allocation a
      WHERE a.hour >= %s AND a.hour < %s AND a.currency = %s AND a.resource_id <> ''{where})
GROUP BY c.pricing_category
"""


@dataclass(frozen=True)
class BillDiscount:
    parameter: str  # commitment_discount or spot_discount
    value: Decimal
    effective: Decimal
    list_price: Decimal
    lines: int


def from_bill(scope: Scope, what: WhatIfScope, start: datetime, end: datetime,
              currency: str) -> dict[str, BillDiscount]:  # fmt: skip
    """The discount per lever parameter over the usage lines of `what`'s resources in
    [start, end) that carry a list price; nothing unless `scope` reads the whole company."""
    if not scope.whole_company:
        return {}
    where, params = _where(scope, what)
    window = [list(CATEGORIES), currency, start, end, start, end, currency, *params]
    with connection.cursor() as cursor:
        cursor.execute(_DISCOUNTS.format(where=where), window)
        rows = cursor.fetchall()
    found = {}
    for category, effective, list_price, lines in rows:
        discount = 1 - Decimal(effective) / Decimal(list_price)
        if Decimal(0) <= discount < 1:  # a line above list (or free) says nothing about one
            parameter = CATEGORIES[category]
            found[parameter] = BillDiscount(parameter, discount, effective, list_price, lines)
    return found
