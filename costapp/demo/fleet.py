"""The demo fleet and its load: instances, pools, teams, models, endpoints, and the diurnal
curve that both the GPU telemetry and the request logs follow (so they correlate, as in life).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class InstanceType:
    name: str
    gpu_model: str  # DCGM modelName
    gpu_count: int
    on_demand: Decimal  # USD per hour, us-east-1 list price
    memory_mib: int  # per GPU
    idle_w: float
    max_w: float


P5 = InstanceType("p5.48xlarge", "NVIDIA H100 80GB HBM3", 8, Decimal("98.32"), 81559, 70, 700)
G5 = InstanceType("g5.12xlarge", "NVIDIA A10G", 4, Decimal("5.672"), 23028, 22, 300)
G6 = InstanceType("g6.xlarge", "NVIDIA L4", 1, Decimal("0.8048"), 23034, 16, 72)


@dataclass(frozen=True)
class Instance:
    resource_id: str
    name: str
    type: InstanceType
    pool: str
    pricing: str  # FOCUS PricingCategory: Standard (on-demand), Committed, Dynamic (spot)
    zone: str
    models: tuple[str, ...]  # what it serves; GPUs are split evenly between them
    floor: float  # night-time utilization
    peak: float  # weekday early-afternoon utilization
    launched: datetime | None = None  # None: running before the window opens
    gpu_uuids: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Route:
    """One (team, endpoint, model) traffic stream."""

    team: str
    endpoint: str
    model: str
    peak_per_hour: float
    input_tokens: int  # median
    output_tokens: int  # median; 0 for embedding/rerank models
    cache_rate: float = 0.0


TEAMS = {
    "search": "Search",
    "assistant": "Assistant",
    "ads": "Ads",
    "fraud": "Fraud",
    "research": "Research",
}

ROUTES = (
    Route("search", "/search/answer", "llama-3.1-70b-instruct", 60, 6000, 350, 0.12),
    Route("search", "/search/rewrite", "llama-3.1-8b-instruct", 55, 400, 60, 0.2),
    Route("search", "/search/embed", "bge-m3", 80, 900, 0),
    Route("search", "/search/rerank", "bge-reranker-v2-m3", 70, 2500, 0),
    Route("assistant", "/assistant/chat", "qwen2.5-72b-instruct", 75, 3500, 450, 0.08),
    Route("assistant", "/assistant/summarize", "llama-3.1-70b-instruct", 35, 12000, 600),
    Route("ads", "/ads/copy", "mixtral-8x7b-instruct", 40, 1500, 220),
    Route("ads", "/ads/classify", "mistral-7b-instruct", 45, 700, 8),
    Route("fraud", "/fraud/explain", "gemma-2-9b-it", 25, 1800, 260),
    Route("fraud", "/fraud/score", "mistral-7b-instruct", 30, 900, 4),
    Route("research", "/research/eval", "qwen2.5-72b-instruct", 12, 5000, 900),
    Route("research", "/research/eval", "llama-3.1-70b-instruct", 10, 5000, 900),
    Route("research", "/research/batch", "llama-3.1-8b-instruct", 20, 8000, 500),
)

REGION = ("us-east-1", "US East (N. Virginia)")
ACCOUNT = ("210987654321", "Inference Ledger Demo")
SUB_ACCOUNT = ("345678901234", "ml-serving-prod")
# The savings plan that covers one p5: a 3-year compute plan at 42% off list.
SAVINGS_PLAN_DISCOUNT = Decimal("0.42")
# The exporter on one node was down for a few hours: cost with no telemetry ("unmeasured").
TELEMETRY_GAP = ("ai-a10g-b", 11, range(2, 5))  # (instance name, day index, hours UTC)


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _uuid(rng: random.Random) -> str:
    h = _hex(rng, 32)
    return f"GPU-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def build_fleet(seed: int, start: datetime) -> list[Instance]:
    """Seven GPU instances in three pools; the A10G pool is the chronically underused one."""
    rng = random.Random(f"fleet:{seed}")
    # The second L4 node is launched mid-hour on the window's fourth day.
    late = datetime(start.year, start.month, start.day, 10, 27, tzinfo=UTC) + timedelta(days=3)
    specs = [
        ("ai-h100-a", P5, "h100", "Standard", "us-east-1a", ("llama-3.1-70b-instruct",), 0.3, 0.93, None),
        ("ai-h100-b", P5, "h100", "Committed", "us-east-1a",
         ("qwen2.5-72b-instruct", "mixtral-8x7b-instruct"), 0.25, 0.88, None),
        ("ai-a10g-a", G5, "a10g", "Standard", "us-east-1b", ("llama-3.1-8b-instruct",), 0.04, 0.3, None),
        ("ai-a10g-b", G5, "a10g", "Standard", "us-east-1b", ("mistral-7b-instruct",), 0.03, 0.22, None),
        ("ai-a10g-c", G5, "a10g", "Dynamic", "us-east-1c", ("bge-m3",), 0.02, 0.18, None),
        ("ai-l4-a", G6, "l4", "Standard", "us-east-1b", ("bge-reranker-v2-m3",), 0.15, 0.7, None),
        ("ai-l4-b", G6, "l4", "Standard", "us-east-1b", ("gemma-2-9b-it",), 0.12, 0.75, late),
    ]  # fmt: skip
    fleet = []
    for name, itype, pool, pricing, zone, models, floor, peak, launched in specs:
        fleet.append(
            Instance(
                resource_id="i-0" + _hex(rng, 16),
                name=name,
                type=itype,
                pool=pool,
                pricing=pricing,
                zone=zone,
                models=models,
                floor=floor,
                peak=peak,
                launched=launched,
                gpu_uuids=tuple(_uuid(rng) for _ in range(itype.gpu_count)),
            )
        )
    return fleet


def hours(start: datetime, end: datetime) -> list[datetime]:
    """The hours of [start, end), both on the hour (UTC)."""
    return [start + timedelta(hours=h) for h in range(int((end - start) / timedelta(hours=1)))]


def days_of(start: datetime, end: datetime) -> list[date]:
    """The calendar days (UTC) that [start, end) touches: one demo file per day."""
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    return [first + timedelta(days=d) for d in range((last - first).days + 1)]


def diurnal(moment: datetime) -> float:
    """0..1: busy office hours (peak ~14:00 UTC), quiet nights, weekends at about half."""
    h = moment.hour + moment.minute / 60
    day = math.exp(-(((h - 14.0) / 5.0) ** 2))
    # A small evening shoulder: consumer traffic after work.
    evening = 0.25 * math.exp(-(((h - 20.5) / 1.8) ** 2))
    level = min(1.0, day + evening)
    if moment.weekday() >= 5:
        level *= 0.5
    return level


def day_factor(seed: int, resource_id: str, day: date) -> float:
    """Day-to-day wobble shared by an instance's telemetry and its request load."""
    return random.Random(f"day:{seed}:{resource_id}:{day.isoformat()}").uniform(0.85, 1.15)


def busy(instance: Instance, moment: datetime, seed: int) -> float:
    """Expected utilization (0..1) of an instance at a moment, before per-sample noise."""
    level = diurnal(moment) * day_factor(seed, instance.resource_id, moment.date())
    return min(1.0, instance.floor + (instance.peak - instance.floor) * level)


def is_running(instance: Instance, moment: datetime) -> bool:
    return instance.launched is None or moment >= instance.launched


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw: exact (Knuth) for small means, the normal approximation above."""
    if mean < 20:
        threshold, k, p = math.exp(-mean), 0, 1.0
        while True:
            p *= rng.random()
            if p <= threshold:
                return k
            k += 1
    return max(0, round(rng.gauss(mean, math.sqrt(mean))))


def token_count(rng: random.Random, median: int) -> int:
    """One request's tokens around a median (log-normal); 0 when the median is 0."""
    return 0 if median == 0 else max(1, round(median * rng.lognormvariate(0, 0.45)))
