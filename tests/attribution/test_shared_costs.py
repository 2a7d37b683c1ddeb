"""Shared and non-GPU costs: tag rules by priority, even and GPU-cost splits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from costapp.attribution.engine import run_attribution
from costapp.attribution.models import Allocation, CostRule

from . import builders as b

pytestmark = pytest.mark.django_db


def _gpu_hour_used_by(**requests: int) -> None:
    """One measured GPU-hour (cost 100, fully busy) used by the given teams."""
    b.gpu_resource(gpus=1)
    b.cost_line(cost="100")
    b.samples("i-gpu", b.hour(), ["1"])
    for team, n in requests.items():
        b.usage(team, requests=n)


def _shared(resource_id: str) -> dict[str, Decimal]:
    return dict(
        Allocation.objects.filter(resource_id=resource_id).values_list("team", "amortized_cost")
    )


def test_tag_rule_assigns_a_line_to_its_team_and_the_first_priority_wins():
    CostRule.objects.create(name="late", priority=20, tag_key="team", action="assign", team="x")
    first = CostRule.objects.create(name="by tag", priority=10, tag_key="team", action="assign")
    b.cost_line("vol-1", cost="5", tags={"team": "search"}, category="Usage")
    run_attribution()
    row = Allocation.objects.get(resource_id="vol-1")
    assert (row.kind, row.team, row.amortized_cost, row.rule) == (
        "shared",
        "search",
        Decimal(5),
        f"tag:{first.pk}",
    )


def test_even_rule_splits_across_the_teams_using_gpus_that_hour():
    _gpu_hour_used_by(search=9, ads=1)
    CostRule.objects.create(name="net", tag_key="kind", tag_value="network", action="even")
    b.cost_line("nat-1", cost="10.0000000001", tags={"kind": "network"})
    run_attribution()
    assert _shared("nat-1") == {"ads": Decimal("5.0000000001"), "search": Decimal(5)}


def test_gpu_cost_rule_splits_in_proportion_to_gpu_cost():
    _gpu_hour_used_by(search=3, ads=1)
    CostRule.objects.create(name="ctrl", tag_key="kind", action="gpu_cost")
    b.cost_line("eks-1", cost="8", tags={"kind": "control-plane"})
    run_attribution()
    assert _shared("eks-1") == {"search": Decimal(6), "ads": Decimal(2)}


def test_lines_no_rule_covers_stay_unallocated_and_visible():
    _gpu_hour_used_by(search=1)
    CostRule.objects.create(name="net", tag_key="kind", tag_value="network", action="even")
    b.cost_line("s3-1", cost="4", tags={"kind": "storage"})
    b.cost_line("i-gpu", cost="2", category="Tax")
    run_attribution()
    assert _shared("s3-1") == {"": Decimal(4)}
    tax = Allocation.objects.get(resource_id="i-gpu", amortized_cost=2)
    assert tax.kind == "unallocated"


def test_even_rule_with_no_team_using_gpus_leaves_the_cost_unallocated():
    CostRule.objects.create(name="net", tag_key="kind", action="even")
    b.cost_line("nat-1", cost="3", tags={"kind": "network"})
    run_attribution()
    assert list(Allocation.objects.values_list("kind", "amortized_cost")) == [
        ("unallocated", Decimal(3))
    ]
