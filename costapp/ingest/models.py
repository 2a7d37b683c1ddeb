"""The normalised store every source format lands in.

CostLine follows FOCUS 1.x column names (snake_case); GpuSample is one telemetry reading per GPU
per interval; UsageRollup holds per-request tags summed per hour, so 10M requests a day stay
cheap. Every stored row keeps its lineage: the ingestion run, the file and the row it came from.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import BrinIndex
from django.db import models

from costapp.money import MoneyField


class RunStatus(models.TextChoices):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # same content already ingested: nothing to do


class IngestionRun(models.Model):
    """One ingestion of one delivery (a file, or the files of one export manifest)."""

    source = models.ForeignKey(
        "sources.Source", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    format = models.CharField(max_length=32)
    location = models.TextField(help_text="file, folder, s3:// prefix or 'push'")
    content_hash = models.CharField(max_length=64, db_index=True, blank=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    files = models.IntegerField(default=0)
    rows_read = models.BigIntegerField(default=0)
    rows_stored = models.BigIntegerField(default=0)
    rows_rejected = models.BigIntegerField(default=0)
    bytes_read = models.BigIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    error_file = models.TextField(blank=True)
    error_line = models.IntegerField(null=True, blank=True)
    error_column = models.CharField(max_length=200, blank=True)
    # The span of time the stored rows cover: what attribution must recompute.
    data_start = models.DateTimeField(null=True, blank=True)
    data_end = models.DateTimeField(null=True, blank=True)
    # When attribution last recomputed [data_start, data_end) for this run; NULL while pending
    # (costapp.attribution.engine.attribute_pending picks those up).
    attributed_at = models.DateTimeField(null=True, blank=True)
    # Why attribution of this run's hours failed or left some out ("" when it did not): set
    # with attribution_failed_at when its window raised (the window is skipped and the run
    # leaves the pending set, so one bad window never stops the others) or when its rows lie
    # outside the plausible time window; alone, as a note, when only part of them does. A
    # later recompute of its hours clears a failure (costapp.attribution.engine).
    attribution_error = models.TextField(blank=True)
    attribution_failed_at = models.DateTimeField(null=True, blank=True)
    # Things worth a look that did not fail the run, e.g. a bill another stream also holds.
    warnings = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["format", "content_hash", "status"]),
            # Freshness reads each source's newest run (of a status) and data coverage by
            # index probe, not by sorting every run (costapp/sources/selectors.py).
            models.Index(fields=["source", "-started_at", "-id"], name="run_source_newest"),
            models.Index(
                fields=["source", "status", "-started_at", "-id"], name="run_source_status_newest"
            ),
            models.Index(fields=["source", "status", "data_end"], name="run_source_data_end"),
            # The runs attribution has yet to take: a handful, found every five minutes among
            # millions without reading them (costapp.attribution.engine.attribute_pending).
            models.Index(
                fields=["id"],
                condition=models.Q(status="succeeded", attributed_at__isnull=True),
                name="run_pending_attribution",
            ),
            # The few runs whose attribution failed or left hours out, read by every
            # attribution run and the sources page.
            models.Index(
                fields=["-started_at"],
                condition=~models.Q(attribution_error=""),
                name="run_attribution_error",
            ),
            # Runs still running: the reaper looks for dead ones at every poll
            # (costapp.sources.service.reap_dead_runs).
            models.Index(
                fields=["started_at"],
                condition=models.Q(status="running"),
                name="run_running",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.format} {self.location} [{self.status}]"


class CostLine(models.Model):
    """One billing line, FOCUS-aligned. Costs keep the provider's precision (NUMERIC(28,10))."""

    run = models.ForeignKey(IngestionRun, on_delete=models.CASCADE, related_name="cost_lines")
    # The stream a restatement replaces: the source id, or "local:<format>" for ad-hoc files.
    stream = models.CharField(max_length=100)
    provider = models.CharField(max_length=100)  # FOCUS ProviderName
    billing_account_id = models.CharField(max_length=200, blank=True)
    # FOCUS SubAccountId: the AWS usage account, GCP project, Azure subscription; teams are
    # often identified by it.
    sub_account_id = models.CharField(max_length=200, blank=True)
    billing_period_start = models.DateTimeField()
    billing_period_end = models.DateTimeField()
    charge_period_start = models.DateTimeField()
    charge_period_end = models.DateTimeField()
    charge_category = models.CharField(max_length=32)  # Usage, Purchase, Tax, Credit, Adjustment
    charge_description = models.TextField(blank=True)
    service_name = models.CharField(max_length=200, blank=True)
    service_category = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    resource_id = models.TextField(blank=True, db_index=True)
    resource_type = models.CharField(max_length=200, blank=True)
    sku_id = models.CharField(max_length=200, blank=True)
    pricing_category = models.CharField(max_length=32, blank=True)  # Standard, Dynamic, Committed
    pricing_unit = models.CharField(max_length=100, blank=True)
    consumed_quantity = models.DecimalField(max_digits=38, decimal_places=10, null=True)
    consumed_unit = models.CharField(max_length=100, blank=True)
    billed_cost = MoneyField()
    effective_cost = MoneyField()
    list_cost = MoneyField(null=True)
    contracted_cost = MoneyField(null=True)
    billing_currency = models.CharField(max_length=3)
    commitment_discount_id = models.TextField(blank=True)
    # FOCUS InvoiceId (1.2+; Azure InvoiceId): finance reconciles the sum of BilledCost per
    # invoice against the invoice. NULL (not "") where the format has no invoice at all, so
    # "not invoiced yet" and "this format never says" stay apart.
    invoice_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    # FOCUS 1.3 split cost allocation: the provider already split this charge to
    # AllocatedResourceId by AllocatedMethodId; "" for an ordinary line.
    allocated_method_id = models.CharField(max_length=200, blank=True)
    allocated_resource_id = models.TextField(blank=True)
    # Hosted models (Bedrock, Vertex AI, Azure OpenAI, OpenAI, Anthropic): the provider's model
    # id as the bill names it, the token direction and the tokens the line bills, recognised by
    # costapp.ingest.hosted; "" / NULL on every other line. A database default too, so writers
    # that predate the columns still insert.
    hosted_provider = models.CharField(max_length=50, blank=True, default="", db_default="")
    hosted_model = models.CharField(max_length=200, blank=True, default="", db_default="")
    # "input", "output", "cache_read", "cache_write", or "" (unknown, e.g. provisioned hours).
    token_direction = models.CharField(max_length=16, blank=True, default="", db_default="")
    token_count = models.BigIntegerField(null=True, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    source_file = models.TextField()
    source_row = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["charge_period_start", "resource_id"]),
            models.Index(fields=["stream", "billing_period_start"]),
        ]


