"""Allocations: each resource-hour's cost split into teams/models/endpoints, idle and unallocated.

Invariant, per (hour, resource_id, basis): sum of every line's cost = the billed cost of that
resource-hour, exactly. Both bases (amortized = FOCUS EffectiveCost, billed = BilledCost) are
split independently so each conserves on its own.
"""

from __future__ import annotations

from django.db import models

from costapp.money import MoneyField


class LineKind(models.TextChoices):
    USAGE = "usage"  # busy share attributed to a (team, model, endpoint)
    IDLE = "idle"  # cost x (1 - utilization)
    UNMEASURED = "unmeasured"  # cost with no telemetry and no request load to infer from
    UNALLOCATED = "unallocated"  # busy cost with no request tags to split it by


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
    rule = models.CharField(max_length=32, blank=True)  # gpu_seconds | tokens | requests | ...
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["hour", "resource_id"]),
            models.Index(fields=["team", "hour"]),
        ]
