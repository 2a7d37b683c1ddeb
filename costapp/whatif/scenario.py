"""Levers combined: a baseline and lever settings in, current vs projected out.

The levers apply in one fixed order, each to what the previous left, so no saving is counted
twice:

1. routing       a share of requests leaves (its GPU cost goes, the destination's price comes)
2. caching       a share of the remaining GPU work is served from cache
3. quantization  the remaining work needs 1 / speedup of the GPU-hours
4. scale to zero a share of the idle GPU-hours (nights, weekends) is stopped
5. consolidation the remaining capacity runs at the target utilization (idle goes)
6. right-sizing  the remaining GPU-hours move to another GPU type
7. pricing       what is left is partly committed and partly on spot

Scale to zero raises the utilization consolidation starts from (the idle hours it stopped are
gone), so the two together never remove more idle than consolidation alone would.

Work levers assume capacity follows work (the fleet scales down with it); consolidation is
the lever that removes idle. Every step's cost is rounded to the money quantum, so each
lever's saving is before - after exactly and the savings add up to the total exactly.
Shared (non-GPU) cost is carried through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from costapp.money import ZERO

from . import levers as lv
from .baseline import HOURS_PER_MONTH, Baseline, per_million

if TYPE_CHECKING:
    from .discounts import BillDiscount

ORDER = (
    "routing", "caching", "quantization", "scale_to_zero", "consolidation", "right_sizing",
    "pricing",
)  # fmt: skip
ONE = Decimal(1)


@dataclass(frozen=True)
class Routing:
    """Where routed requests go and what they cost there per 1M tokens."""

    destination: str
    price_in_per_1m: Decimal
    price_out_per_1m: Decimal
    source: str


@dataclass(frozen=True)
class RightSizing:
    """The move to another GPU type, as ratios to today's type."""

    gpu_type: str
    price_ratio: Decimal
    throughput_ratio: Decimal
    source: str


@dataclass(frozen=True)
class LeverResult:
    name: str
    saving: Decimal
    before: Decimal
    after: Decimal
    applied: bool
    assumptions: dict[str, str] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class Projection:
    monthly_cost: Decimal
    gpu_cost: Decimal
    routed_cost: Decimal
    other_cost: Decimal
    gpu_hours: Decimal
    gpus: int
    cost_per_1m_tokens: Decimal | None


@dataclass(frozen=True)
class Simulation:
    baseline: Baseline
    current: Projection
    projected: Projection
    levers: tuple[LeverResult, ...]

    @property
    def total_saving(self) -> Decimal:
        return self.current.monthly_cost - self.projected.monthly_cost


@dataclass(frozen=True)
class Suggestion:
    value: Decimal
    source: str
    measured: bool


def suggestions(
    baseline: Baseline, bill: Mapping[str, BillDiscount] | None = None
) -> dict[str, Suggestion]:
    """Defaults to start from: measured on the baseline (and the discounts `bill` shows, see
    costapp.whatif.discounts) where the data allows, else the published figures of
    costapp.whatif.levers."""
    bill = bill or {}
    found: dict[str, Suggestion] = {}
    if baseline.peak_hour_utilization is not None:
        found["utilization_target"] = Suggestion(
            baseline.peak_hour_utilization.quantize(Decimal("0.0001")),
            "measured: the busiest hour's utilization in this scope and period, "
            "what the capacity already sustains",
            True,
        )
    share = baseline.cache_hit_share
    if share:
        found["caching_hit_rate"] = Suggestion(
            share.quantize(Decimal("0.0001")),
            f"measured: {baseline.cache_hits} of {baseline.logged_requests} logged requests "
            "were cache hits",
            True,
        )
    off = baseline.off_hours_idle_share
    if off:
        found["scale_to_zero_share"] = Suggestion(
            off.quantize(Decimal("0.0001")),
            f"measured: {baseline.off_hours_idle_gpu_hours:.1f} of {baseline.idle_gpu_hours:.1f} "
            f"idle GPU-hours fall in the {len(baseline.off_hours)} hours of the week whose "
            "utilization stayed under 5%",
            True,
        )
    found["commitment_share"] = Suggestion(
        baseline.steady_share.quantize(Decimal("0.0001")),
        "measured: the lowest hour's GPU cost over the average hour's, the share that runs always",
        True,
    )
    for name, published in (
        ("commitment_discount", lv.COMMITMENT_DISCOUNT),
        ("spot_discount", lv.SPOT_DISCOUNT),
        ("spot_overhead", lv.SPOT_OVERHEAD),
    ):
        measured = bill.get(name)
        if measured is not None:
            found[name] = Suggestion(
                measured.value.quantize(Decimal("0.0001")),
                f"measured: the bill's {measured.lines} usage lines at this price cost "
                f"{measured.effective:.2f} against {measured.list_price:.2f} at list price",
                True,
            )
        else:
            found[name] = Suggestion(published.value, f"published: {published.source}", False)
    return found