class LoadedBill(models.Model):
    """What one stream holds of one bill: a provider's billing account, sub account and billing
    period, with row count and totals. Kept with the rows (a restatement replaces both), it
    shows finance which deliveries make up each month, and finds one bill loaded twice
    through two streams (say a CUR and a FOCUS export of one account), which would count twice.
    """

    run = models.ForeignKey(IngestionRun, on_delete=models.CASCADE, related_name="bills")
    stream = models.CharField(max_length=100)
    provider = models.CharField(max_length=100)
    billing_account_id = models.CharField(max_length=200, blank=True)
    sub_account_id = models.CharField(max_length=200, blank=True)
    billing_period_start = models.DateTimeField()
    billing_currency = models.CharField(max_length=3)
    rows = models.BigIntegerField()
    billed_cost = MoneyField()
    effective_cost = MoneyField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "stream",
                    "provider",
                    "billing_account_id",
                    "sub_account_id",
                    "billing_period_start",
                    "billing_currency",
                ],
                name="loadedbill_one_per_stream",
            )
        ]
        indexes = [
            models.Index(
                fields=["billing_period_start", "provider", "billing_account_id"],
                name="loadedbill_period",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.billing_account_id} {self.billing_period_start:%Y-%m}"


class GpuSample(models.Model):
    """One telemetry reading of one GPU (or MIG slice) at one instant."""

    # The reading's own key is the primary key, ts first: readings arrive in time order, so
    # the key grows at its right edge, and it is also the index attribution's window read
    # (ts range) uses. No surrogate id: its identity and its B-tree cost every COPY of
    # readings a third more, and nothing refers to a reading by id (migration 0016).
    pk = models.CompositePrimaryKey("ts", "gpu_uuid", "mig_instance")
    # No database FK (db_constraint=False), as on SeenRequest: a deferred FK checks every row
    # at commit, which cost as much as writing the readings (bench ingest). Only ingest()
    # writes run_id, the run it has just created; deleting a run still cascades (Django).
    # Indexed by BRIN (Meta): a run's readings are written together, so a block range summary
    # finds them (to delete a run) at a fraction of a B-tree's upkeep on every COPY.
    run = models.ForeignKey(
        IngestionRun,
        on_delete=models.CASCADE,
        related_name="gpu_samples",
        db_constraint=False,
        db_index=False,
    )
    ts = models.DateTimeField()
    gpu_uuid = models.CharField(max_length=100)
    mig_instance = models.CharField(max_length=20, blank=True)  # GPU_I_ID; "" for a whole GPU
    gpu_index = models.IntegerField(null=True)
    gpu_model = models.CharField(max_length=100, blank=True)
    hostname = models.CharField(max_length=255, blank=True)
    resource_id = models.TextField(blank=True)  # set when the source names the billed resource
    # Busy fraction 0..1: DCGM_FI_PROF_GR_ENGINE_ACTIVE when present, else GPU_UTIL / 100.
    utilization = models.DecimalField(max_digits=7, decimal_places=6, null=True)
    memory_used_mib = models.DecimalField(max_digits=14, decimal_places=3, null=True)
    power_w = models.DecimalField(max_digits=12, decimal_places=3, null=True)
    labels = models.JSONField(default=dict, blank=True)
    source_file = models.TextField()
    source_row = models.IntegerField()

    class Meta:
        indexes = [BrinIndex(fields=["run"], name="gpusample_run_brin")]


class UsageRollup(models.Model):
    """Per-request tags summed per (hour, team, model, endpoint, resource), per ingestion run.

    Rows are contributions of one run: several runs may add to the same key, and readers sum.
    That keeps ingestion append-only and lets a run be replaced without touching others.
    """

    run = models.ForeignKey(IngestionRun, on_delete=models.CASCADE, related_name="usage_rollups")
    hour = models.DateTimeField()
    team = models.CharField(max_length=200)
    model = models.CharField(max_length=200)
    endpoint = models.CharField(max_length=200)
    resource_id = models.TextField(blank=True)
    requests = models.BigIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    gpu_seconds = models.DecimalField(max_digits=20, decimal_places=6, null=True)
    cache_hits = models.BigIntegerField(default=0)
    latency_ms_sum = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["hour", "resource_id"])]


class SeenRequest(models.Model):
    """Request ids already counted, so a retried push or an overlapping log never counts twice.

    Partitioned by month of `hour`, like CostLine, GpuSample and UsageRollup (migration 0013,
    costapp/core/partitions.py): the table's primary key is (request_id, hour), the
    (id, key) pair on CostLine and UsageRollup, the reading key on GpuSample; Django's pk
    stays the single field here.
    """

    request_id = models.CharField(max_length=200, primary_key=True)
    # No database FK (db_constraint=False): a deferred FK checks every id at commit, which cost
    # as much as writing the ids (bench ingest). Only ingest() writes run_id, the run it has
    # just created; deleting a run still cascades (Django), and so does retention's prune.
    run = models.ForeignKey(
        IngestionRun, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    # The request's hour; ids older than REQUEST_ID_RETENTION_DAYS are pruned by it
    # (costapp/ingest/retention.py). A BRIN index, not a B-tree: every pushed request pays for
    # each index on insert, and BRIN costs next to nothing. For the same reason migration 0004
    # drops the varchar_pattern_ops copy of the primary key Django adds for LIKE lookups.
    hour = models.DateTimeField()

    class Meta:
        indexes = [BrinIndex(fields=["hour"], name="seenrequest_hour_brin")]
