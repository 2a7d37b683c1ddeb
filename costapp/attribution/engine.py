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
6. Hosted-model lines (a CostLine with a hosted_model: Bedrock, Vertex AI, Azure OpenAI, OpenAI,
   Anthropic) skip the CostRules: costapp.attribution.hosted splits each hour's part across the
   request rollups of the same model key by the tokens of the line's direction, on resource
   "hosted:<provider>:<model key>" with pool "" (no GPU figure reads them); what no request
   explains stays "unallocated". It runs after step 5, so hosted use makes no recipient.

Configuration is effective-dated (costapp.attribution.versions): a window is cut wherever a
version of a cost rule, the policy, a GPU resource or a telemetry mapping starts or ends
(config_intervals), and each interval is computed with the versions in force at its first hour:
the rules (temp table _rules), the GPU inventory and mappings (_resources, _mappings; the steps
never read the inventory tables themselves) and the policy. Shared and mapped rows record the
rule version that placed them (Allocation.cost_rule_id); every row on a GPU resource records the
GPU type and count it was computed with (Allocation.gpu_type, gpu_count), as it does its pool.

Invariant: per (hour, resource_id, currency), the Allocation rows of every kind sum to that
resource-hour's spread cost exactly, for both bases. Idle lines are always stored; sharing
idle back to teams (AttributionPolicy.idle_policy = "share") is a view in selectors.team_costs.

All of it runs as set operations in Postgres (costapp.attribution.steps): temp tables,
INSERT ... SELECT and window functions; no Python loop touches a row. Runs lock what they
rewrite with transaction advisory locks (costapp.attribution.locking): a window locks each UTC
day it touches, so windows of different days run at once on several workers and two that share
a day queue; a full recompute locks every hour and waits for the windows in flight.

Late data: every SUCCEEDED IngestionRun carries the window its rows cover (a restated bill's
window includes the rows it replaced) and attributed_at. `attribute_pending()` recomputes the
windows of the runs not yet attributed, merged where they overlap or touch, one transaction per
window, and marks those runs; a full run_attribution() marks every run it saw.

