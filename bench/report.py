"""The headline figures of a benchmark run, with their targets, as JSON and as a Markdown table."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

# key -> (what, target text, how to read it from the raw figures)
HEADLINES = {
    "request_ingest_vs_copy": ("request-log ingest / raw COPY", ">= 0.5x",
                               lambda r: r["ingest"]["jsonl"]["ratio"]),
    "telemetry_dcgm_vs_copy": ("DCGM text ingest / raw COPY", ">= 0.3x",
                               lambda r: r["telemetry"]["dcgm"]["ratio"]),
    "telemetry_prometheus_vs_copy": ("Prometheus JSON ingest / raw COPY", ">= 0.3x",
                                     lambda r: r["telemetry"]["prometheus"]["ratio"]),
    "billing_ingest_vs_copy": ("billing ingest (CSV.gz) / raw COPY", ">= 0.3x",
                               lambda r: r["ingest"]["focus-gz"]["ratio"]),
    "billing_parquet_vs_copy": ("billing ingest (Parquet) / raw COPY", ">= 0.3x",
                                lambda r: r["ingest"]["parquet"]["ratio"]),
    "attribution_vs_baseline": ("attribution / INSERT...SELECT baseline", "<= 3x",
                                lambda r: r["attribution"]["ratio"]),
    "overview_p50_ms": ("overview p50 (ms)", "", lambda r: r["dashboard"]["pages"]["overview"]["p50_ms"]),
    "overview_p95_ms": ("overview p95 (ms)", "< 200 at L", lambda r: r["dashboard"]["pages"]["overview"]["p95_ms"]),
    "overview_all_p95_ms": ("overview p95, whole history (ms)", "",
                            lambda r: r["dashboard"]["pages"]["overview_all"]["p95_ms"]),
    "team_p95_ms": ("team page p95 (ms)", "< 200 at L", lambda r: r["dashboard"]["pages"]["team"]["p95_ms"]),
    "explorer_p95_ms": ("explorer p95 (ms)", "< 200 at L", lambda r: r["dashboard"]["pages"]["explorer"]["p95_ms"]),
    "cost_api_p95_ms": ("cost API p95 (ms)", "< 200 at L", lambda r: r["dashboard"]["pages"]["cost_api"]["p95_ms"]),
    "overview_queries": ("overview queries", "bounded", lambda r: r["dashboard"]["pages"]["overview"]["queries"]),
    "team_queries": ("team page queries", "bounded", lambda r: r["dashboard"]["pages"]["team"]["queries"]),
    "explorer_queries": ("explorer queries", "bounded", lambda r: r["dashboard"]["pages"]["explorer"]["queries"]),
    "cost_api_queries": ("cost API queries", "bounded", lambda r: r["dashboard"]["pages"]["cost_api"]["queries"]),
    "rss_ratio_l_over_s": ("ingest peak RSS, larger / smaller", "<= 1.5x", lambda r: r["memory"]["ratio"]),
    "worker_speedup_2_over_1": ("2 Celery workers / 1", ">= 1.5x", lambda r: r["workers"]["speedup"]),
}  # fmt: skip


def stamp(machine: dict) -> dict:
    """When a part ran and how loaded the machine was as it began."""
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": machine["load_average"],
    }


def merged(previous: Path, size, raw: dict) -> dict:
    """`raw` plus the parts of the results file `previous` that this run did not measure, when
    that file is of the same size (a part keeps its own `run` stamp)."""
    try:
        earlier = json.loads(previous.read_text())
    except (OSError, ValueError):
        return raw
    if earlier.get("size", {}).get("name") != size.name:
        return raw
    kept = {part: figures for part, figures in earlier.get("raw", {}).items() if part not in raw}
    return {**kept, **raw}


def summarise(size, machine: dict, raw: dict) -> dict:
    """Headline keys (None for a part not run), the size, the machine and the raw figures."""
    out: dict = {}
    for key, (_, _, read) in HEADLINES.items():
        try:
            out[key] = read(raw)
        except (KeyError, TypeError):
            out[key] = None
    return {
        **out,
        "size": size.as_dict(),
        "machine": machine,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "raw": raw,
    }


def markdown(results: dict) -> str:
    m, size = results["machine"], results["size"]
    lines = [
        f"Size {size['name']}; {m['cpu_count']} CPUs ({m['cpu_model']}), {m['memory_gb']} GB, "
        f"Python {m['python']}, PostgreSQL {m['postgres']}, load average "
        f"{', '.join(map(str, m['load_average']))} at start.",
        "",
        "| measure | value | target |",
        "|---|---:|---|",
    ]
    for key, (what, target, _) in HEADLINES.items():
        value = results.get(key)
        shown = "not run" if value is None else f"{value:g}"
        lines.append(f"| {what} | {shown} | {target} |")
    memory = results["raw"].get("memory")
    if memory:
        lines += ["", f"Peak RSS: {memory['note']}."]
    workers = results["raw"].get("workers")
    if workers:
        ceiling = workers.get("cpu_ceiling_2_over_1")
        lines += ["", f"Workers: {workers['windows']} {workers['what']}."]
        if ceiling:
            lines[-1] += f" Two CPU-bound processes do {ceiling:g}x what one does on this machine."
    runs = [
        f"{part} {figures['run']['measured_at']} (load {figures['run']['load_average'][0]})"
        for part, figures in results["raw"].items()
        if isinstance(figures, dict) and "run" in figures
    ]
    if runs:
        lines += ["", "Parts measured: " + "; ".join(runs) + "."]
    return "\n".join(lines) + "\n"
