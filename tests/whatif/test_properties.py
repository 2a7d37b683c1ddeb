"""Invariants of the combined levers, for any baseline and any lever settings: the projection
is never negative, no lever saves more than the cost it acts on, a lever at zero changes
nothing, and the savings add up to the total saving exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from costapp.whatif.baseline import Baseline, WhatIfScope
from costapp.whatif.scenario import RightSizing, Routing, simulate

START, END = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 31, tzinfo=UTC)
money = st.decimals(min_value=0, max_value=10**9, places=10, allow_nan=False)
fraction = st.decimals(min_value=0, max_value=1, places=4, allow_nan=False)
positive = st.decimals(min_value=Decimal("0.01"), max_value=100, places=4, allow_nan=False)


@st.composite
def baselines(draw) -> Baseline:
    busy, idle, unmeasured, other = (draw(money) for _ in range(4))
    gpu = busy + idle + unmeasured
    total = gpu + other
    on_demand = draw(fraction) * total
    return Baseline(
        scope=WhatIfScope(), start=START, end=END, currency="USD", monthly_cost=total,
        monthly_billed_cost=total, gpu_cost=gpu, busy_cost=busy, idle_cost=idle,
        unmeasured_cost=unmeasured, other_cost=other, loaded_cost=total, gpu_hours=draw(money),
        busy_gpu_hours=Decimal(0), mean_utilization=draw(st.none() | fraction),
        peak_hour_utilization=None, steady_share=draw(fraction),
        input_tokens=draw(st.integers(0, 10**12)), output_tokens=draw(st.integers(0, 10**12)),
        requests=0, cache_hits=0, logged_requests=0,
        pricing_mix={"on-demand": on_demand, "commitment": total - on_demand},
    )  # fmt: skip


@st.composite
def lever_settings(draw) -> dict:
    found: dict = {}
    for name in ("routing_share", "caching_hit_rate", "utilization_target"):
        if draw(st.booleans()):
            found[name] = draw(fraction)
    if draw(st.booleans()):
        found["quantization"] = draw(st.sampled_from(["fp8", "int8", "int4"]))
    if draw(st.booleans()):
        committed = draw(fraction)
        found.update(commitment_share=committed, spot_share=draw(fraction) * (1 - committed),
                     commitment_discount=draw(fraction), spot_discount=draw(fraction),
                     spot_overhead=draw(fraction))  # fmt: skip
    return found


routings = st.builds(lambda p_in, p_out: Routing("m", p_in, p_out, "test"), money, money)
right_sizings = st.builds(lambda p, t: RightSizing("L4", p, t, "test"), positive, positive)


@settings(max_examples=300, deadline=None)
@given(baselines(), lever_settings(), st.none() | routings, st.none() | right_sizings)
def test_savings_add_up_exactly_and_nothing_goes_negative(base, levers, routing, right_sizing):
    sim = simulate(base, levers, routing, right_sizing)
    assert sim.projected.monthly_cost >= 0 and sim.projected.gpu_hours >= 0
    assert sum(lever.saving for lever in sim.levers) == sim.total_saving
    for lever in sim.levers:
        assert lever.saving <= lever.before
        assert lever.after == lever.before - lever.saving
    assert sim.levers[0].before == sim.current.monthly_cost
    assert sim.levers[-1].after == sim.projected.monthly_cost


@settings(max_examples=200, deadline=None)
@given(baselines())
def test_every_lever_at_zero_changes_nothing(base):
    zero = Decimal(0)
    levers = {"routing_share": zero, "caching_hit_rate": zero, "utilization_target": zero,
              "commitment_share": zero, "spot_share": zero}  # fmt: skip
    sim = simulate(base, levers, Routing("m", Decimal(5), Decimal(5), "t"))
    assert sim.projected == sim.current
    assert all(lever.saving == 0 for lever in sim.levers)
    same = simulate(base, {"quantization_speedup": Decimal(1)},
                    right_sizing=RightSizing("H100", Decimal(1), Decimal(1), "t"))  # fmt: skip
    assert same.projected.monthly_cost == same.current.monthly_cost