No stored row can wedge it. Every window is clamped to the plausible time window
(costapp.core.limits.time_window): hours outside it are never spread or recomputed, and hour
arithmetic never leaves it, so a record stamped in year 9999 or 0001 (stored before the
entrance checks existed, or by hand) cannot overflow or spread a line over millions of hours.
A run whose rows lie wholly outside is recorded as failed with that reason; a full run reports
what it left out (AttributionResult.outside). And a window that still fails, whatever the
exception, is rolled back alone, recorded on its runs (IngestionRun.attribution_error and
attribution_failed_at), logged and skipped: the other windows go on. Failed runs leave the
pending set (a deterministic fault would fail again every five minutes); a later recompute
that covers their hours (`manage.py attribute`, an edit's recompute_from) clears the failure,
and `manage.py attribute --retry-failed` puts them back in the pending set. Only a lost
database connection is raised instead, so the task retries with every window still pending.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from costapp.core.limits import time_window
from costapp.ingest.formats import get_format
from costapp.ingest.models import IngestionRun, RunStatus
from costapp.locks import try_advisory_lock

from . import hosted, periods, rollups, steps
from .locking import LOCK_NAMESPACE, PENDING, lock_window
from .models import AttributionPolicy, CostRule, GpuMapping, GpuResource, overlapping
from .weights import output_weight

log = logging.getLogger(__name__)

_TEMP_TABLES = (
    "_rules",
    "_resources",
    "_mappings",
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
_HOUR = timedelta(hours=1)
# Allocation rows outside every closed month (%(closed)s: the closed months' first days).
_OPEN = (
    "NOT ((date_trunc('month', hour, 'UTC') AT TIME ZONE 'UTC')::date = ANY(%(closed)s::date[]))"
)
ERROR_MAX = 2000  # characters of an exception kept on a run: enough to act on, bounded

Bounds = tuple[datetime, datetime]
RunRow = tuple[int, str, datetime | None, datetime | None]  # pk, format, data_start, data_end


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
    failed: int = 0  # windows that raised: recorded on their runs and skipped
    outside: str = ""  # what lay outside the plausible time window and was not computed


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _ceil_hour(moment: datetime) -> datetime:
    floored = _floor_hour(moment)
    return floored if floored == moment else floored + timedelta(hours=1)


def plausible_hours(now: datetime | None = None) -> Bounds:
    """The whole hours attribution may compute: limits.time_window() widened to hours. Every
    window is clamped into them, so hour arithmetic stays decades away from datetime's ends."""
    earliest, latest = time_window(now)
    return _floor_hour(earliest), _ceil_hour(latest)


def _day(moment: datetime) -> str:
    return moment.isoformat(timespec="minutes")


def outside_note(data_start: datetime, data_end: datetime, bounds: Bounds) -> str:
    """What of [data_start, data_end] lies outside the plausible hours ("" when nothing)."""
    lo, hi = bounds
    if lo <= data_start and data_end <= hi:
        return ""
    span = f"rows from {_day(data_start)} to {_day(data_end)}"
    limit = f"the plausible time window ({lo:%Y-%m-%d} to {hi:%Y-%m-%d})"
    if data_end < lo or data_start >= hi:
        return f"{span} lie outside {limit}: not attributed"
    return f"{span} reach outside {limit}: hours outside it are not attributed"


def _data_window(cursor, bounds: Bounds) -> tuple[Bounds | None, str]:
    """The hours the stored cost lines touch, clamped to the plausible hours, and a note on
    what the clamp left out. Clamped in SQL: a stored year past 9999 never reaches Python."""
    lo, hi = bounds
    cursor.execute(
        "SELECT count(*) > 0, min(charge_period_start)::text,"
        " max(greatest(charge_period_end, charge_period_start))::text,"
        " min(charge_period_start) < %(lo)s"
        "  OR max(greatest(charge_period_end, charge_period_start)) > %(hi)s,"
        " greatest(min(charge_period_start), %(lo)s),"
        " least(max(greatest(charge_period_end,"
        "  charge_period_start + interval '1 microsecond')), %(hi)s)"
        " FROM ingest_costline",
        {"lo": lo, "hi": hi},
    )
    found, low_text, high_text, clipped, low, high = cursor.fetchone()
    if not found:
        return None, ""
    note = ""
    if clipped:
        note = (
            f"cost lines from {low_text} to {high_text} reach outside the plausible time window"
            f" ({lo:%Y-%m-%d} to {hi:%Y-%m-%d}): hours outside it are not computed"
        )
    start, end = _floor_hour(low), _ceil_hour(high)  # high <= hi, an hour: no overflow
    if start >= end:
        return None, note
    return (start, end), note


def _clamp(start: datetime | None, end: datetime | None, bounds: Bounds) -> tuple[Bounds, str]:
    """An asked window [start, end) (None: open) clamped to the plausible hours."""
    lo, hi = bounds
    clamped_start = _floor_hour(max(start, lo)) if start else lo
    clamped_end = _ceil_hour(min(end, hi)) if end else hi
    note = ""
    if (start is not None and start < lo) or (end is not None and end > hi):
        note = (
            f"hours outside the plausible time window ({lo:%Y-%m-%d} to {hi:%Y-%m-%d})"
            " are not computed"
        )
    return (clamped_start, clamped_end), note


def run_attribution(
    start: datetime | None = None, end: datetime | None = None, *, respect_closed: bool = True
) -> AttributionResult:
    """Recompute every resource-hour in [start, end), replacing its Allocation rows atomically.

    Both None: every hour the cost lines touch. Either way only hours inside the plausible time
    window are computed; what lies outside is reported in the result's `outside`. Hours of a
    closed month (costapp.attribution.periods) are never deleted nor written, unless
    `respect_closed` is False (the rule preview's dry run, which rolls back).
    """
    began = time.monotonic()
    bounds = plausible_hours()
    with transaction.atomic(), connection.cursor() as cursor:
        lock_window(cursor, start, end)
        # Big sorts and hashes: let this transaction use memory rather than spill to disk.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        # The rollups of exactly the hours deleted below are rewritten before the commit.
        rollups.engine_writes(cursor)
        asked = (start, end)
        # Read under the engine lock (shared or exclusive), which closing and reopening take
        # exclusively.
        closed = periods.closed_months() if respect_closed else []
        if start is None and end is None:
            # Everything is recomputed, so every run committed by now is attributed; runs that
            # commit later stay pending.
            settle = list(_pending_runs().values_list("pk", "format", "data_start", "data_end"))
            cursor.execute(f"DELETE FROM attribution_allocation WHERE {_OPEN}", {"closed": closed})
            window, outside = _data_window(cursor, bounds)
            covered = bounds  # every plausible hour: those without cost lines have no rows
        else:
            settle = []
            # Rows an earlier build wrote outside the plausible hours go with the window too.
            cursor.execute(
                "DELETE FROM attribution_allocation WHERE (%(start)s::timestamptz IS NULL"
                " OR hour >= %(start)s) AND (%(end)s::timestamptz IS NULL OR hour < %(end)s)"
                f" AND {_OPEN}",
                {"start": start, "end": end, "closed": closed},
            )
            window, outside = _clamp(start, end, bounds)
            if window[0] >= window[1]:
                window = None
            covered = window
        settle += _failed_runs()
        if window is None:
            rollups.refresh(cursor, *asked, closed)
            _settle(settle, covered, bounds)
            return AttributionResult(None, None, 0, 0, 0, time.monotonic() - began, outside=outside)
        start, end = window
        hours = resources = allocations = 0
        weight = None
        for low, high in config_intervals(start, end, closed):
            counted = _compute(cursor, AttributionPolicy.at(low), low, high)
            hours, allocations = hours + counted[0], allocations + counted[2]
            resources, weight = max(resources, counted[1]), counted[3]
        rollups.refresh(cursor, *asked, closed)
        _settle(settle, covered, bounds)
    return AttributionResult(
        start,
        end,
        hours,
        resources,
        allocations,
        time.monotonic() - began,
        weight,
        outside=outside,
    )


def version_boundaries(start: datetime, end: datetime) -> list[datetime]:
    """The hours inside (start, end) where a version of a cost rule, the policy, a GPU resource
    or a telemetry mapping starts or ends. A version applies to whole hours: the one in force at
    an hour's start splits that hour."""
    found = set()
    for model in (CostRule, AttributionPolicy, GpuResource, GpuMapping):
        spans = model.objects.filter(overlapping(start, end))
        for moment in (
            m for pair in spans.values_list("effective_from", "effective_to") for m in pair
        ):
            if moment is not None and start < _ceil_hour(moment) < end:
                found.add(_ceil_hour(moment))
    return sorted(found)


def config_intervals(
    start: datetime, end: datetime, closed: list | None = None
) -> list[tuple[datetime, datetime]]:
    """The open hours of [start, end), cut wherever the configuration in force changes: each
    interval is computed with one set of rule, inventory and mapping versions and one policy
    version."""
    cut = []
    for low, high in periods.open_intervals(start, end, closed):
        edges = [low, *version_boundaries(low, high), high]
        cut += list(pairwise(edges))
    return cut


def _compute(
    cursor, policy: AttributionPolicy, start: datetime, end: datetime
) -> tuple[int, int, int, Decimal | None]:
    """The SQL steps over [start, end): (hours, resources, allocation rows, output weight).
    The caller has cut the window so that one version of each rule, GPU resource and mapping
    and of the policy is in force over all of it (config_intervals)."""
    params = {"start": start, "end": end, "w": output_weight(policy, start, end)}
    for name in _TEMP_TABLES:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
    for statement in (steps.RULES, steps.RESOURCES, steps.MAPPINGS):
        cursor.execute(statement, params)
    cursor.execute("ANALYZE _resources")
    cursor.execute(steps.HAS_LABEL_MAPPINGS)
    with_labels = cursor.fetchone()[0]
    for statement, table in (
        (steps.LINES, "_lines"),
        (steps.LINE_HOURS, "_line_hours"),
        (steps.RESOURCE_HOURS, "_rh"),
        (steps.utilization(with_labels), "_util"),
        (steps.USAGE, None),
        (steps.FRAME, "_frame"),
    ):
        cursor.execute(statement, params)
        # Temp tables get no autovacuum statistics; the planner needs them for good joins.
        # Not _use, the biggest (one row per key and resource-hour): its readers hash-join it
        # against _frame, a plan its page count alone gives, and sampling it cost more than
        # any step reading it.
        if table:
            cursor.execute(f"ANALYZE {table}")
    cursor.execute(steps.TAG_CANDIDATES, params)
    cursor.execute(steps.HAS_LABEL_RULES)
    if cursor.fetchone()[0]:
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
    # After the shared lines: hosted-model use is no GPU use, so it never makes a recipient.
    allocations += hosted.allocate(cursor, params)
    cursor.execute("SELECT count(DISTINCT hour), count(DISTINCT resource_id) FROM _line_hours")
    hours, resources = cursor.fetchone()
    return hours, resources, allocations, params["w"]


def _pending_runs():
    return IngestionRun.objects.filter(
        status=RunStatus.SUCCEEDED, attributed_at__isnull=True, attribution_failed_at__isnull=True
    )


def _failed_runs() -> list[RunRow]:
    """Runs whose attribution failed: few (the run_attribution_error index finds them)."""
    return list(
        IngestionRun.objects.exclude(attribution_error="")
        .filter(status=RunStatus.SUCCEEDED, attribution_failed_at__isnull=False)
        .values_list("pk", "format", "data_start", "data_end")
    )


def _settle(runs: Iterable[RunRow], window: Bounds | None, bounds: Bounds) -> None:
    """After a recompute of `window`: the runs whose hours it covered are attributed (a failure
    cleared, a note kept on hours left outside); runs wholly outside the plausible hours are
    failed with that reason; the rest are left as they were."""
    attributed: dict[str, list[int]] = {}
    outside: dict[str, list[int]] = {}
    for pk, fmt, data_start, data_end in runs:
        if data_start is None or data_end is None:
            attributed.setdefault("", []).append(pk)  # stored nothing: no hours to recompute
            continue
        span = run_window(fmt, data_start, data_end, bounds)
        note = outside_note(data_start, data_end, bounds)
        if span is None:
            outside.setdefault(note, []).append(pk)
        elif window is not None and window[0] <= span[0] and span[1] <= window[1]:
            attributed.setdefault(note, []).append(pk)
    _mark_attributed(attributed)
    for note, pks in outside.items():
        _mark_failed(pks, note)


def _mark_attributed(by_note: dict[str, list[int]]) -> None:
    now = timezone.now()
    for note, pks in by_note.items():
        IngestionRun.objects.filter(pk__in=pks).update(
            attributed_at=now, attribution_error=note, attribution_failed_at=None
        )


def _mark_failed(pks: list[int], error: str) -> None:
    # Rows already so marked are not rewritten: every windowed run re-settles the failed runs,
    # and a no-op UPDATE would still lock them, queueing windows of other days on each other.
    IngestionRun.objects.filter(pk__in=pks).exclude(
        attributed_at__isnull=True, attribution_error=error
    ).update(attributed_at=None, attribution_error=error)
    IngestionRun.objects.filter(pk__in=pks, attribution_failed_at__isnull=True).update(
        attribution_failed_at=timezone.now()
    )


@dataclass
class Window:
    """Whole hours [start, end) to recompute, and the runs whose data it covers."""

    start: datetime
    end: datetime
    runs: list[int]


def run_window(
    fmt: str, data_start: datetime, data_end: datetime, bounds: Bounds | None = None
) -> Bounds | None:
    """The whole hours a run's rows touch, within the plausible hours (None: none of them).

    A bill's data_end is a charge period's exclusive end; telemetry and requests' is the
    instant of the last reading, whose hour counts. A format this build does not know counts
    the wider way. The span is clamped before any hour is added, so it cannot overflow.
    """
    lo, hi = bounds or plausible_hours()
    if data_end < lo or data_start >= hi:
        return None
    try:
        billing = get_format(fmt).KIND == "billing"
    except ValueError:
        billing = False
    start = _floor_hour(max(data_start, lo))
    last = min(data_end, hi)
    end = _ceil_hour(last) if billing else _floor_hour(last) + _HOUR
    end = min(max(end, start + _HOUR), hi)
    return (start, end) if start < end else None


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


def _connection_lost(exc: Exception) -> bool:
    """A fault of the database connection, not of the window: retry later, record nothing."""
    if isinstance(exc, InterfaceError):
        return True
    if isinstance(exc, OperationalError):
        try:
            return not connection.is_usable()
        except Exception:  # whatever the check hits, the connection is gone
            return True
    return False


def _window_failed(window: Window, exc: Exception) -> None:
    error = (
        f"attribution of {_day(window.start)} to {_day(window.end)} failed:"
        f" {type(exc).__name__}: {exc}"
    )[:ERROR_MAX]
    log.error("%s (runs %s); skipped", error, window.runs, exc_info=exc)
    _mark_failed(window.runs, error)


def attribute_pending() -> AttributionResult | None:
    """Recompute the hours of every SUCCEEDED run not yet attributed, and mark those runs.

    Each merged window is recomputed and its runs marked in one transaction (a savepoint when
    called inside one). A window that raises is rolled back alone, recorded on its runs and
    skipped; the others go on. Returns None when there was nothing to recompute, or when
    another worker is already on it (what it misses, the next call takes).
    """
    with try_advisory_lock(LOCK_NAMESPACE, PENDING) as mine:
        if not mine:
            return None
        bounds = plausible_hours()
        pending = list(_pending_runs().values_list("pk", "format", "data_start", "data_end"))
        spans, notes, outside, empty = [], {}, {}, []
        for pk, fmt, data_start, data_end in pending:
            if data_start is None or data_end is None:
                empty.append(pk)  # a run that stored nothing has no hours to recompute
                continue
            span = run_window(fmt, data_start, data_end, bounds)
            note = outside_note(data_start, data_end, bounds)
            if span is None:
                outside.setdefault(note, []).append(pk)
            else:
                spans.append((pk, *span))
                notes[pk] = note
        _mark_attributed({"": empty})
        for note, pks in outside.items():
            log.warning("runs %s not attributed: %s", pks, note)
            _mark_failed(pks, note)
        results, failed = [], 0
        for window in merge_windows(spans):
            try:
                with transaction.atomic():
                    results.append(run_attribution(window.start, window.end))
                    by_note: dict[str, list[int]] = {}
                    for pk in window.runs:
                        by_note.setdefault(notes[pk], []).append(pk)
                    _mark_attributed(by_note)
            except Exception as exc:
                if _connection_lost(exc):
                    raise
                failed += 1
                _window_failed(window, exc)
                if isinstance(exc, SoftTimeLimitExceeded):
                    raise  # the task is out of time: the windows after this one stay pending
    if not results and not failed:
        return None
    return AttributionResult(
        start=results[0].start if results else None,
        end=results[-1].end if results else None,
        hours=sum(r.hours for r in results),
        resources=max((r.resources for r in results), default=0),
        allocations=sum(r.allocations for r in results),
        seconds=sum(r.seconds for r in results),
        output_token_weight=results[-1].output_token_weight if results else None,
        windows=len(results),
        failed=failed,
    )


def retry_failed() -> int:
    """Put every run whose attribution failed back in the pending set; returns how many."""
    return (
        IngestionRun.objects.exclude(attribution_error="")
        .filter(attribution_failed_at__isnull=False)
        .update(attribution_failed_at=None, attribution_error="")
    )
