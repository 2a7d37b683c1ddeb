"""Run the benchmarks in one throwaway database and write bench/results/latest.json and .md.

`python -m bench [PART ...]` (parts: ingest, telemetry, memory, attribution, dashboard,
workers; default all) at the size BENCH_SIZE names (XS, S by default, L: bench/sizes.py). Every figure is against
a baseline measured in the same run on the same database, created beside the one DATABASE_URL
names and dropped at the end whatever happens; the configured database is never touched.
BENCH_RESULTS_DIR moves the result files (the smoke test writes to a temporary folder).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from pathlib import Path

from bench import report
from bench.sizes import current
from bench.throwaway import throwaway_database

PARTS = ("ingest", "telemetry", "memory", "attribution", "dashboard", "workers")
BILLING = ("focus-gz", "parquet")
TELEMETRY = ("dcgm", "prometheus")
TELEMETRY_REPEATS = 3


def _throughputs(what: str, formats: list[tuple[str, int]], repeats: int = 1) -> dict:
    from bench import ingest

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        print(f"{what} throughput vs COPY of the same rows")
        out = {}
        for fmt, rows in formats:
            out[fmt] = ingest.throughput(fmt, rows, Path(tmp), repeats)
            if out[fmt] is None:
                raise RuntimeError(f"{fmt} ingestion failed")
        return out


def _ingest(size) -> dict:
    return _throughputs(
        "ingest", [("jsonl", size.request_rows)] + [(f, size.billing_rows) for f in BILLING]
    )


def _telemetry(size) -> dict:
    # Its own part: at L it takes minutes where the request logs take most of an hour, so it
    # can be measured again on its own. Three alternating runs, each side's fastest: a day of
    # a fleet's readings is ingested in seconds, where a burst of load elsewhere weighs most.
    return _throughputs(
        "telemetry", [(f, size.telemetry_samples) for f in TELEMETRY], TELEMETRY_REPEATS
    )


def _memory(size) -> dict:
    from bench import ingest

    small, large = size.memory_rows
    note = (
        "S rows vs L rows"
        if size.name == "L"
        else f"at size {size.name} only: {small:,} vs {large:,} request rows, not L"
    )
    print(f"ingest memory ({note})")
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        figures = ingest.memory("jsonl", small, large, Path(tmp), ingest.database_url(), False)
    if figures is None:
        raise RuntimeError("memory run failed")
    return {**figures, "note": note}


def _attribution(size) -> dict:
    from bench import attribution

    attribution.clear()
    return attribution.main(size.attribution_days, size.resources, size.keys)


def _dashboard(size) -> dict:
    from bench import dashboard

    return dashboard.main(size)


def _workers(size) -> dict:
    from bench import workers

    return workers.main(size)


RUNNERS = {
    "ingest": _ingest,
    "telemetry": _telemetry,
    "memory": _memory,
    "attribution": _attribution,
    "dashboard": _dashboard,
    "workers": _workers,
}


def machine() -> dict:
    from django.db import connection

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kb = 0
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "postgres": postgres,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    parts = list(argv if argv is not None else sys.argv[1:]) or list(PARTS)
    unknown = set(parts) - set(PARTS)
    if unknown:
        print(f"unknown part(s) {', '.join(sorted(unknown))}; known: {', '.join(PARTS)}")
        return 2
    base = os.environ.get("DATABASE_URL")
    if not base:
        print("set DATABASE_URL (the benchmarks create and drop their own database there)")
        return 2
    size = current()
    raw: dict = {}
    with throwaway_database(base, "bench"):
        host = machine()
        for part in PARTS:
            if part in parts:
                raw[part] = RUNNERS[part](size)
                raw[part]["run"] = report.stamp(host)
    folder = Path(os.environ.get("BENCH_RESULTS_DIR") or Path(__file__).parent / "results")
    if len(parts) < len(PARTS):
        # A run of some parts keeps the other parts' figures from an earlier run at the same
        # size, each with its own time and load (`run`), so a size too long to run at once
        # (L: hours) can be measured part by part into one table.
        raw = report.merged(folder / "latest.json", size, raw)
    results = report.summarise(size, host, raw)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (folder / "latest.md").write_text(report.markdown(results))
    print(f"wrote {folder / 'latest.json'} and latest.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
