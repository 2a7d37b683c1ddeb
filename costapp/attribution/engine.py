"""The attribution engine: every GPU resource-hour's cost split by measured use, idle made visible.

`run_attribution(start, end)` recomputes every hour in [start, end) (everything when both are
None): it deletes that window's Allocation rows and writes them anew in one transaction, so a
late file or a restated bill is handled by re-running its window, and re-running is idempotent.

Method, per hour (UTC) and per GPU resource (a GpuResource: an instance with gpu_count GPUs):

1. Cost. Amortized (FOCUS EffectiveCost) and billed (BilledCost) are two bases, each split on
   its own by the steps below, so each conserves on its own. A cost line is spread evenly over
   the hours its charge period touches (money.split of the amount over n equal weights: a daily
   line of 24.0000000001 gives the first hour one more quantum). The resource-hour cost is the
   sum of its Usage lines' hourly parts; pricing category is kept ("Mixed" if several).
2. Utilization u. Each GPU's mean GpuSample.utilization in the hour (a MIG slice counts for
   its share of the GPU, from DCGM's GPU_I_PROFILE: "3g.40gb" = 3/7), then the mean over the
   GPUs that reported (a GPU missing from a scrape counts as the average of its siblings, not as
   idle or busy). Samples are tied to a resource by their resource_id, else a GpuMapping rule
   (uuid, hostname, label), else a hostname equal to the resource id. With no telemetry, u is
   inferred from request load: sum(GPU-seconds) / (3600 x gpu_count), capped at 1. With neither,
   the whole resource-hour is one "unmeasured" line: never silently 100% busy. u is rounded to
   6 decimals (as stored on the lines), so the figures can be reproduced by hand.
3. Idle = cost x (1 - u), rounded to the 1E-10 quantum; busy = cost - idle. Because u is the mean
   over the instance's GPUs, this equals splitting the cost across gpu_count GPUs and charging
   each GPU's idle on its own. GPU-hours: gpu_count x (1 - u) idle, gpu_count x u busy.
4. Busy split across the (team, model, endpoint) keys of the UsageRollup rows of that
   resource-hour, by the first rule that has data: "gpu_seconds" when every row carries
   GPU-seconds; else "tokens", weight = input + w x output tokens (w =
   AttributionPolicy.output_token_weight, default 1, or fitted from request latency when
   derive_output_weight is on: costapp.attribution.weights); else "requests". The split is an exact
   largest-remainder split (costapp.attribution.splitsql, the SQL twin of money.split), so the
   keys' parts add up to busy to the quantum. The rule and the weight / weight_total that
   produced each row are stored on it. Busy cost with no usage rows is one "unallocated" line.
5. Shared and non-GPU lines (no GpuResource, or not Usage): the first enabled CostRule by
   priority whose tag matches decides: "assign" to a team (or the tag's value), "even" across
   the teams with GPU usage in that hour, or "gpu_cost" in proportion to those teams' amortized
   GPU cost in that hour. Lines no rule covers, or with no team to go to, stay "unallocated".

Invariant: per (hour, resource_id, currency), the Allocation rows of every kind sum to that
resource-hour's spread cost exactly, for both bases. Idle lines are always stored; sharing
idle back to teams (AttributionPolicy.idle_policy = "share") is a view in selectors.team_costs.

All of it runs as set operations in Postgres (costapp.attribution.steps): temp tables,
INSERT ... SELECT and window functions; no Python loop touches a row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction

from costapp.ingest.models import GpuMapping

from . import steps
from .models import AttributionPolicy
from .weights import output_weight

_TEMP_TABLES = ("_lines", "_line_hours", "_rh", "_util", "_use", "_frame", "_shared", "_recipients")


@dataclass(frozen=True)
class AttributionResult:
    start: datetime | None
    end: datetime | None
    hours: int
    resources: int
    allocations: int
    seconds: float
    output_token_weight: Decimal | None = None


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _ceil_hour(moment: datetime) -> datetime:
    floored = _floor_hour(moment)
    return floored if floored == moment else floored + timedelta(hours=1)


def _data_window(cursor) -> tuple[datetime, datetime] | None:
    cursor.execute(
        "SELECT min(charge_period_start), max(greatest(charge_period_end,"
        " charge_period_start + interval '1 microsecond')) FROM ingest_costline"
    )
    low, high = cursor.fetchone()
    if low is None:
        return None
    return _floor_hour(low), _ceil_hour(high)


def run_attribution(
    start: datetime | None = None, end: datetime | None = None
) -> AttributionResult:
    """Recompute every resource-hour in [start, end), replacing its Allocation rows atomically."""
    began = time.monotonic()
    policy = AttributionPolicy.current()
    with transaction.atomic(), connection.cursor() as cursor:
        # Big sorts and hashes: let this transaction use memory rather than spill to disk.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        if start is None and end is None:
            cursor.execute("DELETE FROM attribution_allocation")
            window = _data_window(cursor)
            if window is None:
                return AttributionResult(None, None, 0, 0, 0, time.monotonic() - began)
            start, end = window
        else:
            start = _floor_hour(start) if start else datetime.min.replace(tzinfo=end.tzinfo)
            end = _ceil_hour(end) if end else datetime.max.replace(tzinfo=start.tzinfo)
            cursor.execute(
                "DELETE FROM attribution_allocation WHERE hour >= %s AND hour < %s", [start, end]
            )
        params = {"start": start, "end": end, "w": output_weight(policy, start, end)}
        with_labels = GpuMapping.objects.filter(match_on=GpuMapping.MatchOn.LABEL).exists()
        for name in _TEMP_TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
        for statement, table in (
            (steps.LINES, "_lines"),
            (steps.LINE_HOURS, "_line_hours"),
            (steps.RESOURCE_HOURS, "_rh"),
            (steps.utilization(with_labels), "_util"),
            (steps.USAGE, "_use"),
            (steps.FRAME, "_frame"),
        ):
            cursor.execute(statement, params)
            # Temp tables get no autovacuum statistics; the planner needs them for good joins.
            cursor.execute(f"ANALYZE {table}")
        allocations = 0
        for statement in (steps.FRAME_LINES, steps.USAGE_LINES):
            cursor.execute(statement, params)
            allocations += cursor.rowcount
        cursor.execute(steps.SHARED_MATCH, params)
        cursor.execute(steps.RECIPIENTS, params)
        cursor.execute(steps.SHARED_LINES, params)
        allocations += cursor.rowcount
        cursor.execute("SELECT count(DISTINCT hour), count(DISTINCT resource_id) FROM _line_hours")
        hours, resources = cursor.fetchone()
    return AttributionResult(
        start, end, hours, resources, allocations, time.monotonic() - began, params["w"]
    )
