"""The engine's rules, one by one: cost spread, utilization, busy split, idle, unmeasured."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum

from costapp.attribution.engine import run_attribution
from costapp.attribution.models import Allocation, AttributionPolicy, GpuMapping, GpuResource
from costapp.ingest.models import GpuSample

from . import builders as b

pytestmark = pytest.mark.django_db


def _rows(**filters) -> dict[tuple[str, str], Allocation]:
    return {(a.kind, a.team): a for a in Allocation.objects.filter(**filters)}


def _total(field: str = "amortized_cost", **filters) -> Decimal:
    return Allocation.objects.filter(**filters).aggregate(s=Sum(field))["s"]


def test_busy_share_splits_by_gpu_seconds_when_every_row_has_them():
    b.gpu_resource(gpus=1)
    b.cost_line(cost="100")
    b.samples("i-gpu", b.hour(), ["0.8"])
    b.usage("search", gpu_seconds="300", input_tokens=1)
    b.usage("ads", gpu_seconds="100", input_tokens=1000)
    run_attribution()
    rows = _rows()
    assert rows[("idle", "")].amortized_cost == Decimal("20")
    assert rows[("usage", "search")].amortized_cost == Decimal("60")
    assert rows[("usage", "ads")].amortized_cost == Decimal("20")
    assert rows[("usage", "ads")].rule == "gpu_seconds"
    assert (rows[("usage", "ads")].weight, rows[("usage", "ads")].weight_total) == (100, 400)


def test_tokens_rule_weights_output_tokens_by_the_policy_factor():
    AttributionPolicy.objects.create(pk=1, output_token_weight=Decimal(3))
    b.gpu_resource(gpus=1)
    b.cost_line(cost="90")
    b.samples("i-gpu", b.hour(), ["1"])
    b.usage("search", input_tokens=100, output_tokens=0, gpu_seconds=None)
    b.usage("ads", input_tokens=50, output_tokens=50, requests=1)
    run_attribution()
    rows = _rows()
    # weights 100 and 50 + 3 x 50 = 200
    assert rows[("usage", "search")].amortized_cost == Decimal("30")
    assert rows[("usage", "ads")].amortized_cost == Decimal("60")
    assert {r.rule for r in Allocation.objects.filter(kind="usage")} == {"tokens"}


def test_request_count_is_the_last_resort_rule():
    b.gpu_resource(gpus=1)
    b.cost_line(cost="10")
    b.samples("i-gpu", b.hour(), ["1"])
    b.usage("search", requests=3)
    b.usage("ads", requests=1)
    run_attribution()
    rows = _rows()
    assert rows[("usage", "search")].amortized_cost == Decimal("7.5")
    assert rows[("usage", "search")].rule == "requests"


def test_busy_cost_without_usage_rows_is_unallocated_not_hidden():
    b.gpu_resource(gpus=1)
    b.cost_line(cost="10")
    b.samples("i-gpu", b.hour(), ["0.25"])
    run_attribution()
    rows = _rows()
    assert rows[("unallocated", "")].amortized_cost == Decimal("2.5")
    assert rows[("idle", "")].amortized_cost == Decimal("7.5")


def test_hour_without_telemetry_or_gpu_seconds_is_unmeasured_never_busy():
    b.gpu_resource(gpus=8)
    b.cost_line(cost="98.32")
    b.usage("search", input_tokens=1000)
    run_attribution()
    assert list(Allocation.objects.values_list("kind", "amortized_cost", "gpu_hours")) == [
        ("unmeasured", Decimal("98.32"), Decimal(8))
    ]


def test_utilization_is_inferred_from_gpu_seconds_when_telemetry_is_missing():
    b.gpu_resource(gpus=2)
    b.cost_line(cost="100")
    b.usage("search", gpu_seconds="1800")
    b.usage("ads", gpu_seconds="1800")
    run_attribution()
    rows = _rows()
    # 3600 GPU-seconds over 2 GPUs x 3600 s = 0.5
    assert rows[("idle", "")].utilization == Decimal("0.5")
    assert rows[("idle", "")].utilization_source == "inferred"
    assert rows[("usage", "ads")].amortized_cost == Decimal("25")


def test_multi_gpu_instance_utilization_is_the_mean_of_its_gpus():
    b.gpu_resource(gpus=8)
    b.cost_line(cost="80")
    for gpu in range(8):
        GpuSample.objects.create(
            run=b.run(),
            ts=b.hour(),
            gpu_uuid=f"GPU-{gpu}",
            resource_id="i-gpu",
            utilization=Decimal(1 if gpu < 2 else 0),
            source_file="dcgm",
            source_row=gpu,
        )
    b.usage("search", requests=1)
    run_attribution()
    rows = _rows()
    assert rows[("idle", "")].amortized_cost == Decimal("60")
    assert rows[("idle", "")].gpu_hours == Decimal(6)
    assert rows[("usage", "search")].gpu_hours == Decimal(2)


def test_samples_reach_their_resource_through_mappings_and_hostnames():
    resource = b.gpu_resource("i-mapped", gpus=2)
    b.gpu_resource("node-7", gpus=1, pool="p2")
    GpuMapping.objects.create(match_on="uuid", value="GPU-abc", resource_id=resource.resource_id)
    b.cost_line("i-mapped", cost="10")
    b.cost_line("node-7", cost="10")
    for uuid, host in (("GPU-abc", ""), ("GPU-xyz", "node-7")):
        GpuSample.objects.create(
            run=b.run(),
            ts=b.hour(),
            gpu_uuid=uuid,
            hostname=host,
            utilization=Decimal("0.5"),
            source_file="dcgm",
            source_row=0,
        )
    run_attribution()
    assert set(
        Allocation.objects.filter(kind="idle").values_list("resource_id", "utilization_source")
    ) == {("i-mapped", "telemetry"), ("node-7", "telemetry")}


def test_a_daily_line_is_spread_evenly_over_its_hours_to_the_quantum():
    b.gpu_resource(gpus=1)
    b.cost_line(cost="24.0000000002", billed="48", hours=24)
    run_attribution()
    parts = list(Allocation.objects.order_by("hour").values_list("amortized_cost", flat=True))
    assert len(parts) == 24
    assert parts[:2] == [Decimal("1.0000000001")] * 2 and parts[2] == Decimal(1)
    assert _total("billed_cost") == Decimal(48)


def test_amortized_and_billed_bases_split_independently_and_keep_pricing_category():
    b.gpu_resource(gpus=1)
    b.cost_line(cost="60", billed="100", pricing="Committed")
    b.samples("i-gpu", b.hour(), ["0.5"])
    b.usage("search", requests=1)
    run_attribution()
    usage = _rows()[("usage", "search")]
    assert (usage.amortized_cost, usage.billed_cost) == (Decimal(30), Decimal(50))
    assert usage.pricing_category == "Committed"


def test_rerun_replaces_rows_with_identical_ones():
    b.gpu_resource(gpus=1)
    b.cost_line(cost="7", hours=3)
    b.samples("i-gpu", b.hour(), ["0.3"])
    for team, n in (("a", 1), ("b", 2), ("c", 4)):
        b.usage(team, requests=n)
    fields = ["hour", "resource_id", "kind", "team", "amortized_cost", "billed_cost", "rule"]
    run_attribution()
    first = sorted(Allocation.objects.values_list(*fields))
    run_attribution()
    assert sorted(Allocation.objects.values_list(*fields)) == first


def test_late_data_recomputes_only_its_window():
    b.gpu_resource(gpus=1)
    b.cost_line(cost="10", hours=2)
    b.samples("i-gpu", b.hour(0), ["0.5"])
    b.samples("i-gpu", b.hour(1), ["0.5"])
    run_attribution()
    earlier = Allocation.objects.get(hour=b.hour(0), kind="unallocated")
    b.usage("late", at=b.hour(1), requests=5)
    result = run_attribution(b.hour(1), b.hour(2))
    assert (result.hours, result.start, result.end) == (1, b.hour(1), b.hour(2))
    assert Allocation.objects.get(hour=b.hour(0), kind="unallocated").pk == earlier.pk
    assert _rows(hour=b.hour(1))[("usage", "late")].amortized_cost == Decimal("2.5")


def test_lines_for_resources_without_gpus_never_reach_the_gpu_split():
    assert not GpuResource.objects.exists()
    b.cost_line("vol-1", cost="3")
    run_attribution()
    assert list(Allocation.objects.values_list("kind", "amortized_cost")) == [
        ("unallocated", Decimal(3))
    ]


def test_samples_reach_their_resource_through_a_pod_label_mapping():
    resource = b.gpu_resource("i-labelled", gpus=1)
    GpuMapping.objects.create(
        match_on="label", label_key="node", value="n-1", resource_id=resource.resource_id
    )
    b.cost_line("i-labelled", cost="10")
    GpuSample.objects.create(
        run=b.run(),
        ts=b.hour(),
        gpu_uuid="GPU-lab",
        labels={"node": "n-1"},
        utilization=Decimal("0.1"),
        source_file="dcgm",
        source_row=0,
    )
    run_attribution()
    assert Allocation.objects.get(kind="idle").amortized_cost == Decimal(9)


def test_mig_slices_count_by_their_share_of_the_gpu():
    b.gpu_resource(gpus=1)
    b.cost_line(cost="7")
    for mig, profile, value in (("1", "3g.40gb", "1"), ("2", "1g.10gb", "0")):
        GpuSample.objects.create(
            run=b.run(),
            ts=b.hour(),
            gpu_uuid="GPU-mig",
            mig_instance=mig,
            resource_id="i-gpu",
            labels={"GPU_I_ID": mig, "GPU_I_PROFILE": profile},
            utilization=Decimal(value),
            source_file="dcgm",
            source_row=0,
        )
    run_attribution()
    idle = Allocation.objects.get(kind="idle")
    assert idle.utilization == Decimal("0.428571")  # 3/7 busy, the rest of the GPU idle
    assert idle.amortized_cost == Decimal("4.000003")
