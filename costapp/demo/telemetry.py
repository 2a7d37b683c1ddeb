"""Demo GPU telemetry: DCGM exporter scrapes in Prometheus text, one file per day.

Each file holds the day's 5-minute scrapes with per-sample timestamps (milliseconds after the
value, as the exposition format allows), grouped by metric family, gzipped. Hostname is the instance id,
as dcgm-exporter reports it on EC2 nodes without Kubernetes.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from .fleet import TELEMETRY_GAP, Instance, build_fleet, busy, days_of, is_running

INTERVAL = timedelta(minutes=5)
FAMILIES = (
    ("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %)."),
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "Ratio of time the graphics engine is active."),
    ("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB)."),
    ("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W)."),
)


def _in_gap(inst: Instance, moment: datetime, start: datetime) -> bool:
    name, day_index, gap_hours = TELEMETRY_GAP
    return (
        inst.name == name
        and (moment.date() - start.date()).days == day_index
        and moment.hour in gap_hours
    )


def _readings(inst: Instance, gpu: int, moment: datetime, rng: random.Random, seed: int):
    """(gpu_util %, engine-active ratio, FB used MiB, power W) for one GPU at one instant."""
    active = busy(inst, moment, seed) * rng.uniform(0.88, 1.12) + rng.gauss(0, 0.015)
    active = min(1.0, max(0.0, active))
    # GPU_UTIL counts any kernel running in the interval, so it reads above engine-active.
    util = min(100, max(0, round(active * 100 * 1.15 + rng.uniform(-2, 2))))
    # The serving engine preallocates ~90% of memory; the KV cache adds a little with load.
    memory = round(inst.type.memory_mib * (0.88 + 0.04 * active) + rng.uniform(-40, 40))
    power = inst.type.idle_w + (inst.type.max_w - inst.type.idle_w) * active * rng.uniform(0.9, 1.0)
    return util, active, memory, power


def day_samples(
    inst: Instance, day: date, start: datetime, end: datetime, seed: int
) -> Iterator[tuple]:
    """(gpu index, timestamp ms, readings) for every scrape of one instance on one day, within
    the demo's window [start, end)."""
    first = datetime(day.year, day.month, day.day, tzinfo=UTC)
    for gpu in range(inst.type.gpu_count):
        # Seeded per day, not per window: a day's readings are the same whatever window holds it.
        rng = random.Random(f"dcgm:{seed}:{inst.resource_id}:{gpu}:{day.isoformat()}")
        moment = first
        while moment < first + timedelta(days=1):
            inside = start <= moment < end
            if inside and is_running(inst, moment) and not _in_gap(inst, moment, start):
                yield gpu, int(moment.timestamp() * 1000), _readings(inst, gpu, moment, rng, seed)
            moment += INTERVAL


def day_text(fleet: list[Instance], day: date, start: datetime, end: datetime, seed: int) -> str:
    """One day's scrape file; lines grouped by metric family, as the text format requires."""
    samples = [
        (inst, gpu, ts, readings)
        for inst in fleet
        for gpu, ts, readings in day_samples(inst, day, start, end, seed)
    ]
    out: list[str] = []
    for index, (family, help_text) in enumerate(FAMILIES):
        out.append(f"# HELP {family} {help_text}")
        out.append(f"# TYPE {family} gauge")
        for inst, gpu, ts, readings in samples:
            labels = (
                f'gpu="{gpu}",UUID="{inst.gpu_uuids[gpu]}",device="nvidia{gpu}",'
                f'modelName="{inst.type.gpu_model}",Hostname="{inst.resource_id}"'
            )
            value = readings[index]
            text = f"{value:.6f}" if index == 1 else f"{value:.3f}" if index == 3 else str(value)
            out.append(f"{family}{{{labels}}} {text} {ts}")
    return "\n".join(out) + "\n"


def generate_telemetry(outdir: Path, *, seed: int, start: datetime, end: datetime) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    fleet = build_fleet(seed, start)
    paths = []
    for day in days_of(start, end):
        path = outdir / f"dcgm-{day:%Y-%m-%d}.prom.gz"
        # Compressed: a month of 5-minute scrapes is ~175 MB as text. mtime=0 and no name in
        # the header keep the bytes identical run to run (ingestion fingerprints content).
        with (
            path.open("wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz,
        ):
            gz.write(day_text(fleet, day, start, end, seed).encode())
        paths.append(path)
    return paths