class _Ledger:
    """The running state the levers act on, one step at a time."""

    def __init__(self, baseline: Baseline) -> None:
        self.gpu = lv.money(baseline.gpu_cost)
        self.other = lv.money(baseline.other_cost)
        self.routed = ZERO
        self.hours = baseline.gpu_hours
        self.steps: list[LeverResult] = []

    @property
    def total(self) -> Decimal:
        return self.gpu + self.routed + self.other

    def step(self, name: str, gpu: Decimal, *, routed: Decimal | None = None,
             hours: Decimal | None = None, assumptions: dict[str, str], note: str = "") -> None:  # fmt: skip
        before = self.total
        self.gpu = gpu
        self.routed = self.routed if routed is None else routed
        self.hours = self.hours if hours is None else hours
        self.steps.append(
            LeverResult(name, before - self.total, before, self.total, True, assumptions, note)
        )

    def skip(self, name: str, note: str = "") -> None:
        total = self.total
        self.steps.append(LeverResult(name, ZERO, total, total, False, {}, note))

    def projection(self, baseline: Baseline) -> Projection:
        return Projection(
            monthly_cost=self.total,
            gpu_cost=self.gpu,
            routed_cost=self.routed,
            other_cost=self.other,
            gpu_hours=self.hours,
            gpus=lv.gpus_needed(self.hours, HOURS_PER_MONTH),
            cost_per_1m_tokens=per_million(self.total, baseline.tokens),
        )


def _pct(value: Decimal) -> str:
    return f"{value * 100:.4g}%"


