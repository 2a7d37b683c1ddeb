"""Selectors: team costs with idle separate or shared, unit economics, idle capacity."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum

from costapp.attribution.engine import run_attribution
from costapp.attribution.models import Allocation, AttributionPolicy, IdlePolicy
from costapp.attribution.selectors import company_lines, idle_capacity, team_costs, unit_costs

from . import builders as b

pytestmark = pytest.mark.django_db


@pytest.fixture
def attributed():
    """Cost 100 (billed 200) at 40% utilization: idle 60, busy 40 split 3:1 by tokens."""
    b.gpu_resource(gpus=1)
    b.cost_line(cost="100", billed="200")
    b.samples("i-gpu", b.hour(), ["0.4"])
    b.usage("search", requests=3000, input_tokens=2_000_000, output_tokens=1_000_000)
    b.usage("ads", requests=1000, input_tokens=500_000, output_tokens=500_000)
    run_attribution()
    return b.hour(), b.hour(1)


def test_idle_kept_separate_by_default(attributed):
    costs = {c.team: c for c in team_costs(*attributed)}
    assert costs["search"].total == Decimal(30) and costs["search"].idle == 0
    assert company_lines(*attributed)["idle"] == Decimal(60)


def test_share_idle_hands_the_pools_idle_to_its_teams_by_use(attributed):
    costs = {c.team: c for c in team_costs(*attributed, share_idle=True)}
    assert (costs["search"].idle, costs["ads"].idle) == (Decimal(45), Decimal(15))
    assert costs["search"].total + costs["ads"].total == Decimal(100)
    assert company_lines(*attributed, share_idle=True)["idle"] == 0


def test_policy_share_makes_sharing_the_default_view(attributed):
    AttributionPolicy.objects.filter(pk=1).update(idle_policy=IdlePolicy.SHARE)
    assert {c.team: c.idle for c in team_costs(*attributed)}["ads"] == Decimal(15)


def test_team_filter_hides_other_teams(attributed):
    assert [c.team for c in team_costs(*attributed, teams=["ads"])] == ["ads"]
    assert [r.team for r in unit_costs(*attributed, teams=["ads"])] == ["ads"]


def test_billed_basis_reports_billed_cost(attributed):
    costs = {c.team: c for c in team_costs(*attributed, basis="billed")}
    assert costs["search"].usage == Decimal(60)


def test_unit_costs_per_token_request_and_gpu_hour(attributed):
    row = {r.team: r for r in unit_costs(*attributed, period="day")}["search"]
    assert (row.cost, row.busy, row.idle) == (Decimal(30), Decimal(30), Decimal(45))
    # Output weight w = 1: input carries 2M / (2M + 1 x 1M) of the cost, output the rest.
    assert row.per_million_input_busy == Decimal(10) == row.per_million_output_busy
    assert row.per_million_input_loaded == Decimal(25) == row.per_million_output_loaded
    assert row.per_million_busy == Decimal(10)
    assert row.per_million_loaded == Decimal(25)  # with its 45 share of the GPU's idle
    assert row.per_thousand_requests == Decimal(25)
    assert row.gpu_hours_per_million_tokens == Decimal("0.1")


def test_the_output_weight_splits_input_from_output_cost(attributed):
    AttributionPolicy.objects.update(output_token_weight=Decimal(4))
    row = {r.team: r for r in unit_costs(*attributed)}["search"]
    # 2M input + 4 x 1M output: input carries 2/6 of 30 = 10, output 20.
    assert row.output_weight == Decimal(4)
    assert row.per_million_input_busy == Decimal(5)
    assert row.per_million_output_busy == Decimal(20)


def test_idle_capacity_per_org_pool_and_team(attributed):
    org = idle_capacity(*attributed)[0]
    assert (org.idle_hours_pct, org.idle_cost_pct) == (Decimal(60), Decimal(60))
    assert idle_capacity(*attributed, by="pool")[0].key == "aws/us-east-1/H100"
    team = {r.key: r for r in idle_capacity(*attributed, by="team")}["ads"]
    assert team.gpu_hours == Decimal("0.25") and team.idle_gpu_hours == Decimal("0.15")


def test_unit_costs_under_share_idle_carry_each_keys_idle_share(attributed):
    row = {r.team: r for r in unit_costs(*attributed, share_idle=True)}["search"]
    assert (row.cost, row.idle) == (Decimal(75), Decimal(45))
    assert row.gpu_hours == Decimal("0.75")
    assert row.per_million_loaded == Decimal(25)
    separate = {r.team: r for r in unit_costs(*attributed, share_idle=False)}["ads"]
    assert (separate.cost, separate.gpu_hours) == (separate.busy, separate.busy_gpu_hours)


def test_the_shared_view_conserves_across_keys_teams_and_company_lines():
    # Two pools, odd amounts, three keys: every view must add up to the allocations, exactly.
    b.gpu_resource("i-a", gpus=1)
    b.gpu_resource("i-b", gpus=2, pool="gcp/us-central1/A100")
    b.cost_line("i-a", cost="100.0000000001", hours=2)
    b.cost_line("i-b", cost="33.3333333333", billed="7")
    b.samples("i-a", b.hour(0), ["0.37"])
    b.samples("i-a", b.hour(1), ["0.11"])
    b.samples("i-b", b.hour(0), ["0.5"], gpus=2)
    for team, model, resource, n in (
        ("search", "m1", "i-a", 7),
        ("search", "m2", "i-a", 3),
        ("ads", "m1", "i-a", 5),
        ("ads", "m1", "i-b", 1),
    ):
        b.usage(team, model=model, resource_id=resource, requests=n)
    b.usage("search", at=b.hour(1), resource_id="i-a", requests=1)
    run_attribution()
    window = (b.hour(), b.hour(2))
    for basis, field in (("amortized", "amortized_cost"), ("billed", "billed_cost")):
        total = Allocation.objects.aggregate(s=Sum(field))["s"]
        company = sum(company_lines(*window, share_idle=True, basis=basis).values())
        keys = unit_costs(
            *window,
            group_by=("team", "model", "endpoint"),
            period="hour",
            share_idle=True,
            basis=basis,
        )
        assert sum(r.cost for r in keys) + company == total
        teams = team_costs(*window, share_idle=True, basis=basis)
        assert sum(t.total for t in teams) + company == total
        by_team = {r.team: r.cost for r in unit_costs(*window, share_idle=True, basis=basis)}
        assert by_team == {t.team: t.total for t in teams}
