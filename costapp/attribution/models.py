"""Allocations: each resource-hour's cost split into teams/models/endpoints, idle and unallocated.

Invariant, per (hour, resource_id, currency, basis): the sum of every Allocation row's cost =
the cost of the CostLines spread onto that hour for that resource, exactly. Both bases
(amortized = FOCUS EffectiveCost, billed = BilledCost) are split independently so each conserves
on its own. The method is described in costapp.attribution.engine.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from costapp.money import MoneyField


class LineKind(models.TextChoices):
    USAGE = "usage"  # busy share attributed to a (team, model, endpoint)
    IDLE = "idle"  # cost x (1 - utilization)
    UNMEASURED = "unmeasured"  # cost with no telemetry and no request load to infer from
    UNALLOCATED = "unallocated"  # busy or shared cost with no request tags or rule to split it by
    SHARED = "shared"  # a shared / non-GPU cost distributed to a team by a CostRule


class Allocation(models.Model):
    hour = models.DateTimeField()
    resource_id = models.TextField()
    pool = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=16, choices=LineKind.choices)
    team = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=200, blank=True)
    endpoint = models.CharField(max_length=200, blank=True)
    amortized_cost = MoneyField()
    billed_cost = MoneyField()
    currency = models.CharField(max_length=3)
    pricing_category = models.CharField(max_length=32, blank=True)
    requests = models.BigIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    gpu_hours = models.DecimalField(max_digits=20, decimal_places=10, default=0)
    utilization = models.DecimalField(max_digits=7, decimal_places=6, null=True)
    # "telemetry" (GpuSample mean), "inferred" (GPU-seconds / capacity) or "" (unmeasured).
    utilization_source = models.CharField(max_length=16, blank=True)
    # gpu_seconds | tokens | requests | even | gpu_cost | tag:<rule id> (shared lines) |
    # tag:<tag key> / label:<label key> (busy GPU cost with no requests, mapped by a CostRule) |
    # "" (no rule applied)
    rule = models.CharField(max_length=100, blank=True)
    # The CostRule version (its row id) that placed this row: shared lines and busy GPU cost
    # mapped by a tag or label rule; None for the usage split, idle and the unplaced. Not a
    # foreign key: a closed month keeps naming a version even after it is deleted.
    cost_rule_id = models.BigIntegerField(null=True, blank=True)
    # The usage share that produced this row: weight / weight_total of the split it came from.
    weight = models.DecimalField(max_digits=38, decimal_places=10, null=True)
    weight_total = models.DecimalField(max_digits=38, decimal_places=10, null=True)
    computed_at = models.DateTimeField(auto_now=True)
    # The GPU inventory version in force at the hour, as the engine used it (like `pool`): a
    # reader never re-joins today's inventory for a past hour. gpu_count is None on a resource
    # that is not in the inventory then (shared and non-GPU lines); gpu_type "" when unknown.
    gpu_type = models.CharField(max_length=100, blank=True, default="", db_default="")
    gpu_count = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["hour", "resource_id"]),
            models.Index(fields=["team", "hour"]),
            # The report's biggest unallocated resources read these rows alone.
            models.Index(
                fields=["hour"],
                name="allocation_unallocated_hour",
                condition=models.Q(kind="unallocated"),
            ),
            # The fleet's GPUs without telemetry start from these rows.
            models.Index(
                fields=["hour"],
                name="allocation_unmeasured_hour",
                condition=models.Q(kind="unmeasured") | models.Q(utilization_source="inferred"),
            ),
        ]


def in_force_at(moment: datetime) -> Q:
    """The versions valid at `moment`: started at or before it (or since always), not ended."""
    return (Q(effective_from__isnull=True) | Q(effective_from__lte=moment)) & (
        Q(effective_to__isnull=True) | Q(effective_to__gt=moment)
    )


def overlapping(start: datetime | None, end: datetime | None) -> Q:
    """The versions valid in some instant of [start, end) (None: unbounded on that side)."""
    where = Q()
    if end is not None:
        where &= Q(effective_from__isnull=True) | Q(effective_from__lt=end)
    if start is not None:
        where &= Q(effective_to__isnull=True) | Q(effective_to__gt=start)
    return where


class EffectiveDated(models.Model):
    """Configuration kept as versions: each row holds the values in force over
    [effective_from, effective_to) (None: since always / still in force). An edit that takes
    effect later than a version's start closes that version and adds a new row superseding it
    (costapp.attribution.versions), so the hours before keep the values they were computed with.
    """

    effective_from = models.DateTimeField(
        null=True, blank=True, help_text="first hour this version applies (blank: since always)"
    )
    effective_to = models.DateTimeField(
        null=True, blank=True, help_text="the hour a later version took over (blank: in force)"
    )
    supersedes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The fields naming what is versioned when at most one version of it may be in force at
    # any instant (GpuResource: its resource_id); () when versions may overlap.
    identity_fields: tuple[str, ...] = ()

    class Meta:
        abstract = True

    @property
    def version_label(self) -> str:
        """'since always', 'from 2026-11-15', 'from 2026-11-01 to 2026-11-15' (UTC)."""
        start = f"from {_moment(self.effective_from)}" if self.effective_from else "since always"
        return start + (f" to {_moment(self.effective_to)}" if self.effective_to else "")


def _moment(value: datetime) -> str:
    value = value.astimezone(UTC) if value.tzinfo else value
    if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
        return f"{value:%Y-%m-%d}"
    return f"{value:%Y-%m-%d %H:%M} UTC"


class IdlePolicy(models.TextChoices):
    SEPARATE = "separate", "Show idle as its own line"
    SHARE = "share", "Share idle back to the pool's teams by their use"


class AttributionPolicy(EffectiveDated):
    """The organisation's attribution settings, as versions (EffectiveDated): the engine splits
    each hour with the version in force at that hour; the first is created on first read."""

    idle_policy = models.CharField(
        max_length=16, choices=IdlePolicy.choices, default=IdlePolicy.SEPARATE
    )
    # Tokens rule weight: a key's use = input_tokens + output_token_weight x output_tokens.
    output_token_weight = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal(1))
    # Derive the weight from request latency (see costapp.attribution.weights) when the data
    # allows; output_token_weight is the fallback.
    derive_output_weight = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "attribution policy"

    def __str__(self) -> str:
        return (
            f"idle={self.idle_policy}, output weight={self.output_token_weight}"
            f" ({self.version_label})"
        )

    @classmethod
    def at(cls, moment: datetime) -> AttributionPolicy:
        """The version in force at `moment` (the earliest one if the history starts later)."""
        found = cls.objects.filter(in_force_at(moment)).order_by("-id").first()
        if found is None:
            found = cls.objects.order_by(
                models.F("effective_from").asc(nulls_first=True), "id"
            ).first()
        return found or cls.objects.get_or_create(pk=1)[0]

    @classmethod
    def current(cls) -> AttributionPolicy:
        return cls.at(timezone.now())


class RuleAction(models.TextChoices):
    ASSIGN = "assign", "Assign to the team (or the tag's value when team is blank)"
    EVEN = "even", "Split evenly across the teams with usage in that hour"
    GPU_COST = "gpu_cost", "Split in proportion to the teams' GPU cost in that hour"


class RuleSource(models.TextChoices):
    TAG = "tag", "Cost line tag (FOCUS Tags, GCP labels)"
    TELEMETRY_LABEL = "telemetry_label", "Pod label on GPU telemetry (DCGM namespace, pod, ...)"


class CostRule(EffectiveDated):
    """A tag or label mapping rule, tried by ascending priority; the first that matches decides.

    Versioned (EffectiveDated): each hour is split by the versions in force at that hour, and
    an Allocation names the version that placed it (cost_rule_id).

    Rules on cost line tags (source "tag") distribute shared / non-GPU lines ("assign", "even",
    "gpu_cost"); their "assign" rules also give the busy cost of a GPU resource-hour that has no
    request rows to a team. Rules on telemetry labels (Kubernetes pod labels DCGM attaches to a
    GPU's samples) only "assign", and only that busy cost, split by the labelled GPUs'
    utilization. Whatever no rule covers stays "unallocated" and visible.
    """

    name = models.CharField(max_length=200)
    priority = models.IntegerField(default=100)
    enabled = models.BooleanField(default=True)
    source = models.CharField(max_length=16, choices=RuleSource.choices, default=RuleSource.TAG)
    tag_key = models.CharField(max_length=200)
    tag_value = models.CharField(max_length=500, blank=True, help_text="blank matches any value")
    action = models.CharField(max_length=16, choices=RuleAction.choices, default=RuleAction.ASSIGN)
    team = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=200, blank=True)
    endpoint = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        key = f"label {self.tag_key}" if self.source == RuleSource.TELEMETRY_LABEL else self.tag_key
        return f"{self.priority}: {key}={self.tag_value or '*'} -> {self.action}"

    def clean(self) -> None:
        if self.source == RuleSource.TELEMETRY_LABEL and self.action != RuleAction.ASSIGN:
            raise ValidationError({"action": "a telemetry label rule can only assign"})


# The GPU inventory: which billed resources carry GPUs, their pools, and how telemetry reaches
# them. Moved here from ingest/ (the split is what reads it); the tables keep their names, which
# the engine's SQL (steps.py) and the read layer use. Resources and mappings are versions
# (EffectiveDated): the engine splits each hour with the ones in force then. A pool is a name
# resources are grouped under, not versioned: membership is on the resource version.


class GpuPool(models.Model):
    """A group of GPU resources whose idle cost is reported (or shared back) together."""

    name = models.CharField(max_length=200, unique=True)
    provider = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)

    class Meta:
        db_table = "ingest_gpupool"

    def __str__(self) -> str:
        return self.name


class TsTzRange(models.Func):
    """[effective_from, effective_to) as a Postgres range (a NULL bound is unbounded)."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class GpuResource(EffectiveDated):
    """A billed resource that carries GPUs (an instance id, a node), and how many, as versions:
    at most one version of a resource_id is in force at any instant (an exclusion constraint)."""

    resource_id = models.TextField()  # matches CostLine.resource_id; stable across versions
    provider = models.CharField(max_length=100, blank=True)
    instance_type = models.CharField(max_length=100, blank=True)
    gpu_type = models.CharField(max_length=100, blank=True)
    gpu_count = models.PositiveIntegerField(default=1)
    region = models.CharField(max_length=100, blank=True)
    pool = models.ForeignKey(
        GpuPool, null=True, blank=True, on_delete=models.SET_NULL, related_name="resources"
    )

    identity_fields = ("resource_id",)

    class Meta:
        db_table = "ingest_gpuresource"
        constraints = [
            # Two versions of one resource in force at once would double its cost lines in
            # the engine's join: the database refuses it (btree_gist for the text equality).
            ExclusionConstraint(
                name="gpuresource_one_version_at_a_time",
                expressions=[
                    ("resource_id", RangeOperators.EQUAL),
                    (TsTzRange("effective_from", "effective_to"), RangeOperators.OVERLAPS),
                ],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource_id} ({self.gpu_count}x {self.gpu_type})"


class GpuMapping(EffectiveDated):
    """Maps a telemetry identity (GPU UUID, hostname, node or pod label) to a billed resource,
    named by its stable resource_id (not one version's row), as versions."""

    class MatchOn(models.TextChoices):
        UUID = "uuid"
        HOSTNAME = "hostname"
        LABEL = "label"  # label_key=label_value from DCGM/Prometheus labels

    match_on = models.CharField(max_length=16, choices=MatchOn.choices)
    label_key = models.CharField(max_length=200, blank=True)
    value = models.CharField(max_length=500)
    resource_id = models.TextField(help_text="the billed resource's id (GpuResource.resource_id)")
    priority = models.IntegerField(default=100)

    class Meta:
        db_table = "ingest_gpumapping"
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        key = f"{self.label_key}=" if self.match_on == self.MatchOn.LABEL else ""
        return f"{self.match_on} {key}{self.value} -> {self.resource_id}"


class ClosedPeriod(models.Model):
    """A month finance has closed: its allocations never change until finance reopens it.

    `totals` is what was closed: per currency, the month's allocated amortized and billed cost,
    and per bill (stream, provider, account, sub account, currency) the loaded totals, so a bill
    restated after the close is shown with its delta against what was closed.
    """

    month = models.DateField(unique=True, help_text="first day of the month (UTC)")
    closed_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.CharField(max_length=150, blank=True)
    totals = models.JSONField(default=dict)

    class Meta:
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} closed"


class PeriodAction(models.TextChoices):
    CLOSE = "close", "Closed"
    REOPEN = "reopen", "Reopened"


class PeriodEvent(models.Model):
    """The record of every close and reopen: who, when, why, and the totals at that moment."""

    month = models.DateField()
    action = models.CharField(max_length=8, choices=PeriodAction.choices)
    at = models.DateTimeField(auto_now_add=True)
    by = models.CharField(max_length=150, blank=True)
    reason = models.TextField(blank=True)
    totals = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.action} by {self.by or '?'}"


class ConfigChange(models.Model):
    """The audit trail of configuration that moves money (rules, policy, GPU inventory,
    mappings): who changed what, when, and the values before and after."""

    at = models.DateTimeField(auto_now_add=True)
    by = models.CharField(max_length=150, blank=True)
    model = models.CharField(max_length=100)  # app_label.ModelName
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=300)
    action = models.CharField(max_length=8)  # add | change | delete
    # When the change takes effect (None: since always); hours before it were not recomputed.
    effective_from = models.DateTimeField(null=True, blank=True)
    old = models.JSONField(null=True, blank=True)
    new = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["model", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.by or '?'} {self.action} {self.object_repr}"


# The rollups the read layer reads (kept by the engine): registered with this app from their own
# module.
from .rollup_tables import (  # noqa: E402, F401
    AllocationDay,
    AllocationHour,
    IdleShareDay,
    IdleShareHour,
    PeakDay,
    PoolHourTeam,
    RollupStale,
)
