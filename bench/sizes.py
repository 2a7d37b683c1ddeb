"""The benchmark sizes: XS (the CI smoke test), S (the default, minutes on 2 cores) and L (issue 18).

L is the issue's: 30 days at 10M requests a day as rollup input (here the request-log file is a
bounded 10M-line slice and the rollups are generated in SQL), 1M billing lines, 256 GPUs of
telemetry at 15 s, a year of allocations for 50 teams, 40 models, 100 endpoints.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Size:
    name: str
    request_rows: int  # JSON Lines request records ingested
    billing_rows: int  # FOCUS lines, as CSV.gz and as Parquet
    telemetry_samples: int  # GPU readings, as DCGM text and as Prometheus JSON
    attribution_days: int  # the attributed window
    resources: int  # 8-GPU resources
    keys: int  # (team, model, endpoint) keys per resource-hour: one per endpoint
    teams: int
    models: int
    dashboard_days: int  # history behind the pages
    memory_rows: tuple[int, int]  # request rows of the smaller and the larger memory run
    page_requests: int  # requests per page under load
    concurrency: int
    windows: int  # independent attribution windows for the worker speed-up

    def as_dict(self) -> dict:
        return asdict(self)


SIZES = {
    "XS": Size("XS", 300, 300, 256, 1, 1, 10, 5, 4, 2, (200, 400), 8, 2, 2),
    "S": Size("S", 100_000, 50_000, 50_000, 7, 4, 100, 50, 40, 14, (20_000, 100_000), 200, 4, 8),
    "L": Size(
        "L",
        10_000_000,
        1_000_000,
        256 * 4 * 60 * 24,  # 256 GPUs at 15 s for a day
        30,
        32,
        100,
        50,
        40,
        365,
        (100_000, 10_000_000),
        2000,
        8,
        30,
    ),
}


def current() -> Size:
    name = os.environ.get("BENCH_SIZE", "S").upper()
    if name not in SIZES:
        raise SystemExit(f"BENCH_SIZE={name!r}: expected one of {', '.join(SIZES)}")
    return SIZES[name]
