"""A closed month's allocations as FOCUS 1.3 rows, so other FinOps tools can read our split.

FOCUS 1.3 describes a data generator's split cost allocation with three columns (spec text:
FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec, specification/datasets/cost_and_usage/columns/
allocatedmethodid.md, allocatedmethoddetails.md, allocatedresourceid.md; "Introduced 1.3"):

- AllocatedMethodId: "a unique identifier defining the method of data generator-calculated split
  cost allocation", documented by the generator (ours: METHODS below).
- AllocatedMethodDetails: a JSON object whose "Elements" array holds objects with
  "AllocatedRatio" (required: this allocated charge's ratio of its *origin charge*; the ratios of
  one origin charge sum to 1), "UsageUnit" (the unit measured to compute the ratio) and
  "UsageQuantity" (how much of it); generator-defined keys start with "x_".
- AllocatedResourceId: what the cost is allocated to; null for "the unallocated portion of the
  origin charge after split cost allocation".

Our origin charge is one resource-hour in one currency (the cost lines spread onto it), split
into usage, shared, idle, unmeasured and unallocated rows, so each row's AllocatedRatio is its
EffectiveCost over the resource-hour's (BilledCost when that is zero). The allocated-to object is
the (team, model, endpoint) key, or the pool for idle. The team, model and endpoint are also
given as Tags with our "ledger/" prefix (FOCUS requires generator-defined tag keys to carry one).
Custom columns start with "x_", as FOCUS requires. Money is written exactly, never rounded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from .allocations import chunks
from .models import LineKind

HOUR = timedelta(hours=1)
GENERATOR = "inference-ledger"
COLUMNS = (
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "BilledCost",
    "EffectiveCost",
    "BillingCurrency",
    "ResourceId",
    "ServiceName",
    "Tags",
    "AllocatedMethodId",
    "AllocatedMethodDetails",
    "AllocatedResourceId",
    "x_LineKind",
    "x_Pool",
    "x_PricingCategory",
)
# Our documented allocation methods (AllocatedMethodId) and the unit each one measures.
METHODS = {
    "usage/gpu_seconds": "GPU-Seconds",  # busy GPU cost by the requests' measured GPU time
    "usage/tokens": "Tokens",  # by input + w x output tokens
    "usage/requests": "Requests",  # by request count
    "usage/tag": None,  # busy GPU cost with no requests, assigned whole by a tag rule
    "usage/label": "GPU-Utilization",  # by the utilization of the labelled samples
    "shared/even": "Teams",  # a shared line split evenly across the teams on GPUs that hour
    "shared/gpu_cost": "GPU-Cost",  # in proportion to their GPU cost
    "shared/tag": None,  # assigned whole to one team by a tag rule
    "idle": "GPU-Hours",  # cost x (1 - utilization), kept on the pool
    "unmeasured": None,  # no telemetry and no request load: the whole resource-hour
    "unallocated": None,  # cost no request or rule places
}

_ROWS = """
SELECT a.hour, a.kind, a.team, a.model, a.endpoint, a.resource_id, a.pool, a.pricing_category,
       a.billed_cost, a.amortized_cost, a.currency, a.rule, a.weight, a.weight_total,
       a.gpu_hours, a.utilization,
       sum(a.amortized_cost) OVER origin AS origin_effective,
       sum(a.billed_cost) OVER origin AS origin_billed,
       coalesce(s.service_name, '') AS service_name
FROM attribution_allocation a
LEFT JOIN (
    SELECT DISTINCT ON (resource_id) resource_id, service_name FROM ingest_costline
    WHERE resource_id <> '' AND charge_period_start < %(end)s AND charge_period_end > %(start)s
    ORDER BY resource_id, abs(billed_cost) DESC, id
) s ON s.resource_id = a.resource_id
WHERE a.hour >= %(start)s AND a.hour < %(end)s
WINDOW origin AS (PARTITION BY a.hour, a.resource_id, a.currency)
ORDER BY a.hour, a.resource_id, a.currency, a.kind, a.team, a.model, a.endpoint
"""
_NAMES = (
    "hour", "kind", "team", "model", "endpoint", "resource_id", "pool", "pricing_category",
    "billed", "effective", "currency", "rule", "weight", "weight_total", "gpu_hours",
    "utilization", "origin_effective", "origin_billed", "service_name",
)  # fmt: skip


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: Decimal) -> str:
    """A JSON number written exactly from a Decimal (no float on the way)."""
    return format(value.normalize(), "f") if value else "0"


def method_id(kind: str, rule: str) -> str:
    if kind in (LineKind.USAGE, LineKind.SHARED):
        family = rule.split(":", 1)[0] if rule else "unplaced"
        return f"{GENERATOR}/{kind}/{family}"
    return f"{GENERATOR}/{kind}"


def details(row: dict) -> str:
    """AllocatedMethodDetails: the row's ratio of its resource-hour, the unit measured and how
    much of it, and our own figures behind the ratio as x_ keys."""
    if row["origin_effective"]:
        ratio = row["effective"] / row["origin_effective"]
    elif row["origin_billed"]:
        ratio = row["billed"] / row["origin_billed"]
    else:
        ratio = Decimal(0)
    unit = METHODS.get(method_id(row["kind"], row["rule"]).removeprefix(f"{GENERATOR}/"))
    parts = [f'"AllocatedRatio": {_number(ratio)}']
    quantity = row["gpu_hours"] if row["kind"] == LineKind.IDLE else row["weight"]
    if unit:
        parts.append(f'"UsageUnit": {json.dumps(unit)}')
        if quantity is not None:
            parts.append(f'"UsageQuantity": {_number(quantity)}')
    if row["weight"] is not None and row["weight_total"]:
        parts.append(f'"x_UsageShare": {_number(row["weight"] / row["weight_total"])}')
        parts.append(f'"x_UsageTotal": {_number(row["weight_total"])}')
    if row["utilization"] is not None:
        parts.append(f'"x_Utilization": {_number(row["utilization"])}')
    if row["rule"]:
        parts.append(f'"x_Rule": {json.dumps(row["rule"])}')
    return '{"Elements": [{' + ", ".join(parts) + "}]}"


def allocated_resource_id(row: dict) -> str | None:
    if row["kind"] in (LineKind.USAGE, LineKind.SHARED):
        return "/".join((row["team"], row["model"], row["endpoint"]))
    if row["kind"] == LineKind.IDLE:
        return f"idle/{row['pool']}"
    return None  # unallocated, unmeasured: the portion no split placed


def tags(row: dict) -> str:
    found = {f"ledger/{name}": row[name] for name in ("team", "model", "endpoint") if row[name]}
    return json.dumps(found, sort_keys=True)


def focus_row(row: dict, period: tuple[datetime, datetime]) -> list:
    return [
        iso(period[0]),
        iso(period[1]),
        iso(row["hour"]),
        iso(row["hour"] + HOUR),
        row["billed"],
        row["effective"],
        row["currency"],
        row["resource_id"],
        row["service_name"],
        tags(row),
        method_id(row["kind"], row["rule"]),
        details(row),
        allocated_resource_id(row),
        row["kind"],
        row["pool"],
        row["pricing_category"],
    ]


def focus_rows(period: tuple[datetime, datetime]) -> Iterator[list[list]]:
    """Every allocation of [start, end) as FOCUS rows, in chunks. Finance only: the ratios and
    totals of a resource-hour are every team's figures."""
    params = {"start": period[0], "end": period[1]}
    for chunk in chunks(_ROWS, params):
        yield [focus_row(dict(zip(_NAMES, row, strict=True)), period) for row in chunk]
