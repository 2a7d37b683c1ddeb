"""Where data comes from: a configured source with a kind, a location and a schedule."""

from __future__ import annotations

from django.db import models

from costapp.money import MoneyField


class Source(models.Model):
    """A configured feed. Credentials are referenced by environment/secret names, never stored."""

    class Location(models.TextChoices):
        LOCAL = "local", "Local folder"
        S3 = "s3", "S3 prefix"
        BIGQUERY = "bigquery", "BigQuery table"
        PROMETHEUS = "prometheus", "Prometheus HTTP API"
        EXPORTER = "exporter", "DCGM exporter /metrics (scraped)"
        API = "api", "Provider usage/cost API (OpenAI, Anthropic)"
        PUSH = "push", "Pushed over HTTP"

    name = models.CharField(max_length=200, unique=True)
    format = models.CharField(max_length=32)  # a key of costapp.ingest.formats.FORMATS
    location_kind = models.CharField(max_length=16, choices=Location.choices)
    location = models.TextField(
        blank=True, help_text="folder, s3://bucket/prefix, table, URL, or exporter URLs"
    )
    # Names of environment variables holding secrets, e.g. {"aws_access_key_id": "AWS_KEY_PROD"}.
    credentials_ref = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    schedule_minutes = models.PositiveIntegerField(default=60)
    enabled = models.BooleanField(default=True)
    # sha256 of the push API token; the token itself is shown once and never stored.
    api_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the scheduler last started this source; with schedule_minutes it decides the next run.
    last_polled_at = models.DateTimeField(null=True, blank=True)
    # When a poll last read the location to the end without a fault of the source itself
    # (found news or not): a billing export that only changes daily is checked, not stale.
    last_checked_at = models.DateTimeField(null=True, blank=True)
    # The reader's high-water mark (newest file or manifest seen), so a poll lists only news.
    state = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return self.name

    @property
    def stream(self) -> str:
        return f"source:{self.pk}"


class GpuPrice(models.Model):
    """A provider's public list price for one GPU SKU in one region (feeds what-if on-demand)."""

    provider = models.CharField(max_length=100)
    sku_id = models.CharField(max_length=200)
    description = models.CharField(max_length=500)
    region = models.CharField(max_length=100, blank=True)
    unit_price = MoneyField()
    currency = models.CharField(max_length=3)
    unit = models.CharField(max_length=100, blank=True)  # e.g. "h" for one GPU-hour
    usage_type = models.CharField(max_length=50, blank=True)  # OnDemand, Preemptible, Commit1Yr
    fetched_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "sku_id", "region"], name="gpuprice_one_per_sku_region"
            )
        ]

    def __str__(self) -> str:
        return f"{self.description} {self.region}: {self.unit_price} {self.currency}/{self.unit}"
