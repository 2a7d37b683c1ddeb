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
   produced each row are stored on it. Busy cost with no usage rows goes through the "assign"
   CostRules first (by priority): a rule on the resource's cost line tags gives it to the
   tag's team (rule "tag:<key>"); a rule on the Kubernetes pod labels DCGM puts on its GPU
   samples splits it by the labelled samples' utilization (rule "label:<key>"), the share of
   unlabelled samples staying unallocated. Busy cost no rule maps is one "unallocated" line.
5. Shared and non-GPU lines (no GpuResource, or not Usage): the first enabled CostRule by
   priority whose tag matches decides: "assign" to a team (or the tag's value), "even" across
   the teams with GPU usage in that hour, or "gpu_cost" in proportion to those teams' amortized
   GPU cost in that hour. Lines no rule covers, or with no team to go to, stay "unallocated".

Invariant: per (hour, resource_id, currency), the Allocation rows of every kind sum to that
resource-hour's spread cost exactly, for both bases. Idle lines are always stored; sharing
idle back to teams (AttributionPolicy.idle_policy = "share") is a view in selectors.team_costs.

All of it runs as set operations in Postgres (costapp.attribution.steps): temp tables,
INSERT ... SELECT and window functions; no Python loop touches a row. Runs are serialised by a
transaction advisory lock, so two workers recomputing overlapping hours never both insert.

Late data: every SUCCEEDED IngestionRun carries the window its rows cover (a restated bill's
window includes the rows it replaced) and attributed_at. `attribute_pending()` recomputes the
windows of the runs not yet attributed, merged where they overlap or touch, one transaction per
window, and marks those runs; a full run_attribution() marks every run it saw.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from costapp.ingest.formats import get_format
from costapp.ingest.models import GpuMapping, IngestionRun, RunStatus
from costapp.locks import try_advisory_lock

from . import steps
from .models import AttributionPolicy, CostRule, RuleAction, RuleSource
from .weights import output_weight

_TEMP_TABLES = (
    "_lines",
    "_line_hours",
    "_rh",
    "_util",
    "_use",
    "_frame",
    "_mapped",
    "_winner",
    "_shared",
    "_recipients",
)
# pg advisory lock keys ("ILAT"): ENGINE serialises runs; PENDING lets one attribute_pending
# at a time take the backlog (another caller returns at once instead of queueing behind it).
LOCK_NAMESPACE = 0x494C4154
ENGINE, PENDING = 0, 1
_HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class AttributionResult:
    start: datetime | None
    end: datetime | None
    hours: int
    resources: int
    allocations: int
    seconds: float
    output_token_weight: Decimal | None = None
    windows: int = 1


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
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, ENGINE])
        # Big sorts and hashes: let this transaction use memory rather than spill to disk.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        if start is None and end is None:
            # Everything is recomputed, so every run committed by now is attributed; runs that
            # commit later stay pending.
            seen = list(_pending_runs().values_list("pk", flat=True))
            IngestionRun.objects.filter(pk__in=seen).update(attributed_at=timezone.now())
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
        cursor.execute(steps.TAG_CANDIDATES, params)
        if _label_rules():
            cursor.execute(steps.label_candidates(with_labels), params)
        cursor.execute(steps.WINNERS, params)
        allocations = 0
        for statement in (steps.FRAME_LINES, steps.USAGE_LINES, steps.MAPPED_LINES):
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


def _label_rules() -> bool:
    return CostRule.objects.filter(
        enabled=True, source=RuleSource.TELEMETRY_LABEL, action=RuleAction.ASSIGN
    ).exists()


def _pending_runs():
    return IngestionRun.objects.filter(status=RunStatus.SUCCEEDED, attributed_at__isnull=True)


@dataclass
class Window:
    """Whole hours [start, end) to recompute, and the runs whose data it covers."""

    start: datetime
    end: datetime
    runs: list[int]


def run_window(fmt: str, data_start: datetime, data_end: datetime) -> tuple[datetime, datetime]:
    """The whole hours a run's rows touch.

    A bill's data_end is a charge period's exclusive end; telemetry and requests' is the
    instant of the last reading, whose hour counts. A format this build does not know counts
    the wider way.
    """
    try:
        billing = get_format(fmt).KIND == "billing"
    except ValueError:
        billing = False
    end = _ceil_hour(data_end) if billing else _floor_hour(data_end) + _HOUR
    return _floor_hour(data_start), max(end, _floor_hour(data_start) + _HOUR)


def merge_windows(spans: list[tuple[int, datetime, datetime]]) -> list[Window]:
    """Runs' (id, start, end) merged into the fewest windows: overlapping or touching spans
    join; runs months apart stay separate windows rather than one giant range."""
    windows: list[Window] = []
    for run_id, start, end in sorted(spans, key=lambda s: (s[1], s[2], s[0])):
        if windows and start <= windows[-1].end:
            windows[-1].end = max(windows[-1].end, end)
            windows[-1].runs.append(run_id)
        else:
            windows.append(Window(start, end, [run_id]))
    return windows


def attribute_pending() -> AttributionResult | None:
    """Recompute the hours of every SUCCEEDED run not yet attributed, and mark those runs.

    Each merged window is recomputed and its runs marked in one transaction, so a failure
    keeps the windows done so far and leaves the rest pending. Returns None when there was
    nothing to recompute, or when another worker is already on it (what it misses, the next
    call takes).
    """
    with try_advisory_lock(LOCK_NAMESPACE, PENDING) as mine:
        if not mine:
            return None
        pending = list(_pending_runs().values_list("pk", "format", "data_start", "data_end"))
        spans = [
            (pk, *run_window(fmt, start, end))
            for pk, fmt, start, end in pending
            if start is not None and end is not None
        ]
        # A run that stored nothing has no hours to recompute.
        empty = [pk for pk, _, start, end in pending if start is None or end is None]
        IngestionRun.objects.filter(pk__in=empty).update(attributed_at=timezone.now())
        results = []
        for window in merge_windows(spans):
            with transaction.atomic():
                results.append(run_attribution(window.start, window.end))
                IngestionRun.objects.filter(pk__in=window.runs).update(attributed_at=timezone.now())
    if not results:
        return None
    return AttributionResult(
        start=results[0].start,
        end=results[-1].end,
        hours=sum(r.hours for r in results),
        resources=max(r.resources for r in results),
        allocations=sum(r.allocations for r in results),
        seconds=sum(r.seconds for r in results),
        output_token_weight=results[-1].output_token_weight,
        windows=len(results),
    )
