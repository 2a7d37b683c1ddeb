"""The worked example of docs/WHATIF.md, stored as the engine would have stored it.

One p5.48xlarge (8 x H100) in pool h100-east, two hours of October 2026 with data:
10:00 busy 49.16 (4 GPU-hours) idle 49.16 (4), 11:00 busy 73.74 (6) idle 24.58 (2).
Tokens 7.5M in and 2.5M out; 2500 requests, 500 of them cache hits (in the logs).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from costapp.attribution.models import GpuPool, LineKind
from costapp.ingest.models import IngestionRun, UsageRollup
from tests.dashboard.builders import allocation, gpu_resource

POOL = "h100-east"
PARAMS = {"start": "2026-10-01", "end": "2026-10-30"}  # 30 days: monthly = the period


def _hour(stamp: str, busy: str, idle: str, busy_hours: str, idle_hours: str, u: str,
          tokens: tuple[int, int], requests: int, team: str = "search") -> None:  # fmt: skip
    common = dict(pool=POOL, utilization=Decimal(u), utilization_source="telemetry",
                  pricing_category="Standard")  # fmt: skip
    allocation(stamp, team=team, model="llama-70b", endpoint=f"/{team}/chat", amortized=busy,
               input_tokens=tokens[0], output_tokens=tokens[1], requests=requests,
               gpu_hours=busy_hours, **common)  # fmt: skip
    allocation(stamp, LineKind.IDLE, amortized=idle, gpu_hours=idle_hours, **common)


def worked_example() -> None:
    resource = gpu_resource()
    resource.pool, _ = GpuPool.objects.get_or_create(name=POOL)
    resource.save()
    _hour("2026-10-01T10:00", "49.16", "49.16", "4", "4", "0.5", (3_000_000, 1_000_000), 1000)
    _hour("2026-10-01T11:00", "73.74", "24.58", "6", "2", "0.75", (4_500_000, 1_500_000), 1500)
    run = IngestionRun.objects.create(format="jsonl", location="test.jsonl")
    for stamp, requests, hits in (("2026-10-01T10:00", 1000, 200), ("2026-10-01T11:00", 1500, 300)):
        UsageRollup.objects.create(
            run=run, hour=datetime.fromisoformat(stamp).replace(tzinfo=UTC), team="search",
            model="llama-70b", endpoint="/search/chat", resource_id=resource.resource_id,
            requests=requests, cache_hits=hits,
        )  # fmt: skip
