"""GPU inventory: instance types found in cost lines become GpuResources in pools."""

from __future__ import annotations

import pytest

from costapp.attribution.gpu_catalog import find_instance_type, lookup
from costapp.attribution.inventory import sync_gpu_resources
from costapp.attribution.models import GpuResource
from costapp.ingest.models import CostLine

from . import builders as b

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "model", "count"),
    [
        ("p5.48xlarge", "H100", 8),
        ("BoxUsage:p5en.48xlarge", "H200", 8),
        ("USE1-BoxUsage:g5.12xlarge", "A10G", 4),
        ("g6e.xlarge", "L40S", 1),
        ("a3-highgpu-8g", "H100", 8),
        ("g2-standard-96", "L4", 8),
        ("Virtual Machines ND96isr H100 v5 Series", "H100", 8),
        ("Standard_NC24ads_A100_v4", "A100-80GB", 1),
        ("BM.GPU.H100.8", "H100", 8),
        ("Compute - GPU - BM.GPU.A100-v2.8", "A100-80GB", 8),
        ("VM.GPU.A10.2", "A10", 2),
        ("p6-b200.48xlarge", "B200", 8),
    ],
)
def test_catalog_finds_instance_types_in_free_text(text, model, count):
    shape = find_instance_type(text)
    assert (shape.gpu_model, shape.gpu_count) == (model, count)


def test_catalog_ignores_non_gpu_and_lookalike_names():
    assert find_instance_type("m5.large") is None
    assert find_instance_type("xg5.xlarge") is None
    assert find_instance_type("BM.GPU.H100.80") is None  # not a shape: no prefix match
    assert find_instance_type("VM.GPU.A10.1").gpu_count == 1  # not taken for ...A10.10 et al.
    assert lookup("P4D.24XLARGE").gpu_count == 8


def test_sync_upserts_gpu_resources_with_pools_and_skips_others():
    b.cost_line("i-1", cost="1")  # resource_type p5.48xlarge
    other = b.cost_line("vol-1", cost="1")
    CostLine.objects.filter(pk=other.pk).update(resource_type="EBS gp3")
    tagged = b.cost_line("gke-node-1", cost="1", tags={"machine_type": "a3-highgpu-8g"})
    CostLine.objects.filter(pk=tagged.pk).update(resource_type="", provider="Google Cloud")
    assert sync_gpu_resources() == 2
    assert sync_gpu_resources() == 2
    resources = {r.resource_id: r for r in GpuResource.objects.select_related("pool")}
    assert set(resources) == {"i-1", "gke-node-1"}
    assert resources["i-1"].pool.name == "AWS/us-east-1/H100"
    assert resources["gke-node-1"].gpu_count == 8
