"""The levers: pure functions on Decimal, each taking the monthly cost it acts on and its
assumptions, and returning what that cost becomes. No database, no defaults hidden inside:
the published figures a caller may start from are the named tables below, each with its source.

Those figures are published measurements and list prices, labelled as such: defaults to edit,
not facts about this fleet. Where the fleet's own data can calibrate a lever (utilization,
cache hits, the steady share of cost), costapp.whatif.scenario suggests the measured value.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from costapp.money import QUANTUM

ONE = Decimal(1)
MILLION = Decimal(1_000_000)


def ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    """part / whole, None when whole is zero (a share of nothing is unknown, not 0 or 1)."""
    return None if not whole else part / whole


def money(amount: Decimal) -> Decimal:
    """An amount at the stored quantum: every lever's result is one, so savings add exactly."""
    return amount.quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Published:
    """A published figure used as a default, with where it comes from and what it hides."""

    value: Decimal
    source: str
    caveat: str = ""


@dataclass(frozen=True)
class Precision:
    memory: Decimal  # weight memory relative to FP16
    speedup: Published  # throughput relative to FP16


# Weight memory follows from bits per weight; the speedups are vendor and paper figures for
# particular models, GPUs and batch sizes: a starting point, to be measured on your own model.
QUANTIZATION: dict[str, Precision] = {
    "fp8": Precision(
        Decimal("0.5"),
        Published(
            Decimal("2.0"),
            "NVIDIA TensorRT-LLM FP8 results on H100 (published, up to ~2x over FP16)",
            "near-lossless on most published evaluations; needs Hopper or newer (H100, H200, "
            "L40S, B200); check your own evaluation set",
        ),
    ),
    "int8": Precision(
        Decimal("0.5"),
        Published(
            Decimal("1.5"),
            "SmoothQuant W8A8 (Xiao et al., 2023: up to 1.56x over FP16)",
            "small accuracy loss reported on large models; larger on small ones",
        ),
    ),
    "int4": Precision(
        Decimal("0.25"),
        Published(
            Decimal("2.7"),
            "W4A16 kernels (Marlin/AWQ) at batch 1, published ~2.7x over FP16",
            "the gain shrinks as batches grow (compute-bound); accuracy loss is measurable, "
            "especially on reasoning and code: evaluate before use",
        ),
    ),
}

# Relative LLM-serving throughput per GPU (A100-80GB = 1), rounded coarsely from published
# MLPerf Inference datacenter results and vendor figures. Coarse on purpose: measure your own.
THROUGHPUT_SOURCE = (
    "coarse per-GPU figures rounded from published MLPerf Inference (datacenter, LLM) results "
    "and vendor material; A100-80GB = 1; measure your own model before acting"
)
RELATIVE_THROUGHPUT: dict[str, Decimal] = {
    "T4": Decimal("0.1"),
    "A10G": Decimal("0.25"),
    "A10": Decimal("0.25"),
    "L4": Decimal("0.25"),
    "V100": Decimal("0.3"),
    "L40S": Decimal("0.6"),
    "A100-40GB": Decimal("0.9"),
    "A100-80GB": Decimal("1"),
    "H100": Decimal("2"),
    "H100-NVL": Decimal("2"),
    "H200": Decimal("2.5"),
    "B200": Decimal("4"),
}

COMMITMENT_DISCOUNT = Published(
    Decimal("0.35"),
    "typical 1-year GPU commitment discount in published price lists (AWS Savings Plans, "
    "Google CUDs, Azure reservations advertise up to ~70% for 3 years)",
    "a commitment is paid whether used or not: commit only the steady share",
)
SPOT_DISCOUNT = Published(
    Decimal("0.6"),
    "published spot/preemptible GPU discounts (AWS Spot 'up to 90%', Google Spot VMs "
    "'60-91%'); GPU capacity usually sits near the low end",
    "capacity can be reclaimed at short notice; serve only retryable traffic from it",
)
SPOT_OVERHEAD = Published(
    Decimal("0.1"),
    "assumed: 10% extra GPU time for restarts and warm spares after interruptions",
    "depends on the region's interruption rate and on model load time",
)


def consolidation(cost: Decimal, utilization: Decimal, target: Decimal) -> Decimal:
    """Raise the utilization of GPU capacity to `target`: the same busy work then needs
    utilization / target of the GPU-hours. A target at or below today's changes nothing."""
    if target <= utilization or target <= 0:
        return cost
    return money(cost * utilization / target)


def scale_to_zero(cost: Decimal, utilization: Decimal, share: Decimal) -> Decimal:
    """Stop `share` of the idle capacity (the hours a pool sits idle through nights and
    weekends): capacity at `utilization` is idle for 1 - utilization of its GPU-hours."""
    return money(cost * (ONE - share * (ONE - utilization)))


def caching(cost: Decimal, hit_rate: Decimal) -> Decimal:
    """A cache serving `hit_rate` of the requests that reach the GPUs today removes that share
    of their work (capacity follows work)."""
    return money(cost * (ONE - hit_rate))


def quantization(cost: Decimal, speedup: Decimal) -> Decimal:
    """Serving `speedup` times the tokens per GPU-hour needs 1 / speedup of the GPU-hours."""
    return money(cost / speedup)


def right_sizing(cost: Decimal, price_ratio: Decimal, throughput_ratio: Decimal) -> Decimal:
    """Moving to a GPU type costing `price_ratio` times as much per GPU-hour and serving
    `throughput_ratio` times the tokens per GPU-hour. Can cost more: the saving is negative."""
    return money(cost * price_ratio / throughput_ratio)


def pricing(
    cost: Decimal,
    on_demand_share: Decimal,
    commitment_share: Decimal,
    commitment_discount: Decimal,
    spot_share: Decimal,
    spot_discount: Decimal,
    spot_overhead: Decimal,
) -> Decimal:
    """Move `commitment_share` and `spot_share` of the on-demand part of `cost` to a commitment
    and to spot. Spot hours cost (1 - discount) but need (1 + overhead) of them."""
    on_demand = cost * on_demand_share
    committed = on_demand * commitment_share * commitment_discount
    spot = on_demand * spot_share * (ONE - (ONE - spot_discount) * (ONE + spot_overhead))
    return money(cost - committed - spot)


def routing(
    cost: Decimal,
    share: Decimal,
    input_tokens: int,
    output_tokens: int,
    price_in_per_1m: Decimal,
    price_out_per_1m: Decimal,
) -> tuple[Decimal, Decimal]:
    """Send `share` of the requests (and, on average, of the tokens) elsewhere: the GPU cost
    left here, and what the destination charges for those tokens at its price per 1M."""
    moved = share * (input_tokens * price_in_per_1m + output_tokens * price_out_per_1m) / MILLION
    return money(cost * (ONE - share)), money(moved)


def gpus_needed(gpu_hours: Decimal, hours: Decimal) -> int:
    """Whole GPUs to run `gpu_hours` over `hours` (the average load, rounded up)."""
    if gpu_hours <= 0 or hours <= 0:
        return 0
    return int((gpu_hours / hours).to_integral_value(rounding="ROUND_CEILING"))
