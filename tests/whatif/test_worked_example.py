"""The worked example of docs/WHATIF.md, end to end through the service: the baseline measured
from the stored rows, then caching, consolidation and a commitment, every figure by hand."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from costapp.whatif import service
from tests.dashboard.builders import finance_user

from .builders import PARAMS, POOL, worked_example

pytestmark = pytest.mark.django_db

LEVERS = {"caching_hit_rate": "0.2", "utilization_target": "0.8", "commitment_share": "0.5",
          "commitment_discount": "0.4"}  # fmt: skip


def test_the_baseline_is_measured_from_the_period_rows():
    worked_example()
    base = service.run(finance_user(), PARAMS).simulation.baseline
    assert base.days == 30
    assert base.monthly_cost == D("196.64") and base.monthly_billed_cost == D("196.64")
    assert (base.busy_cost, base.idle_cost) == (D("122.90"), D("73.74"))
    assert (base.gpu_hours, base.busy_gpu_hours) == (D(16), D(10))
    assert base.mean_utilization == D("0.625") and base.peak_hour_utilization == D("0.75")
    assert (base.input_tokens, base.output_tokens, base.requests) == (7_500_000, 2_500_000, 2500)
    assert base.cache_hit_share == D("0.2")
    assert base.cost_per_1m_tokens == D("19.664") and base.busy_cost_per_1m_tokens == D("12.29")
    assert base.loaded_cost_per_1m_tokens == D("19.664")  # 49.16 / 0.5 + 73.74 / 0.75
    assert base.pricing_mix == {"on-demand": D("196.64")}
    assert base.gpu_types == ("H100",)
    # Two hours of thirty days carry cost: nothing runs always.
    assert base.steady_share == 0


def test_the_levers_of_the_worked_example():
    worked_example()
    sim = service.run(finance_user(), {**PARAMS, **LEVERS}).simulation
    savings = {lever.name: lever.saving for lever in sim.levers}
    assert savings == {
        "routing": 0,
        "caching": D("39.328"),  # 196.64 x 0.2
        "quantization": 0,
        "scale_to_zero": 0,
        "consolidation": D("34.412"),  # 157.312 x (1 - 0.625 / 0.8)
        "right_sizing": 0,
        "pricing": D("24.58"),  # 122.9 x 0.5 x 0.4
    }
    assert sim.projected.monthly_cost == D("98.32")
    assert sim.total_saving == sum(savings.values()) == D("98.32")
    assert sim.projected.gpu_hours == D(10)  # 16 x 0.8 x 0.78125
    assert sim.projected.cost_per_1m_tokens == D("9.832")


def test_a_pool_scope_reads_only_that_pool():
    worked_example()
    fin = finance_user()
    assert service.run(fin, {**PARAMS, "pool": POOL}).simulation.baseline.monthly_cost == D(
        "196.64"
    )
    assert service.run(fin, {**PARAMS, "pool": "other"}).simulation.baseline.monthly_cost == 0


def test_a_period_of_fifteen_days_is_scaled_to_thirty():
    worked_example()
    base = service.run(finance_user(), {"start": "2026-10-01", "end": "2026-10-15"})
    assert base.simulation.baseline.monthly_cost == D("393.28")
