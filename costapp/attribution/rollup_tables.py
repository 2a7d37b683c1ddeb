"""The rollup tables: allocations summed without the resource dimension, per hour and per UTC
day, and each pool-hour's idle split back to the keys that used it, per basis.

Written only by costapp.attribution.rollups (the engine, in the transaction that rewrites the
allocations, and the rebuild); read by the read layer instead of the raw allocation rows.
Invariant: every rollup row is the exact sum of the allocations (or the idle shares) it covers.
"""

from __future__ import annotations

from django.db import models

from costapp.money import MoneyField

_GPU_HOURS = dict(max_digits=20, decimal_places=10, default=0)


class _Summed(models.Model):
    """Dimensions and sums shared by the hourly and the daily allocation rollup."""

    currency = models.CharField(max_length=3)
    pool = models.CharField(max_length=200, blank=True)
    pricing_category = models.CharField(max_length=32, blank=True)
    kind = models.CharField(max_length=16)
    team = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=200, blank=True)
    endpoint = models.CharField(max_length=200, blank=True)
    gpu_type = models.CharField(max_length=100, blank=True)
    # The lines were on a GPU resource of the inventory: Allocation.gpu_count set, or (a row
    # written without it, by hand) the resource in the inventory at the hour.
    on_gpu = models.BooleanField(default=False)
    # Allocation.gpu_count set, exactly (no inventory look-up): with `pool`, the GPU lines the
    # fleet page reads (costapp.attribution.fleet).
    gpu_counted = models.BooleanField(default=False)
    amortized_cost = MoneyField()
    billed_cost = MoneyField()
    # Allocation.gpu_hours is NUMERIC(20,10); a year of them summed needs more digits.
    gpu_hours = models.DecimalField(max_digits=28, decimal_places=10, default=0)
    requests = models.BigIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    rows = models.IntegerField(default=0)  # allocation rows summed

    class Meta:
        abstract = True


class AllocationHour(_Summed):
    hour = models.DateTimeField()

    class Meta:
        db_table = "attribution_rollup_hour"
        indexes = [
            models.Index(fields=["hour", "currency"], name="rollup_hour_hour"),
            models.Index(fields=["team", "hour"], name="rollup_hour_team"),
        ]


class AllocationDay(_Summed):
    day = models.DateTimeField()  # midnight UTC
    first_hour = models.DateTimeField()  # the earliest hour summed

    class Meta:
        db_table = "attribution_rollup_day"
        indexes = [
            models.Index(fields=["day", "currency"], name="rollup_day_day"),
            models.Index(fields=["team", "day"], name="rollup_day_team"),
        ]


class PoolHourTeam(models.Model):
    """A team with usage lines in a pool-hour; whether it used the pool under each basis (one
    of its keys has a positive usage cost), and how many other teams did: what the lead's
    withholding rule reads (costapp.core.access.total_reveals_one_team)."""

    hour = models.DateTimeField()
    currency = models.CharField(max_length=3)
    pool = models.CharField(max_length=200, blank=True)
    team = models.CharField(max_length=200, blank=True)
    positive_a = models.BooleanField()  # amortized basis
    positive_b = models.BooleanField()  # billed basis
    others_a = models.IntegerField()
    others_b = models.IntegerField()

    class Meta:
        db_table = "attribution_rollup_poolteam"
        indexes = [
            models.Index(fields=["hour", "pool", "currency"], name="rollup_poolteam_hour"),
            models.Index(fields=["team", "hour"], name="rollup_poolteam_team"),
        ]


class IdleShareHour(models.Model):
    """A key's share of its pool-hour's idle cost and idle GPU-hours, split by its usage cost
    under each basis (`_a` amortized, `_b` billed; NULL when the pool had no positive use under
    that basis), with the number of other teams that used the pool under that basis."""

    hour = models.DateTimeField()
    currency = models.CharField(max_length=3)
    pool = models.CharField(max_length=200, blank=True)
    team = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=200, blank=True)
    endpoint = models.CharField(max_length=200, blank=True)
    cost_a = MoneyField(null=True, default=None)
    hours_a = models.DecimalField(max_digits=28, decimal_places=10, null=True)
    others_a = models.IntegerField(null=True)
    cost_b = MoneyField(null=True, default=None)
    hours_b = models.DecimalField(max_digits=28, decimal_places=10, null=True)
    others_b = models.IntegerField(null=True)

    class Meta:
        db_table = "attribution_rollup_share_hour"
        # One row per (hour, currency, pool, team, model, endpoint), written in one statement
        # (costapp.attribution.rollups): no unique index to maintain on every refresh.
        indexes = [
            models.Index(fields=["hour", "currency"], name="rollup_share_hour_hour"),
            models.Index(fields=["team", "hour"], name="rollup_share_hour_team"),
        ]


class IdleShareDay(models.Model):
    """IdleShareHour summed per UTC day, per basis: all of it, and the part of the pool-hours
    exactly one other team used (`held_`), which a lead of the row's team alone is not shown;
    `rows_` and `held_rows_` count the hourly shares summed."""

    day = models.DateTimeField()
    first_hour = models.DateTimeField()
    currency = models.CharField(max_length=3)
    pool = models.CharField(max_length=200, blank=True)
    team = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=200, blank=True)
    endpoint = models.CharField(max_length=200, blank=True)
    cost_a = MoneyField()
    hours_a = models.DecimalField(max_digits=28, decimal_places=10)
    rows_a = models.IntegerField()
    held_cost_a = MoneyField()
    held_hours_a = models.DecimalField(max_digits=28, decimal_places=10)
    held_rows_a = models.IntegerField()
    cost_b = MoneyField()
    hours_b = models.DecimalField(max_digits=28, decimal_places=10)
    rows_b = models.IntegerField()
    held_cost_b = MoneyField()
    held_hours_b = models.DecimalField(max_digits=28, decimal_places=10)
    held_rows_b = models.IntegerField()

    class Meta:
        db_table = "attribution_rollup_share_day"
        indexes = [
            models.Index(fields=["day", "currency"], name="rollup_share_day_day"),
            models.Index(fields=["team", "day"], name="rollup_share_day_team"),
        ]


class PeakDay(models.Model):
    """Each team's most expensive hour of a UTC day per basis (`_a` amortized, `_b` billed):
    its usage and shared lines summed per hour, the biggest, ties to the earliest hour. The
    peak of a window of whole days is the peak of these (what "explain" opens on)."""

    day = models.DateTimeField()  # midnight UTC
    currency = models.CharField(max_length=3)
    team = models.CharField(max_length=200)
    hour_a = models.DateTimeField()
    cost_a = MoneyField()
    hour_b = models.DateTimeField()
    cost_b = MoneyField()

    class Meta:
        db_table = "attribution_rollup_peak_day"
        indexes = [
            models.Index(fields=["day", "currency"], name="rollup_peak_day_day"),
            models.Index(fields=["team", "day"], name="rollup_peak_day_team"),
        ]


class RollupStale(models.Model):
    """A mark left by a statement that wrote allocations outside the engine (the ORM, a test, a
    hand-run SQL): the hours it touched (`first_hour` to `last_hour`, both NULL: every hour, as
    after a TRUNCATE) no longer match the rollups and are refreshed before the next read."""

    at = models.DateTimeField(auto_now_add=True)
    first_hour = models.DateTimeField(null=True)
    last_hour = models.DateTimeField(null=True)

    class Meta:
        db_table = "attribution_rollup_stale"
