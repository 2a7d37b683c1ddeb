"""Ingestion benchmarks (issues 2 and 3): throughput against raw COPY, and bounded memory.

Run with `python -m bench.ingest` (DATABASE_URL names the server; a throwaway database is
created, migrated and dropped). Each figure is a ratio to a baseline measured in the same run:

- throughput: N generated rows through the real service, costapp.ingest.runs.ingest, against a
  psycopg 3 `cursor.copy` of the same rows into a plain table with the target's columns and
  types (no indexes, no idempotency, no file to read or parse): the floor for a bulk write;
- memory: peak RSS (VmHWM) of ingesting --small rows against --large rows, each in a fresh
  subprocess; the issue's target is large/small within 1.5x (--issue-size: 1M vs 5M rows).

Files are generated streaming into a temporary folder: FOCUS 1.0 CSV lines for GPU instance
hours ("focus") and request logs in our JSON Lines schema ("jsonl"). When Django is already set
up (the test suite), the configured database is used and what the benchmark wrote is deleted.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bench import files

ROOT = Path(__file__).resolve().parent.parent
MEMORY_TARGET = 1.5
START = datetime(2026, 1, 1, tzinfo=UTC)
RESOURCES = 1000  # instances billed each hour: 5M lines span about 7 monthly billing periods

# (instance type, pricing category, hourly rate): p5 on demand, g5 on spot.
INSTANCES = [
    ("p5.48xlarge", "Standard", Decimal("98.32")),
    ("g5.12xlarge", "Dynamic", Decimal("2.1")),
]
# The FOCUS 1.0 columns costapp.ingest.focus reads; each fills the CostLine column of its name
# in snake case, but for the two below.
FOCUS_COLUMNS = (
    "BilledCost BillingAccountId BillingCurrency BillingPeriodEnd BillingPeriodStart "
    "ChargeCategory ChargeDescription ChargePeriodEnd ChargePeriodStart CommitmentDiscountId "
    "ConsumedQuantity ConsumedUnit ContractedCost EffectiveCost ListCost PricingCategory "
    "PricingUnit ProviderName RegionId ResourceId ResourceType ServiceCategory ServiceName SkuId "
    "SubAccountId Tags"
).split()
RENAMED = {"ProviderName": "provider", "RegionId": "region"}
TEAMS = ["search", "ads", "support", "research", "growth"]
MODELS = [f"model-{i}" for i in range(8)]
ENDPOINTS = [f"/v1/endpoint-{i}" for i in range(12)]


# --- generated rows: one typed record each, rendered to the file and to the baseline COPY ---


def _month(moment: datetime) -> tuple[datetime, datetime]:
    start = moment.replace(day=1, hour=0)
    return start, datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def cost_lines(rows: int, tag: str) -> Iterator[dict]:
    """Hourly GPU instance lines: values keyed by CostLine column, in COPY-ready types."""
    account = f"bench-{tag}"
    for i in range(rows):
        hour = START + timedelta(hours=i // RESOURCES)
        kind, pricing, rate = INSTANCES[i % 2]
        cost = rate + Decimal(i % 97) / 10000  # varied cents, still exact
        period_start, period_end = _month(hour)
        yield {
            "provider": "AWS",
            "billing_account_id": account,
            "sub_account_id": "345678901234",
            "billing_period_start": period_start,
            "billing_period_end": period_end,
            "charge_period_start": hour,
            "charge_period_end": hour + timedelta(hours=1),
            "charge_category": "Usage",
            "charge_description": f"{kind} instance hour",
            "service_name": "Amazon Elastic Compute Cloud",
            "service_category": "Compute",
            "region": "us-east-1",
            "resource_id": f"i-{tag}-{i % RESOURCES:05d}",
            "resource_type": kind,
            "sku_id": f"{kind}-{pricing.lower()}",
            "pricing_category": pricing,
            "pricing_unit": "Hours",
            "consumed_quantity": Decimal(1),
            "consumed_unit": "Hours",
            "billed_cost": cost,
            "effective_cost": cost,
            "list_cost": rate,
            "contracted_cost": cost,
            "billing_currency": "USD",
            "commitment_discount_id": "",
            "tags": {"pool": f"{kind}-pool", "env": "prod"},
        }


def requests(rows: int, tag: str) -> Iterator[dict]:
    """About 50 requests a second across 5 teams, 8 models, 12 endpoints; ids unique per tag."""
    for i in range(rows):
        yield {
            "ts": START + timedelta(seconds=i // 50, milliseconds=i % 50 * 20),
            "request_id": f"{tag}-{i}",
            "team": TEAMS[i % 5],
            "model": MODELS[i % 8],
            "endpoint": ENDPOINTS[i % 12],
            "resource_id": f"i-{tag}-{i % 64:05d}",
            "input_tokens": 200 + i % 1800,
            "output_tokens": 20 + i % 400,
            "latency_ms": 150 + i % 2000,
            "cache_hit": i % 7 == 0,
            "gpu_seconds": Decimal(i % 500) / 1000,
        }


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _cell(value: object) -> str:
    if isinstance(value, datetime):
        return _iso(value)
    return json.dumps(value) if isinstance(value, dict) else str(value)


def write_focus(path: Path, rows: int, tag: str) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FOCUS_COLUMNS)
        keys = [RENAMED.get(c) or re.sub(r"(?<!^)(?=[A-Z])", "_", c).lower() for c in FOCUS_COLUMNS]
        for r in cost_lines(rows, tag):
            writer.writerow([_cell(r[k]) for k in keys])


def write_jsonl(path: Path, rows: int, tag: str) -> None:
    with path.open("w") as handle:
        for r in requests(rows, tag):
            timestamp = _iso(r.pop("ts"))
            record = {"timestamp": timestamp, **r, "gpu_seconds": str(r["gpu_seconds"])}
            handle.write(json.dumps(record) + "\n")


def _focus_gz(path: Path, rows: int, tag: str) -> None:
    files.write_focus_gz(path, rows, tag, write_focus)


def _parquet(path: Path, rows: int, tag: str) -> None:
    files.write_parquet(path, rows, tag, write_focus)


# format -> (file writer, typed rows, target columns in the store, file suffix); telemetry has
# no typed rows here: its baseline copies the rows the run stored (stored_copy_baseline).
FORMATS: dict[str, tuple[Callable, Callable | None, str, str]] = {
    "focus": (write_focus, cost_lines, "COST_COLUMNS", ".csv"),
    "jsonl": (write_jsonl, requests, "REQUEST_COLUMNS", ".jsonl"),
    "focus-gz": (_focus_gz, cost_lines, "COST_COLUMNS", ".csv.gz"),
    "parquet": (_parquet, cost_lines, "COST_COLUMNS", ".parquet"),
    "dcgm": (files.write_dcgm, None, "SAMPLE_COLUMNS", ".prom"),
    "prometheus": (files.write_prometheus, None, "SAMPLE_COLUMNS", ".json"),
}
# The product's format name for each benchmark format (CSV.gz and Parquet are both FOCUS).
INGEST_FORMAT = {"focus-gz": "focus", "parquet": "focus"}
UNIT = {"dcgm": "samples", "prometheus": "samples"}


def generate(fmt: str, rows: int, folder: Path, tag: str) -> Path:
    writer, _, _, suffix = FORMATS[fmt]
    path = folder / f"{fmt}-{rows}-{tag}{suffix}"
    writer(path, rows, tag)
    return path


# --- throughput ---


def _columns(fmt: str) -> list[str]:
    from costapp.ingest import store

    return list(getattr(store, FORMATS[fmt][2]))


def copy_baseline(fmt: str, rows: int, tag: str, file: str) -> float:
    """Seconds to COPY the same rows into a plain table typed like the target; then drop it."""
    from django.db import connection, transaction

    columns = _columns(fmt)
    billing = fmt != "jsonl"
    first_line = 2 if billing else 1  # a CSV's header is line 1
    source = "ingest_costline" if billing else "_bench_request_types"
    with connection.cursor() as cursor:
        if fmt == "jsonl":  # requests land in a staging table of these types (costapp.ingest.store)
            cursor.execute(
                "CREATE TEMP TABLE _bench_request_types (ts timestamptz, request_id text,"
                " team text, model text, endpoint text, resource_id text, input_tokens bigint,"
                " output_tokens bigint, latency_ms bigint, cache_hit boolean,"
                " gpu_seconds numeric, source_file text, source_row integer)"
            )
        cursor.execute(
            f"CREATE TABLE bench_plain AS SELECT {', '.join(columns)} FROM {source} WITH NO DATA"
        )
    try:
        began = time.monotonic()
        with transaction.atomic(), connection.cursor() as cursor:
            statement = f"COPY bench_plain ({', '.join(columns)}) FROM STDIN"
            with cursor.copy(statement) as copy:
                for line, row in enumerate(FORMATS[fmt][1](rows, tag), start=first_line):
                    if billing:
                        row["tags"] = json.dumps(row["tags"])
                    row["source_file"], row["source_row"] = file, line
                    copy.write_row(tuple(row.get(c) for c in columns))  # newer columns: NULL
        return time.monotonic() - began
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_plain")
            cursor.execute("DROP TABLE IF EXISTS _bench_request_types")


def stored_copy_baseline(fmt: str, run_id: int) -> float:
    """Seconds to COPY the rows the run stored (their text form, spooled to a temporary file
    first) into a plain table typed like the target: for formats with no typed generator."""
    from django.db import connection, transaction

    columns = ", ".join(_columns(fmt))
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE bench_plain AS SELECT {columns} FROM ingest_gpusample WITH NO DATA"
        )
    try:
        with tempfile.TemporaryFile() as spool:
            with connection.cursor() as cursor:
                query = f"COPY (SELECT {columns} FROM ingest_gpusample WHERE run_id = %s) TO STDOUT"
                with cursor.copy(query, [run_id]) as copy:
                    for chunk in copy:
                        spool.write(chunk)
            spool.seek(0)
            began = time.monotonic()
            statement = f"COPY bench_plain ({columns}) FROM STDIN"
            with (
                transaction.atomic(),
                connection.cursor() as cursor,
                cursor.copy(statement) as copy,
            ):
                while chunk := spool.read(1 << 20):
                    copy.write(chunk)
            return time.monotonic() - began
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_plain")


def delete_runs(run_ids: Iterable[int]) -> None:
    """Delete what the given runs stored, in SQL: the ORM's cascade would load every row."""
    from django.db import connection

    ids = list(run_ids)
    with connection.cursor() as cursor:
        tables = (
            "ingest_costline",
            "ingest_loadedbill",
            "ingest_usagerollup",
            "ingest_seenrequest",
            "ingest_gpusample",
        )
        for table in tables:
            cursor.execute(f"DELETE FROM {table} WHERE run_id = ANY(%s)", [ids])
        cursor.execute("DELETE FROM ingest_ingestionrun WHERE id = ANY(%s)", [ids])


