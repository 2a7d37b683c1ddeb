"""Busy GPU cost with no request rows: mapped by cost line tags or pod labels before unallocated."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costapp.attribution.engine import run_attribution
from costapp.attribution.models import Allocation, CostRule, GpuResource
from costapp.ingest.models import CostLine, GpuSample, UsageRollup

from . import builders as b

pytestmark = pytest.mark.django_db


def _label_rule(key: str = "namespace", priority: int = 100, **fields) -> CostRule:
    return CostRule.objects.create(
        name=f"label {key}", priority=priority, source="telemetry_label", tag_key=key, **fields
    )


def _sample(gpu: int, utilization: str, **labels: str) -> None:
    GpuSample.objects.create(
        run=b.run(),
        ts=b.hour(),
        gpu_uuid=f"GPU-{gpu}",
        resource_id="i-gpu",
        labels=labels,
        utilization=Decimal(utilization),
        source_file="dcgm",
        source_row=gpu,
    )


def _lines() -> dict[tuple[str, str], tuple[Decimal, str]]:
    return {(a.kind, a.team): (a.amortized_cost, a.rule) for a in Allocation.objects.all()}


def test_a_cost_line_tag_rule_gives_unclaimed_busy_cost_to_the_tags_team():
    CostRule.objects.create(name="team tag", tag_key="team", action="assign")
    b.gpu_resource(gpus=1)
    b.cost_line(cost="10", tags={"team": "search"})
    b.samples("i-gpu", b.hour(), ["0.25"])
    run_attribution()
    assert _lines() == {
        ("idle", ""): (Decimal("7.5"), ""),
        ("usage", "search"): (Decimal("2.5"), "tag:team"),
    }


def test_pod_labels_split_busy_cost_by_utilization_and_unlabelled_gpus_stay_unallocated():
    _label_rule()
    b.gpu_resource(gpus=3)
    b.cost_line(cost="30")
    _sample(0, "0.6", namespace="llm", pod="vllm-0")
    _sample(1, "0.2", namespace="batch")
    _sample(2, "0.2")
    run_attribution()
    # u = 1/3 -> idle 20.00001, busy 9.99999 split 0.6 : 0.2 : 0.2 (no namespace)
    assert _lines() == {
        ("idle", ""): (Decimal("20.00001"), ""),
        ("usage", "llm"): (Decimal("5.999994"), "label:namespace"),
        ("usage", "batch"): (Decimal("1.999998"), "label:namespace"),
        ("unallocated", ""): (Decimal("1.999998"), ""),
    }


def test_the_first_rule_by_priority_decides_across_tags_and_labels():
    CostRule.objects.create(name="tag", priority=20, tag_key="team", action="assign")
    _label_rule(priority=10, team="platform")
    b.gpu_resource(gpus=1)
    b.cost_line(cost="10", tags={"team": "search"})
    _sample(0, "0.5", namespace="llm")
    run_attribution()
    assert _lines()[("usage", "platform")] == (Decimal(5), "label:namespace")


def test_a_rule_that_matches_nothing_leaves_the_busy_cost_unallocated():
    _label_rule(tag_value="prod")
    CostRule.objects.create(name="tag", tag_key="owner", action="assign")
    b.gpu_resource(gpus=1)
    b.cost_line(cost="10", tags={"team": "search"})
    _sample(0, "0.5", namespace="dev")
    run_attribution()
    assert _lines()[("unallocated", "")] == (Decimal(5), "")


def test_request_rows_still_decide_when_there_are_any():
    CostRule.objects.create(name="team tag", tag_key="team", action="assign")
    b.gpu_resource(gpus=1)
    b.cost_line(cost="10", tags={"team": "search"})
    b.samples("i-gpu", b.hour(), ["1"])
    b.usage("ads", requests=1)
    run_attribution()
    assert _lines() == {("usage", "ads"): (Decimal(10), "requests"), ("idle", ""): (0, "")}


def test_label_rules_never_distribute_shared_lines():
    _label_rule(key="team")
    b.cost_line("vol-1", cost="4", tags={"team": "search"})
    run_attribution()
    assert _lines() == {("unallocated", ""): (Decimal(4), "")}


def test_a_label_rule_can_only_assign():
    with pytest.raises(ValidationError):
        CostRule(name="x", source="telemetry_label", tag_key="pod", action="even").clean()


EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
signed_money = st.decimals(min_value=Decimal("-1000"), max_value=Decimal("1000"), places=10)
namespace = st.none() | st.sampled_from(["llm", "batch", "etl"])


@EXAMPLES
@given(
    costs=st.lists(
        st.tuples(signed_money, st.sampled_from(["a", "b", ""])), min_size=1, max_size=3
    ),
    gpus=st.lists(
        st.tuples(st.decimals(min_value=0, max_value=1, places=6), namespace),
        min_size=1,
        max_size=4,
    ),
    tag_first=st.booleans(),
)
def test_mapped_busy_cost_conserves_every_hour_exactly(costs, gpus, tag_first):
    for model in (Allocation, UsageRollup, GpuSample, CostLine, GpuResource, CostRule):
        model.objects.all().delete()
    CostRule.objects.create(name="t", priority=1 if tag_first else 3, tag_key="team")
    _label_rule(priority=2)
    b.gpu_resource(gpus=len(gpus))
    for amount, team in costs:
        b.cost_line(cost=amount, tags={"team": team} if team else {})
    for gpu, (utilization, ns) in enumerate(gpus):
        _sample(gpu, str(utilization), **({"namespace": ns} if ns else {}))
    run_attribution()
    expected = sum((Decimal(c) for c, _ in costs), Decimal(0))
    assert Allocation.objects.aggregate(s=Sum("amortized_cost"))["s"] == expected
    assert Allocation.objects.aggregate(s=Sum("billed_cost"))["s"] == expected
    if expected >= 0:
        assert not Allocation.objects.filter(amortized_cost__lt=0).exists()
