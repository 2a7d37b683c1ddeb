"""Cost rule preview: how much cost each enabled rule moves, before a rule is saved or reordered.

`preview_rules(start, end, edited=None)` is a dry run of the engine itself: inside a transaction
that is always rolled back, it applies the edited rule (if any, saved or not), runs
`run_attribution` over the window and reads the engine's own temp tables and Allocation rows,
so the preview can never disagree with what a real run would do (no split logic is copied
here). The stored Allocation rows are not enough on their own: an "even" / "gpu_cost" shared
row carries its action, not its rule, and a mapped busy row carries the tag key, not the rule.

Per rule and currency it reports, on both bases (amortized = FOCUS EffectiveCost, billed):
- shared: shared / non-GPU cost the rule hands to teams;
- gpu_busy: busy GPU cost with no request rows the rule gives to teams ("assign" rules on cost
  line tags or telemetry labels);
- unplaced: cost the rule decides but cannot place (an "even" rule in an hour nobody used GPUs,
  an "assign" with no team, a label rule's unlabelled GPUs' share): it stays unallocated.
Cost no rule decides is reported apart, shared and GPU busy. Amounts are exact (NUMERIC at the
1E-10 quantum); rounding is for display only.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction

from costapp.money import ZERO

from . import steps, versions
from .engine import _ceil_hour, _floor_hour, config_intervals, plausible_hours, run_attribution
from .models import CostRule, overlapping

DEFAULT_DAYS = 30
# The longest window a preview computes (in a web request, under the engine lock).
MAX_PREVIEW_DAYS = 31

# Busy GPU cost per winning rule: the rows MAPPED_LINES wrote for the resource-hours _winner
# gave to a rule ("usage" placed, "unallocated" the unlabelled share). Shared rows on the same
# resource-hour (a GPU's tax line) have no utilization, so they are kept out.
_GPU_BY_RULE = """
SELECT w.rule_id, a.currency, a.kind = 'usage' AS placed,
       sum(a.amortized_cost), sum(a.billed_cost)
FROM attribution_allocation a
JOIN _winner w ON w.hour = a.hour AND w.resource_id = a.resource_id AND w.currency = a.currency
WHERE a.hour >= %(start)s AND a.hour < %(end)s AND a.utilization IS NOT NULL
  AND a.kind IN ('usage', 'unallocated')
GROUP BY 1, 2, 3
"""

# Busy GPU cost no rule took: the engine's one "unallocated" line per such resource-hour.
_GPU_UNRULED = """
SELECT a.currency, sum(a.amortized_cost), sum(a.billed_cost)
FROM attribution_allocation a
WHERE a.hour >= %(start)s AND a.hour < %(end)s AND a.utilization IS NOT NULL
  AND a.kind = 'unallocated' AND NOT EXISTS (
      SELECT 1 FROM _winner w
      WHERE w.hour = a.hour AND w.resource_id = a.resource_id AND w.currency = a.currency)
GROUP BY 1
"""

_SHARED_BY_RULE = f"""
SELECT s.rule_id, s.currency, NOT {steps.SHARED_UNPLACED} AS placed,
       sum(s.amount_a), sum(s.amount_b)
FROM _shared s
GROUP BY 1, 2, 3
"""


@dataclass(frozen=True)
class Amount:
    """One sum on both bases, exact."""

    amortized: Decimal = ZERO
    billed: Decimal = ZERO

    def __add__(self, other: Amount) -> Amount:
        return Amount(self.amortized + other.amortized, self.billed + other.billed)


@dataclass(frozen=True)
class RuleMoves:
    """What one rule (None: no rule) does with one currency's cost in the window."""

    rule: CostRule | None
    currency: str
    shared: Amount = Amount()
    gpu_busy: Amount = Amount()
    unplaced: Amount = Amount()
    edited: bool = False

    @property
    def moved(self) -> Amount:
        return self.shared + self.gpu_busy


@dataclass
class RulePreview:
    start: datetime | None
    end: datetime | None
    rules: list[RuleMoves] = field(default_factory=list)
    # Cost no rule decides, per currency: shared / non-GPU lines and busy GPU cost.
    unallocated_shared: dict[str, Amount] = field(default_factory=dict)
    unallocated_gpu_busy: dict[str, Amount] = field(default_factory=dict)
    # The asked window was longer than MAX_PREVIEW_DAYS and was cut to its last days.
    clamped: bool = False


