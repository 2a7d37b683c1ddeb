"""Each lever on cases worked by hand: pure functions on Decimal, no database."""

from __future__ import annotations

from decimal import Decimal as D

from costapp.whatif import levers


def test_consolidation_keeps_the_busy_work_at_the_target_utilization():
    # 0.625 busy at 0.8: 0.625 / 0.8 = 0.78125 of the capacity.
    assert levers.consolidation(D("157.312"), D("0.625"), D("0.8")) == D("122.9")


def test_consolidation_to_a_target_at_or_below_today_changes_nothing():
    assert levers.consolidation(D("100"), D("0.7"), D("0.7")) == D("100")
    assert levers.consolidation(D("100"), D("0.7"), D("0.5")) == D("100")
    assert levers.consolidation(D("100"), D("0.7"), D("0")) == D("100")


def test_caching_removes_the_hit_share_of_the_work():
    assert levers.caching(D("196.64"), D("0.2")) == D("157.312")
    assert levers.caching(D("196.64"), D("0")) == D("196.64")


def test_quantization_divides_by_the_speedup_at_the_money_quantum():
    assert levers.quantization(D("100"), D("2")) == D("50")
    # 100 / 3 = 33.3333333333 (1E-10, half-even)
    assert levers.quantization(D("100"), D("3")) == D("33.3333333333")


def test_right_sizing_can_cost_more():
    # Half the price per GPU-hour but a third of the throughput: 1.5x the cost.
    assert levers.right_sizing(D("100"), D("0.5"), D("0.3333333333333333333333333333")) == D("150")
    assert levers.right_sizing(D("100"), D("0.25"), D("0.5")) == D("50")


def test_pricing_commits_and_moves_to_spot_only_the_on_demand_part():
    # On-demand 80 of 100: commit half (40) at 40% off saves 16; spot a quarter (20) at 60%
    # off with 10% overhead costs 20 x 0.4 x 1.1 = 8.8, saving 11.2. 100 - 16 - 11.2 = 72.8.
    after = levers.pricing(D("100"), D("0.8"), D("0.5"), D("0.4"), D("0.25"), D("0.6"), D("0.1"))
    assert after == D("72.8")


def test_routing_trades_gpu_cost_for_the_destination_price():
    # 30% of 10M tokens (7.5M in, 2.5M out) at 0.15 / 0.60 per 1M:
    # 0.3 x (7.5 x 0.15 + 2.5 x 0.60) = 0.3 x 2.625 = 0.7875.
    kept, moved = levers.routing(D("196.64"), D("0.3"), 7_500_000, 2_500_000, D("0.15"), D("0.6"))
    assert kept == D("137.648") and moved == D("0.7875")


def test_gpus_needed_rounds_the_average_load_up():
    assert levers.gpus_needed(D("720"), D("720")) == 1
    assert levers.gpus_needed(D("721"), D("720")) == 2
    assert levers.gpus_needed(D("0"), D("720")) == 0


def test_every_published_default_names_its_source():
    for precision in levers.QUANTIZATION.values():
        assert precision.speedup.source and precision.speedup.caveat
    for published in (levers.COMMITMENT_DISCOUNT, levers.SPOT_DISCOUNT, levers.SPOT_OVERHEAD):
        assert published.source
