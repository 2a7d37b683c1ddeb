"""The what-if price tables (list prices, each with its source and date) and saved scenarios.

`GpuInstancePrice` holds curated on-demand prices per instance type across providers, for
right-sizing; `sources.GpuPrice` stays what it is, Google's catalogue SKUs per GPU and region
refreshed by a task, a different grain (one GPU's SKU, not an instance). Both are published
list prices: verify before acting on them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from costapp.money import MoneyField


class PriceOrigin(models.TextChoices):
    """Who last wrote a price row, so the catalog refresh knows what it may overwrite."""

    SEED = "seed", "Published list price loaded by a migration"
    CATALOG = "catalog", "Google Cloud Billing Catalog refresh"
    MANUAL = "manual", "Edited by hand"


class GpuInstancePrice(models.Model):
    provider = models.CharField(max_length=50)
    instance_type = models.CharField(max_length=100)
    gpu_type = models.CharField(max_length=100, help_text="as in the GPU catalogue, e.g. H100")
    gpu_count = models.PositiveIntegerField()
    region = models.CharField(max_length=100)
    hourly_price = MoneyField(help_text="on-demand price of the whole instance per hour")
    currency = models.CharField(max_length=3, default="USD")
    source = models.CharField(max_length=500)
    as_of = models.DateField(help_text="when the price was read from its source")
    note = models.CharField(max_length=500, blank=True)
    # The Google catalog refresh overwrites seed and catalog rows, never manual ones: a price
    # someone typed in (a negotiated rate, a correction) outranks the public list.
    origin = models.CharField(
        max_length=10,
        choices=PriceOrigin.choices,
        default=PriceOrigin.MANUAL,
        help_text="manual rows are never overwritten by the Google catalog refresh; set "
        "'catalog' to hand a Google row back to it",
    )

    class Meta:
        ordering = ["provider", "gpu_type", "instance_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "instance_type", "region"], name="whatif_one_price_per_instance"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.instance_type} ({self.region}): {self.hourly_price}/h"

    @property
    def per_gpu_hour(self):
        return self.hourly_price / self.gpu_count


class HostedModelPrice(models.Model):
    provider = models.CharField(max_length=50)
    model = models.CharField(max_length=200, unique=True)
    input_per_1m = MoneyField(help_text="price per 1M input tokens")
    output_per_1m = MoneyField(help_text="price per 1M output tokens")
    currency = models.CharField(max_length=3, default="USD")
    source = models.CharField(max_length=500)
    as_of = models.DateField()
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["provider", "model"]

    def __str__(self) -> str:
        return f"{self.model}: {self.input_per_1m} in / {self.output_per_1m} out per 1M"


class Scenario(models.Model):
    """A named what-if: its query string, so opening it is opening that URL."""

    name = models.CharField(max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    query = models.CharField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class RecommendationKind(models.TextChoices):
    CONSOLIDATE = "consolidate", "Consolidate a pool"
    RIGHT_SIZE = "right_size", "Move a pool to another GPU type"
    COMMIT = "commit", "Commit the steady baseline"
    CACHE = "cache", "Cache repeated prompts"
    ROUTE = "route", "Route requests to a cheaper model"
    QUANTIZE = "quantize", "Quantize a model"
    SCALE_TO_ZERO = "scale_to_zero", "Scale to zero through nights and weekends"


class Recommendation(models.Model):
    """A saving found in the data by costapp.whatif.recommendations, with the simulator query
    that reproduces it. One per kind + subject + evidence: a dismissed one blocks that key."""

    OPEN, DISMISSED = "open", "dismissed"

    kind = models.CharField(max_length=20, choices=RecommendationKind.choices)
    subject = models.CharField(max_length=600, help_text="the scope as a query, e.g. pool=a")
    evidence_hash = models.CharField(max_length=64)
    # "" for a pool-wide recommendation (finance only, like idle); else the team it concerns.
    team = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=500)
    monthly_saving = MoneyField()
    currency = models.CharField(max_length=3)
    evidence = models.JSONField()
    query = models.CharField(max_length=2000, help_text="the /whatif/ query with the lever set")
    status = models.CharField(max_length=10, default=OPEN)
    dismissed_reason = models.CharField(max_length=500, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    dismissed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-monthly_saving", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject", "evidence_hash"], name="whatif_one_recommendation"
            )
        ]
        indexes = [models.Index(fields=["status", "team"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject}: {self.monthly_saving}/month"

    @property
    def url(self) -> str:
        return f"/whatif/?{self.query}"