def default_window() -> tuple[datetime, datetime] | None:
    """The last DEFAULT_DAYS days of billing data (ending where the latest charge period ends)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(charge_period_end) FROM ingest_costline")
        (latest,) = cursor.fetchone()
    if latest is None:
        return None
    return latest - timedelta(days=DEFAULT_DAYS), latest


def preview_rules(
    start: datetime | None = None,
    end: datetime | None = None,
    edited: CostRule | None = None,
    effective_from: datetime | None = None,
) -> RulePreview:
    """Dry-run the engine over [start, end) (default: default_window()) and report per rule.

    `edited` is a rule as the change form holds it, saved or not: the preview saves it as the
    admin would, taking effect from `effective_from` (costapp.attribution.versions: hours
    before keep the previous version), then rolls everything back. A rule version in force in
    some hour of the window is a row of its own.
    """
    if start is None or end is None:
        window = default_window()
        if window is None:
            return RulePreview(None, None)
        start, end = start or window[0], end or window[1]
    # The dry run holds the engine lock while it computes: never over the whole history.
    longest = timedelta(days=MAX_PREVIEW_DAYS)
    clamped = end - start > longest
    if clamped:
        start = end - longest
    with transaction.atomic():
        edited_pk = None
        if edited is not None:
            # A copy, so the caller's unsaved object does not get a pk that is rolled back.
            edited_pk = versions.save(copy.copy(edited), effective_from).obj.pk
        gpu: dict[tuple, Amount] = defaultdict(Amount)
        shared: dict[tuple, Amount] = defaultdict(Amount)
        gpu_unruled: dict[str, Amount] = defaultdict(Amount)
        first = last = None
        # The engine's temp tables hold one interval's decisions: read them after each.
        for low, high in config_intervals(*_hours(start, end), closed=[]):
            result = run_attribution(low, high, respect_closed=False)
            first, last = first or result.start, result.end or last
            params = {"start": result.start, "end": result.end}
            with connection.cursor() as cursor:
                _add(gpu, _fetch(cursor, _GPU_BY_RULE, params))
                _add(shared, _fetch(cursor, _SHARED_BY_RULE, params))
                cursor.execute(_GPU_UNRULED, params)
                _add(gpu_unruled, {cur: Amount(a, b) for cur, a, b in cursor.fetchall()})
        rules = list(
            CostRule.objects.filter(overlapping(first, last), enabled=True).order_by(
                "priority", "id"
            )
        )
        if edited_pk is not None and all(r.pk != edited_pk for r in rules):
            rules.append(CostRule.objects.get(pk=edited_pk))
        transaction.set_rollback(True)
    preview = _assemble(first, last, rules, edited_pk, gpu, shared, gpu_unruled)
    preview.clamped = clamped
    return preview


def _hours(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The window widened to whole hours, clamped to the hours the engine may compute."""
    low, high = plausible_hours()
    return _floor_hour(max(start, low)), _ceil_hour(min(end, high))


def _add(total: dict, part: dict) -> None:
    for key, amount in part.items():
        total[key] += amount


def _fetch(cursor, sql: str, params: dict) -> dict[tuple, Amount]:
    cursor.execute(sql, params)
    return {(rule_id, cur, placed): Amount(a, b) for rule_id, cur, placed, a, b in cursor}


def _assemble(
    start: datetime,
    end: datetime,
    rules: list[CostRule],
    edited_pk: int | None,
    gpu: dict[tuple, Amount],
    shared: dict[tuple, Amount],
    gpu_unruled: dict[str, Amount],
) -> RulePreview:
    currencies = sorted({key[1] for key in (*gpu, *shared)} | set(gpu_unruled)) or ["USD"]
    unplaced: dict[tuple, Amount] = defaultdict(Amount)
    for (rule_id, cur, placed), amount in (*gpu.items(), *shared.items()):
        if rule_id is not None and not placed:
            unplaced[rule_id, cur] += amount
    preview = RulePreview(start, end)
    for cur in currencies:
        for rule in rules:
            preview.rules.append(
                RuleMoves(
                    rule=rule,
                    currency=cur,
                    shared=shared.get((rule.pk, cur, True), Amount()),
                    gpu_busy=gpu.get((rule.pk, cur, True), Amount()),
                    unplaced=unplaced.get((rule.pk, cur), Amount()),
                    edited=rule.pk == edited_pk,
                )
            )
        preview.unallocated_shared[cur] = shared.get((None, cur, False), Amount())
        preview.unallocated_gpu_busy[cur] = gpu_unruled.get(cur, Amount())
    return preview
