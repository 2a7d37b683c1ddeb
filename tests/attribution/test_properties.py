"""Invariants under random data (hypothesis): conservation, signs, monotonicity, idempotence."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costapp.attribution.engine import run_attribution
from costapp.attribution.models import Allocation, GpuResource
from costapp.attribution.splitsql import largest_remainder
from costapp.ingest.models import CostLine, GpuSample, UsageRollup
from costapp.money import QUANTUM, split

from . import builders as b

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

money = st.decimals(min_value=Decimal("0"), max_value=Decimal("1000"), places=10)
signed_money = st.decimals(min_value=Decimal("-1000"), max_value=Decimal("1000"), places=10)
utilization = st.none() | st.decimals(min_value=0, max_value=1, places=6).map(str)
use = st.tuples(
    st.integers(0, 50),
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    st.none() | st.decimals(min_value=0, max_value=3600, places=6),
)


def _reset() -> None:
    for model in (Allocation, UsageRollup, GpuSample, CostLine, GpuResource):
        model.objects.all().delete()


def _scenario(costs, util, uses, gpus=4) -> None:
    _reset()
    b.gpu_resource(gpus=gpus)
    for amortized, billed, hours in costs:
        b.cost_line(cost=amortized, billed=billed, hours=hours)
    if util is not None:
        b.samples("i-gpu", b.hour(), [util], gpus=gpus)
    for i, (requests, tokens_in, tokens_out, gpu_seconds) in enumerate(uses):
        b.usage(
            f"team-{i % 3}",
            model=f"m{i}",
            requests=requests,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            gpu_seconds=gpu_seconds,
        )


def _spread_total(field: str) -> dict:
    """What each hour must add up to: each line split evenly over its hours with money.split."""
    expected: dict = {}
    for line in CostLine.objects.all():
        hours = int((line.charge_period_end - line.charge_period_start).total_seconds() // 3600)
        for i, part in enumerate(split(getattr(line, field), [1] * hours)):
            key = line.charge_period_start.replace(hour=line.charge_period_start.hour + i)
            expected[key] = expected.get(key, Decimal(0)) + part
    return expected


cost_lines = st.lists(
    st.tuples(signed_money, signed_money, st.integers(1, 3)), min_size=1, max_size=3
)


@EXAMPLES
@given(costs=cost_lines, util=utilization, uses=st.lists(use, max_size=6))
def test_every_hour_conserves_cost_exactly_on_both_bases(costs, util, uses):
    _scenario(costs, util, uses)
    run_attribution()
    for field, line_field in (("amortized_cost", "effective_cost"), ("billed_cost", "billed_cost")):
        got = dict(
            Allocation.objects.values("hour").annotate(s=Sum(field)).values_list("hour", "s")
        )
        assert got == _spread_total(line_field)


@EXAMPLES
@given(
    costs=st.lists(st.tuples(money, money, st.integers(1, 3)), min_size=1, max_size=3),
    util=utilization,
    uses=st.lists(use, max_size=6),
)
def test_non_negative_costs_never_give_a_negative_line(costs, util, uses):
    _scenario(costs, util, uses)
    run_attribution()
    assert not Allocation.objects.filter(amortized_cost__lt=0).exists()
    assert not Allocation.objects.filter(billed_cost__lt=0).exists()


@EXAMPLES
@given(
    cost=money,
    mine=st.integers(1, 1000),
    others=st.lists(st.integers(0, 1000), min_size=1, max_size=4),
    extra=st.integers(1, 1000),
)
def test_more_use_never_lowers_a_teams_share(cost, mine, others, extra):
    def my_cost(requests: int) -> Decimal:
        _reset()
        b.gpu_resource(gpus=1)
        b.cost_line(cost=cost)
        b.samples("i-gpu", b.hour(), ["0.7"])
        b.usage("me", requests=requests)
        for i, n in enumerate(others):
            b.usage(f"other-{i}", requests=n)
        run_attribution()
        return Allocation.objects.get(team="me").amortized_cost

    assert my_cost(mine + extra) >= my_cost(mine)


@EXAMPLES
@given(costs=cost_lines, util=utilization, uses=st.lists(use, max_size=6))
def test_rerunning_gives_identical_rows(costs, util, uses):
    _scenario(costs, util, uses)
    fields = ["hour", "kind", "team", "model", "amortized_cost", "billed_cost", "rule", "weight"]
    run_attribution()
    first = sorted(Allocation.objects.values_list(*fields), key=str)
    run_attribution()
    assert sorted(Allocation.objects.values_list(*fields), key=str) == first


@EXAMPLES
@given(
    amount=signed_money,
    weights=st.lists(
        st.decimals(min_value=0, max_value=10**6, places=6), min_size=1, max_size=8
    ).filter(lambda ws: sum(ws) > 0),
)
def test_sql_largest_remainder_matches_money_split(amount, weights):
    values = ", ".join(f"({i}, {w}::numeric)" for i, w in enumerate(weights))
    sql = f"""WITH src AS (
        SELECT 1 AS g, i, w AS weight, {amount}::numeric AS amount_a, 0::numeric AS amount_b
        FROM (VALUES {values}) AS v(i, w)
    ), {largest_remainder("src", "g", "i")}
    SELECT part_a FROM lr ORDER BY i"""
    with connection.cursor() as cursor:
        cursor.execute(sql)
        parts = [row[0] for row in cursor.fetchall()]
    assert parts == split(amount, weights, QUANTUM)