def throughput(fmt: str, rows: int, folder: Path, repeats: int = 1) -> dict | None:
    """Ingest `rows` generated rows (samples, for telemetry) of `fmt` through the real service
    and COPY the same rows; prints a line and returns the figures (None when ingestion failed).
    With `repeats`, the ingestion and the baseline alternate that many times on the same file
    and each side's fastest run is its figure: on a shared machine, a burst of load elsewhere
    otherwise decides the ratio (the worker benchmark does the same)."""
    from costapp.ingest.files import InputFile
    from costapp.ingest.runs import ingest

    tag = f"t{os.getpid()}{fmt.replace('-', '')}"
    path = generate(fmt, rows, folder, tag)
    ours = baseline = float("inf")
    try:
        for _ in range(repeats):
            began = time.monotonic()
            run = ingest(
                [InputFile.from_path(path)], INGEST_FORMAT.get(fmt, fmt), stream=f"bench:{tag}"
            )
            seconds = time.monotonic() - began
            try:
                if run.status != "succeeded":
                    print(f"  {fmt}: ingestion run {run.status}: {run.error}")
                    return None
                ours = min(ours, seconds)
                rows = run.rows_read or rows
                if FORMATS[fmt][1] is None:
                    baseline = min(baseline, stored_copy_baseline(fmt, run.pk))
                else:
                    baseline = min(baseline, copy_baseline(fmt, rows, tag, str(path)))
            finally:
                delete_runs([run.pk])
    finally:
        path.unlink()
    unit = UNIT.get(fmt, "rows")
    print(
        f"  {fmt}: ours {rows / ours:,.0f} {unit}/s ({ours:.2f}s); "
        f"COPY {rows / baseline:,.0f} {unit}/s ({baseline:.2f}s); "
        f"ours/COPY {baseline / ours:.3f}x (COPY is {ours / baseline:.1f}x faster)"
    )
    return {
        "rows": rows,
        "seconds": round(ours, 4),
        "rows_per_s": round(rows / ours, 1),
        "copy_seconds": round(baseline, 4),
        "copy_rows_per_s": round(rows / baseline, 1),
        "ratio": round(baseline / ours, 4),
        "repeats": repeats,
    }


