"""Attribution benchmark: 30 days x 64 GPUs (8 p5.48xlarge-like resources) x 200 usage keys.

Rows are generated in SQL (generate_series): hourly cost lines per resource, DCGM-like samples
every 5 minutes per GPU, and one UsageRollup row per hour, resource and (team, model, endpoint)
key (1,152,000 rows at full size). The benchmark times `run_attribution()` over all of it and,
in the same run, a baseline: one INSERT ... SELECT that sums the usage per hour, resource and key
joined to that hour's cost and writes as many rows into a copy of the allocation table. It
prints both times and their ratio (target: within 3x). Sizes can be reduced with BENCH_DAYS,
BENCH_RESOURCES and BENCH_KEYS for a quick run.
"""

from __future__ import annotations

import json
import os
import time

from django.db import connection, transaction
from django.utils import timezone

from costapp.attribution.engine import run_attribution
from costapp.attribution.models import GpuPool, GpuResource
from costapp.ingest.models import CostLine, GpuSample, IngestionRun, UsageRollup

DAYS = int(os.environ.get("BENCH_DAYS", "30"))
RESOURCES = int(os.environ.get("BENCH_RESOURCES", "8"))
KEYS = int(os.environ.get("BENCH_KEYS", "200"))
GPUS_PER_RESOURCE = 8
TARGET_RATIO = 3.0

_RUN = "(SELECT max(id) FROM ingest_ingestionrun)"
_HOURS = """generate_series(timestamptz '2026-10-01', timestamptz '2026-10-01'
    + (%(days)s * 24 - 1) * interval '1 hour', interval '1 hour') h"""

# Per table: SQL expressions for the columns the benchmark cares about, and the FROM clause.
# Every other column gets its model default (see _insert), so columns other parts of the app
# add later need no change here.
GENERATE = [
    (
        IngestionRun,
        {"format": "'bench'", "location": "'generate_series'", "status": "'succeeded'"},
        "",
    ),
    (GpuPool, {"name": "'AWS/us-east-1/H100'", "provider": "'AWS'", "region": "'us-east-1'"}, ""),
    (
        GpuResource,
        {
            "resource_id": "'i-bench-' || r",
            "provider": "'AWS'",
            "instance_type": "'p5.48xlarge'",
            "gpu_type": "'H100'",
            "gpu_count": "8",
            "region": "'us-east-1'",
            "pool_id": "(SELECT id FROM ingest_gpupool)",
        },
        "FROM generate_series(1, %(resources)s) r",
    ),
    # Hourly on-demand lines; amortized differs from billed as under a savings plan.
    (
        CostLine,
        {
            "run_id": _RUN,
            "stream": "'bench'",
            "provider": "'AWS'",
            "billing_period_start": "'2026-10-01'",
            "billing_period_end": "'2026-11-01'",
            "charge_period_start": "h",
            "charge_period_end": "h + interval '1 hour'",
            "charge_category": "'Usage'",
            "region": "'us-east-1'",
            "resource_id": "'i-bench-' || r",
            "resource_type": "'p5.48xlarge'",
            "pricing_category": "'Standard'",
            "billed_cost": "98.32",
            "effective_cost": "round((61.4 + random())::numeric, 10)",
            "billing_currency": "'USD'",
            "source_file": "'bench.csv'",
            "source_row": "row_number() OVER ()",
        },
        f"FROM {_HOURS}, generate_series(1, %(resources)s) r",
    ),
    # Diurnal utilization, a reading every 5 minutes per GPU.
    (
        GpuSample,
        {
            "run_id": _RUN,
            "ts": "t",
            "gpu_uuid": "'GPU-' || r || '-' || g",
            "gpu_index": "g",
            "hostname": "'host-' || r",
            "resource_id": "'i-bench-' || r",
            "utilization": "round((0.45 + 0.35 * sin(extract(hour FROM t) / 24.0 * 2 * pi())"
            " * random())::numeric, 6)",
            "source_file": "'dcgm.prom'",
            "source_row": "0",
        },
        """FROM generate_series(timestamptz '2026-10-01', timestamptz '2026-10-01'
            + %(days)s * interval '1 day' - interval '5 minutes', interval '5 minutes') t,
            generate_series(1, %(resources)s) r, generate_series(0, 7) g""",
    ),
    (
        UsageRollup,
        {
            "run_id": _RUN,
            "hour": "h",
            "team": "'team-' || (k %% %(teams)s)",
            "model": "'model-' || (k %% %(models)s)",
            "endpoint": "'/v1/endpoint-' || k",
            "resource_id": "'i-bench-' || r",
            "requests": "100 + (random() * 900)::int",
            "input_tokens": "50000 + (random() * 500000)::int",
            "output_tokens": "5000 + (random() * 50000)::int",
            "gpu_seconds": "round((random() * 100)::numeric, 6)",
        },
        f"FROM {_HOURS}, generate_series(1, %(resources)s) r, generate_series(0, %(keys)s - 1) k",
    ),
]


