"""Generated input files for the formats beyond plain FOCUS CSV and JSON Lines: FOCUS as CSV.gz and
Parquet (the same typed lines as bench.ingest.cost_lines), and GPU telemetry as a DCGM-exporter
text scrape and a Prometheus `query_range` JSON response (every GPU read every 15 s)."""

from __future__ import annotations

import gzip
import io
import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

START = datetime(2026, 1, 1, tzinfo=UTC)
STEP_SECONDS = 15
GPUS_PER_HOST = 8
METRICS = ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_POWER_USAGE")


def write_focus_gz(path: Path, rows: int, tag: str, write_focus: Callable) -> None:
    plain = path.with_suffix("")
    write_focus(plain, rows, tag)
    with plain.open("rb") as src, gzip.open(path, "wb", compresslevel=1) as dst:
        shutil.copyfileobj(src, dst)
    plain.unlink()


def write_parquet(path: Path, rows: int, tag: str, write_focus: Callable) -> None:
    """The FOCUS CSV read back by pyarrow as strings and written as Parquet, so both files hold
    the same cells; streamed in batches so a large file never sits in memory."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    plain = path.with_suffix(".csv")
    write_focus(plain, rows, tag)
    with plain.open("rb") as handle:
        header = handle.readline().decode().strip().split(",")
    options = pacsv.ConvertOptions(column_types=dict.fromkeys(header, "string"))
    reader = pacsv.open_csv(plain, convert_options=options)
    with pq.ParquetWriter(path, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
    plain.unlink()


def _gpu(i: int, tag: str) -> tuple[str, int, str]:
    host = i // GPUS_PER_HOST
    return f"GPU-{tag}-{i:05d}", i % GPUS_PER_HOST, f"i-{host:017x}"


def _plan(samples: int) -> tuple[int, int]:
    """(GPUs, scrapes) giving `samples` readings: up to 256 GPUs, then more scrapes."""
    gpus = max(1, min(256, samples))
    return gpus, max(1, samples // gpus)


def _value(metric: str, i: int, k: int) -> str:
    if metric == "DCGM_FI_DEV_GPU_UTIL":
        return str((i * 7 + k * 13) % 101)
    if metric == "DCGM_FI_DEV_FB_USED":
        return str(1000 + (i * 31 + k) % 70000)
    return f"{100 + (i + k) % 600}.5"


def write_dcgm(path: Path, samples: int, tag: str) -> None:
    """Consecutive scrapes of one exporter per file, each under its `# SCRAPE_TIME` comment."""
    gpus, scrapes = _plan(samples)
    with path.open("w") as out:
        for k in range(scrapes):
            moment = START.timestamp() + k * STEP_SECONDS
            stamp = datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            out.write(f"# SCRAPE_TIME {stamp}\n")
            buf = io.StringIO()
            for metric in METRICS:
                for i in range(gpus):
                    uuid, index, host = _gpu(i, tag)
                    buf.write(
                        f'{metric}{{gpu="{index}",UUID="{uuid}",modelName="NVIDIA H100 80GB HBM3",'
                        f'Hostname="{host}",namespace="inference",pod="vllm-{i}"}} '
                        f"{_value(metric, i, k)}\n"
                    )
            out.write(buf.getvalue())


def write_prometheus(path: Path, samples: int, tag: str) -> None:
    """One query_range response per metric, one a line, on the shared 15 s step grid."""
    gpus, scrapes = _plan(samples)
    with path.open("w") as out:
        for metric in METRICS:
            result = []
            for i in range(gpus):
                uuid, index, host = _gpu(i, tag)
                labels = {"__name__": metric, "gpu": str(index), "UUID": uuid, "Hostname": host}
                values = [
                    [START.timestamp() + k * STEP_SECONDS, _value(metric, i, k)]
                    for k in range(scrapes)
                ]
                result.append({"metric": labels, "values": values})
            response = {"status": "success", "data": {"resultType": "matrix", "result": result}}
            out.write(json.dumps(response) + "\n")