def simulate(
    baseline: Baseline,
    settings: dict[str, Decimal | str],
    routing: Routing | None = None,
    right_sizing: RightSizing | None = None,
) -> Simulation:
    """Apply the levers `settings` turns on (see costapp.whatif.params) in ORDER."""
    ledger = _Ledger(baseline)
    current = ledger.projection(baseline)

    share = settings.get("routing_share")
    if share and routing is not None:
        kept, moved = lv.routing(ledger.gpu, share, baseline.input_tokens,
                                 baseline.output_tokens, routing.price_in_per_1m,
                                 routing.price_out_per_1m)  # fmt: skip
        ledger.step("routing", kept, routed=ledger.routed + moved,
                    hours=ledger.hours * (ONE - share),
                    assumptions={"share": _pct(share), "to": routing.destination,
                                 "price per 1M in / out": f"{routing.price_in_per_1m:.4f} / "
                                 f"{routing.price_out_per_1m:.4f} ({routing.source})"},
                    note="routed requests are assumed to carry the average tokens")  # fmt: skip
    else:
        ledger.skip("routing")

    hit_rate = settings.get("caching_hit_rate")
    if hit_rate:
        ledger.step("caching", lv.caching(ledger.gpu, hit_rate),
                    hours=ledger.hours * (ONE - hit_rate),
                    assumptions={"hit rate": _pct(hit_rate)},
                    note="assumes a hit costs no GPU time and capacity shrinks with the work")  # fmt: skip
    else:
        ledger.skip("caching")

    precision = settings.get("quantization")
    if precision:
        table = lv.QUANTIZATION[str(precision)]
        speedup = Decimal(settings.get("quantization_speedup") or table.speedup.value)
        source = "given" if settings.get("quantization_speedup") else table.speedup.source
        ledger.step("quantization", lv.quantization(ledger.gpu, speedup),
                    hours=ledger.hours / speedup,
                    assumptions={"precision": f"FP16 -> {str(precision).upper()}",
                                 "speedup": f"{speedup}x ({source})",
                                 "weight memory": f"x{table.memory}"},
                    note=f"accuracy: {table.speedup.caveat}")  # fmt: skip
    else:
        ledger.skip("quantization")

    utilization = baseline.mean_utilization
    unmeasured = lv.ratio(baseline.unmeasured_cost, baseline.gpu_cost) or ZERO
    off = settings.get("scale_to_zero_share")
    if off and utilization is not None and utilization < 1:
        measured = lv.money(ledger.gpu * (ONE - unmeasured))
        kept = ONE - off * (ONE - utilization)
        after = lv.scale_to_zero(measured, utilization, off)
        ledger.step("scale_to_zero", ledger.gpu - measured + after,
                    hours=ledger.hours * (ONE - (ONE - unmeasured) * (ONE - kept)),
                    assumptions={"idle GPU-hours stopped": _pct(off),
                                 "utilization": f"{_pct(utilization)} -> "
                                                f"{_pct(utilization / kept)}"},
                    note="the stopped hours cost nothing; unmeasured GPU cost is left as it is")  # fmt: skip
        # What remains: unmeasured keeps its cost, the measured part now runs busier.
        unmeasured = lv.ratio(ledger.gpu - after, ledger.gpu) or ZERO
        utilization = utilization / kept
    elif off:
        ledger.skip("scale_to_zero", "no measured idle capacity in this scope")
    else:
        ledger.skip("scale_to_zero")

    target = settings.get("utilization_target")
    if target and utilization is not None and target > utilization:
        measured = lv.money(ledger.gpu * (ONE - unmeasured))
        after = lv.consolidation(measured, utilization, target)
        ledger.step("consolidation", ledger.gpu - measured + after,
                    hours=ledger.hours * (ONE - (ONE - unmeasured) * (ONE - utilization / target)),
                    assumptions={"utilization": f"{_pct(utilization)} -> {_pct(target)}"},
                    note="unmeasured GPU cost is left as it is")  # fmt: skip
    elif target:
        ledger.skip("consolidation", "the target is not above today's mean utilization")
    else:
        ledger.skip("consolidation")

    if right_sizing is not None:
        ledger.step("right_sizing", lv.right_sizing(ledger.gpu, right_sizing.price_ratio,
                                                    right_sizing.throughput_ratio),
                    hours=ledger.hours / right_sizing.throughput_ratio,
                    assumptions={"to": right_sizing.gpu_type,
                                 "price ratio": f"{right_sizing.price_ratio:.4f}",
                                 "throughput ratio": f"{right_sizing.throughput_ratio:.4f}",
                                 "sources": right_sizing.source})  # fmt: skip
    else:
        ledger.skip("right_sizing")

    committed = settings.get("commitment_share") or ZERO
    spot = settings.get("spot_share") or ZERO
    if committed or spot:
        discount = settings.get("commitment_discount", lv.COMMITMENT_DISCOUNT.value)
        spot_discount = settings.get("spot_discount", lv.SPOT_DISCOUNT.value)
        overhead = settings.get("spot_overhead", lv.SPOT_OVERHEAD.value)
        on_demand = baseline.on_demand_share
        after = lv.pricing(ledger.gpu, on_demand, committed, discount, spot, spot_discount,
                           overhead)  # fmt: skip
        ledger.step("pricing", after,
                    assumptions={"on-demand share today": _pct(on_demand),
                                 "commitment": f"{_pct(committed)} at {_pct(discount)} off",
                                 "spot": f"{_pct(spot)} at {_pct(spot_discount)} off, "
                                         f"{_pct(overhead)} overhead"},
                    note="shares apply to the on-demand part of the GPU cost")  # fmt: skip
    else:
        ledger.skip("pricing")

    return Simulation(baseline, current, ledger.projection(baseline), tuple(ledger.steps))