def _insert(model, exprs: dict[str, str], source: str) -> tuple[str, dict]:
    """INSERT ... SELECT for `model`: given expressions, else each field's default."""
    columns, values, params = [], [], {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column in exprs:
            values.append(exprs[field.column])
        elif field.has_default() or getattr(field, "auto_now_add", False):
            default = timezone.now() if not field.has_default() else field.get_default()
            params[field.column] = json.dumps(default) if isinstance(default, dict) else default
            values.append(f"%({field.column})s")
        elif field.null:
            values.append("NULL")
        else:
            values.append("''")
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} {source}"
    )
    return sql, params


BASELINE = """
INSERT INTO bench_baseline (hour, resource_id, pool, kind, team, model, endpoint, amortized_cost,
    billed_cost, currency, pricing_category, requests, input_tokens, output_tokens, gpu_hours,
    utilization, utilization_source, rule, weight, weight_total, computed_at)
WITH cost AS (
    SELECT date_trunc('hour', charge_period_start) AS hour, resource_id,
           sum(effective_cost) AS amortized, sum(billed_cost) AS billed
    FROM ingest_costline GROUP BY 1, 2
)
SELECT u.hour, u.resource_id, '', 'usage', u.team, u.model, u.endpoint, c.amortized, c.billed,
       'USD', '', sum(u.requests), sum(u.input_tokens), sum(u.output_tokens),
       sum(u.gpu_seconds) / 3600, NULL, '', '', sum(u.gpu_seconds), NULL, now()
FROM ingest_usagerollup u JOIN cost c ON c.hour = u.hour AND c.resource_id = u.resource_id
GROUP BY u.hour, u.resource_id, u.team, u.model, u.endpoint, c.amortized, c.billed
"""


def generate(days: int, resources: int, keys: int, teams: int = 10, models: int = 8) -> None:
    """Fill the store with `days` of cost lines, telemetry and usage rollups, in SQL."""
    params = {"days": days, "resources": resources, "keys": keys, "teams": teams, "models": models}
    with transaction.atomic(), connection.cursor() as cursor:
        for model, exprs, source in GENERATE:
            sql, defaults = _insert(model, exprs, source)
            cursor.execute(sql, {**params, **defaults})
    with connection.cursor() as cursor:
        # What autovacuum would have done after ingestion; both timed runs start from here.
        cursor.execute("VACUUM ANALYZE")


def clear() -> None:
    """Remove what generate() and attribution wrote (in SQL: the ORM's cascade loads rows)."""
    with connection.cursor() as cursor:
        for table in (
            "attribution_allocation",
            "ingest_usagerollup",
            "ingest_gpusample",
            "ingest_costline",
            "ingest_gpuresource",
            "ingest_gpupool",
            "ingest_ingestionrun",
        ):
            cursor.execute(f"DELETE FROM {table}")


def _baseline() -> tuple[float, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_baseline (LIKE attribution_allocation INCLUDING DEFAULTS"
            " INCLUDING IDENTITY INCLUDING INDEXES)"
        )
    began = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(BASELINE)
        rows = cursor.rowcount
    return time.monotonic() - began, rows


def main(days: int = DAYS, resources: int = RESOURCES, keys: int = KEYS) -> dict:
    """Generate, time the baseline and run_attribution; print and return the figures."""
    print(
        f"attribution: {days} days x {resources * GPUS_PER_RESOURCE} GPUs "
        f"({resources} x 8-GPU resources) x {keys} keys"
    )
    began = time.monotonic()
    generate(days, resources, keys)
    print(f"  generated rows in {time.monotonic() - began:.1f}s")
    try:
        baseline_seconds, baseline_rows = _baseline()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_baseline")
    result = run_attribution()
    ratio = result.seconds / baseline_seconds
    print(f"  baseline INSERT ... SELECT: {baseline_seconds:.2f}s ({baseline_rows} rows)")
    print(
        f"  run_attribution:            {result.seconds:.2f}s ({result.allocations} rows, "
        f"{result.hours} hours, {result.resources} resources)"
    )
    verdict = "ok" if ratio <= TARGET_RATIO else "SLOWER THAN TARGET"
    print(f"  ratio: {ratio:.2f}x (target <= {TARGET_RATIO:.0f}x) {verdict}")
    return {
        "days": days,
        "gpus": resources * GPUS_PER_RESOURCE,
        "keys": keys,
        "baseline_seconds": round(baseline_seconds, 4),
        "baseline_rows": baseline_rows,
        "seconds": round(result.seconds, 4),
        "allocations": result.allocations,
        "ratio": round(ratio, 4),
    }