# --- memory: one fresh process per size ---


def peak_rss_kb() -> int:
    """This process's peak RSS (VmHWM), in KiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def current_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _sampled(rows: Iterable, every: int, samples: list, snapshots: list) -> Iterator:
    """Pass rows through, noting RSS every `every` rows; when tracing, keep the first and the
    latest tracemalloc snapshot (only two: held snapshots would themselves grow RSS)."""
    import tracemalloc

    for n, row in enumerate(rows, start=1):
        if n % every == 0:
            samples.append((n, current_rss_kb()))
            if tracemalloc.is_tracing():
                snapshots[1:] = [tracemalloc.take_snapshot()]
        yield row


def _short(filename: str) -> str:
    return re.split(r"site-packages/|/lib/python3\.\d+/", filename.removeprefix(f"{ROOT}/"))[-1]


def _growth(first, last) -> list[dict]:
    """Where memory held at the last checkpoint was allocated, beyond the first, biggest first."""
    import tracemalloc

    ignore = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)]
    diff = last.filter_traces(ignore).compare_to(first.filter_traces(ignore), "traceback")
    return [
        {
            "kb": round(stat.size_diff / 1024, 1),
            "where": [f"{_short(f.filename)}:{f.lineno}" for f in reversed(stat.traceback)],
        }
        for stat in diff[:8]
        if stat.size_diff > 0
    ]


def child(fmt: str, path: str, rows: int, trace: bool) -> int:
    """Ingest one file in this (fresh) process, roll it back, print one JSON line of figures."""
    import django

    django.setup()
    import tracemalloc

    from django.db import connection, transaction

    from costapp.ingest.files import InputFile
    from costapp.ingest.formats import get_format
    from costapp.ingest.runs import ingest

    module = get_format(INGEST_FORMAT.get(fmt, fmt))
    connection.ensure_connection()
    before = peak_rss_kb()
    samples: list = []
    snapshots: list = []
    every = max(rows // 10, 1)
    if trace:
        tracemalloc.start(8)
    with transaction.atomic():
        run = ingest(
            [InputFile.from_path(path)],
            INGEST_FORMAT.get(fmt, fmt),
            stream="bench:memory",
            parse=lambda f: _sampled(module.parse(f), every, samples, snapshots),
        )
        transaction.set_rollback(True)  # nothing to clean up, whatever the database
    result = {
        "status": run.status,
        "error": run.error,
        "rows": run.rows_read,
        "start_kb": before,
        "peak_kb": peak_rss_kb(),
        "rss_kb": samples,
    }
    if len(snapshots) == 2:
        result["growth"] = _growth(*snapshots)
    print(json.dumps(result))
    return 0


def measure(fmt: str, path: Path, rows: int, url: str, trace: bool) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "costapp.settings"}
    env.setdefault("INFERENCE_LEDGER_DEV", "1")
    command = [sys.executable, "-m", "bench.ingest", "--child", fmt, str(path), str(rows)]
    if trace:
        command.append("--trace")
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory child failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mb(kb: int) -> str:
    return f"{kb / 1024:.1f} MB"


def memory(fmt: str, small: int, large: int, folder: Path, url: str, trace: bool) -> dict | None:
    """Peak RSS ingesting `small` and `large` rows, each in a fresh process; None on failure."""
    figures = {}
    for rows in (small, large):
        path = generate(fmt, rows, folder, f"m{rows}")
        try:
            figures[rows] = measure(fmt, path, rows, url, trace)
        finally:
            path.unlink()
        if figures[rows]["status"] != "succeeded":
            print(f"  {fmt}: ingestion run {figures[rows]['status']}: {figures[rows]['error']}")
            return None
    low, high = figures[small], figures[large]
    ratio = high["peak_kb"] / low["peak_kb"]
    verdict = "ok" if ratio <= MEMORY_TARGET else "ABOVE TARGET"
    print(
        f"  {fmt}: {small:,} rows {_mb(low['peak_kb'])}; {large:,} rows {_mb(high['peak_kb'])}; "
        f"large/small {ratio:.2f}x (target <= {MEMORY_TARGET}x) {verdict}"
    )
    for rows, fig in figures.items():
        curve = ", ".join(
            f"{n // max(rows // 10, 1) * 10}% {_mb(kb)}" for n, kb in fig["rss_kb"][::3]
        )
        grew = _mb(fig["peak_kb"] - fig["start_kb"])
        print(
            f"    {rows:,} rows: {_mb(fig['start_kb'])} before ingest, +{grew} in it; RSS at {curve}"
        )
        for grown in fig.get("growth", []):
            print(f"      +{grown['kb']} KB held, allocated at {' <- '.join(grown['where'][:4])}")
    return {
        "small_rows": small,
        "large_rows": large,
        "small_peak_mb": round(low["peak_kb"] / 1024, 1),
        "large_peak_mb": round(high["peak_kb"] / 1024, 1),
        "ratio": round(ratio, 4),
    }


# --- the run ---


def database_url() -> str:
    from django.db import connection

    from costapp.dburl import url_from_settings

    return url_from_settings(connection.settings_dict)


def run_all(args: argparse.Namespace) -> tuple[bool, dict]:
    """Every requested measurement; (all succeeded and met the memory target, figures)."""
    ok, results = True, {"throughput": {}, "memory": {}}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        folder = Path(tmp)
        if args.rows:
            print(f"ingest throughput: {args.rows:,} rows per format, vs COPY of the same rows")
            for fmt in args.formats:
                figures = throughput(fmt, args.rows, folder)
                ok &= figures is not None
                results["throughput"][fmt] = figures
        if args.large:
            print(
                f"ingest memory: peak RSS of {args.small:,} vs {args.large:,} rows, fresh process each"
            )
            for fmt in args.memory_formats:
                figures = memory(fmt, args.small, args.large, folder, database_url(), args.trace)
                ok &= figures is not None and figures["ratio"] <= MEMORY_TARGET
                results["memory"][fmt] = figures
    return ok, results


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n")[0])
    p.add_argument(
        "--formats", default="focus,jsonl", help=f"comma-separated: {', '.join(FORMATS)}"
    )
    p.add_argument("--memory-formats", help="formats of the memory runs (default: --formats)")
    p.add_argument("--rows", type=int, default=100_000, help="rows for throughput (0 skips it)")
    p.add_argument("--small", type=int, default=200_000, help="rows of the smaller memory run")
    p.add_argument("--large", type=int, default=1_000_000, help="rows of the larger (0 skips)")
    p.add_argument("--issue-size", action="store_true", help="memory at the issue's 1M vs 5M rows")
    p.add_argument("--trace", action="store_true", help="tracemalloc: where memory grows (slow)")
    p.add_argument("--child", nargs=3, metavar=("FORMAT", "PATH", "ROWS"), help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.child:
        fmt, path, rows = args.child
        return child(fmt, path, int(rows), trace=args.trace)
    args.formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    args.memory_formats = (
        [f.strip() for f in args.memory_formats.split(",") if f.strip()]
        if args.memory_formats
        else args.formats
    )
    unknown = (set(args.formats) | set(args.memory_formats)) - set(FORMATS)
    if unknown:
        known = ", ".join(FORMATS)
        parser().error(f"unknown format(s) {', '.join(sorted(unknown))}; known: {known}")
    if args.issue_size:
        args.small, args.large = 1_000_000, 5_000_000
    if args.large and args.large <= args.small:
        parser().error("--large must be above --small")
    from django.apps import apps

    if apps.ready:  # inside the test suite: its database, cleaned up by delete_runs
        return 0 if run_all(args)[0] else 1
    return 0 if _in_throwaway_database(args) else 1


def _in_throwaway_database(args: argparse.Namespace) -> bool:
    from bench.throwaway import throwaway_database

    base = os.environ.get("DATABASE_URL")
    if not base:
        print("set DATABASE_URL (the benchmark creates and drops its own database there)")
        return False
    with throwaway_database(base, "bench_ingest"):
        return run_all(args)[0]


if __name__ == "__main__":
    sys.exit(main())
