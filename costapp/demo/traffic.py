"""Demo request logs in our JSON Lines schema (costapp/ingest/jsonl.py), one file per day.

Each route's hourly request count follows the same diurnal curve and daily wobble as the GPU
that serves it, so measured utilization and request load move together. Requests to the
on-demand H100 carry gpu_seconds (its serving stack reports them); the rest do not, so both
attribution rules (GPU-seconds and tokens) show up.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from . import hosted
from .fleet import (
    ROUTES,
    Instance,
    Route,
    build_fleet,
    day_factor,
    days_of,
    diurnal,
    hours,
    is_running,
    poisson,
    token_count,
)

# Scales every route's rate: ~200k requests in 30 days keeps `make demo` quick.
VOLUME = 1.6
GPU_SECONDS_MODELS = frozenset({"llama-3.1-70b-instruct"})


def _record(
    rng: random.Random, route: Route, inst: Instance, moment: datetime, request_no: int
) -> dict:
    cached = route.cache_rate > 0 and rng.random() < route.cache_rate
    input_tokens = token_count(rng, route.input_tokens)
    output_tokens = 0 if cached else token_count(rng, route.output_tokens)
    # Prefill is cheap per token, decode is not; a cache hit answers from the gateway.
    latency = 15 if cached else round(40 + input_tokens * 0.04 + output_tokens * 22)
    record = {
        "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
        "request_id": f"req-{rng.getrandbits(64):016x}-{request_no:x}",
        "team": route.team,
        "model": route.model,
        "endpoint": route.endpoint,
        "resource_id": inst.resource_id,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "latency_ms": latency,
        "cache_hit": cached,
    }
    if route.model in GPU_SECONDS_MODELS and not cached:
        # One request shares the node's 8 GPUs with ~16 others in a continuous batch.
        record["gpu_seconds"] = round(latency / 1000 * 8 / 16, 4)
    return record


def hour_records(seed: int, hour: datetime, fleet: list[Instance]) -> list[dict]:
    rng = random.Random(f"requests:{seed}:{hour.isoformat()}")
    records: list[tuple[datetime, dict]] = []
    for route in ROUTES:
        inst = next(i for i in fleet if route.model in i.models)
        if not is_running(inst, hour):
            continue
        load = max(0.05, diurnal(hour) * day_factor(seed, inst.resource_id, hour.date()))
        for _ in range(poisson(rng, route.peak_per_hour * VOLUME * load)):
            moment = hour + timedelta(microseconds=rng.randrange(3_600_000) * 1000)
            records.append((moment, _record(rng, route, inst, moment, len(records))))
    # The hosted model's gateway traffic comes last, from its own random stream, so adding it
    # moved none of the self-hosted records above.
    records.extend(hosted.hour_records(seed, hour))
    records.sort(key=lambda pair: (pair[0], pair[1]["request_id"]))
    return [record for _, record in records]


def request_records(seed: int, start: datetime, end: datetime) -> Iterator[dict]:
    fleet = build_fleet(seed, start)
    for hour in hours(start, end):
        yield from hour_records(seed, hour, fleet)


def generate_requests(outdir: Path, *, seed: int, start: datetime, end: datetime) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    fleet = build_fleet(seed, start)
    paths = []
    for day in days_of(start, end):
        path = outdir / f"requests-{day:%Y-%m-%d}.jsonl"
        first = datetime(day.year, day.month, day.day, tzinfo=start.tzinfo)
        day_hours = hours(max(first, start), min(first + timedelta(days=1), end))
        with path.open("w") as handle:
            for hour in day_hours:
                for record in hour_records(seed, hour, fleet):
                    handle.write(json.dumps(record, separators=(",", ":")) + "\n")
        paths.append(path)
    return paths
