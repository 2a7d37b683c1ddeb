"""The GPU inventory as versions: a resource moved to another pool, a GPU count corrected or a
telemetry mapping changed from a date D leaves the hours before D as they were, even through a
full recompute; deleting a version gives its span back; closed months never move; readers use
the type and count each hour was computed with; the bill's own shape changes become versions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from costapp.attribution import versions
from costapp.attribution.engine import config_intervals, run_attribution
from costapp.attribution.fleet import fleet
from costapp.attribution.inventory import sync_gpu_resources
from costapp.attribution.models import (
    Allocation,
    ConfigChange,
    GpuMapping,
    GpuPool,
    GpuResource,
)
from costapp.attribution.periods import close_month, reopen_month
from costapp.dashboard.explanation import explanation
from costapp.ingest.models import CostLine, GpuSample
from tests.dashboard.builders import finance_user

from . import builders as b
from .test_properties import EXAMPLES, _scenario, _spread_total, cost_lines, use, utilization

pytestmark = pytest.mark.django_db

OCT = datetime(2026, 10, 15, 10, tzinfo=UTC)
NOV_10 = datetime(2026, 11, 10, 10, tzinfo=UTC)
NOV_15 = datetime(2026, 11, 15, tzinfo=UTC)
NOV_20 = datetime(2026, 11, 20, 10, tzinfo=UTC)
HOURS = (OCT, NOV_10, NOV_20)


@pytest.fixture
def fleet_hours():
    """i-gpu, 8 H100s in pool-a, half busy for search in October 15, November 10 and 20."""
    GpuPool.objects.create(name="pool-b")
    resource = b.gpu_resource(gpus=8, pool="pool-a")
    for at in HOURS:
        b.cost_line(cost="80", start=at)
        b.samples("i-gpu", at, ["0.5"], gpus=8)
        b.usage("search", at=at, requests=10)
    run_attribution()
    return resource


def _edit(resource_id: str, effective: datetime | None, **values) -> GpuResource:
    """Edit the version of `resource_id` in force now, from `effective`."""
    resource = GpuResource.objects.get(resource_id=resource_id, effective_to__isnull=True)
    for name, value in values.items():
        setattr(resource, name, value)
    return versions.save(resource, effective).obj


def _pools(at: datetime) -> set[str]:
    return set(Allocation.objects.filter(hour=at).values_list("pool", flat=True))


def _gpus(at: datetime) -> tuple[Decimal, set]:
    rows = Allocation.objects.filter(hour=at)
    return sum(r.gpu_hours for r in rows), {(r.gpu_type, r.gpu_count) for r in rows}


def _cost(at: datetime) -> Decimal:
    return sum(a.amortized_cost for a in Allocation.objects.filter(hour=at))


def test_a_resource_moved_to_another_pool_keeps_earlier_hours_in_the_old_pool(fleet_hours):
    _edit("i-gpu", NOV_15, pool=GpuPool.objects.get(name="pool-b"))
    call_command("attribute")  # a full recompute

    assert _pools(OCT) == _pools(NOV_10) == {"pool-a"}
    assert _pools(NOV_20) == {"pool-b"}
    assert [_cost(at) for at in HOURS] == [Decimal(80)] * 3  # conserved in each hour
    old, new = GpuResource.objects.order_by("id")
    assert (old.effective_to, new.effective_from, new.supersedes_id) == (NOV_15, NOV_15, old.pk)


def test_a_gpu_count_change_moves_only_the_hours_from_its_date(fleet_hours):
    _edit("i-gpu", NOV_15, gpu_count=4, gpu_type="H200")
    run_attribution()

    assert _gpus(NOV_10) == (Decimal(8), {("H100", 8)})
    assert _gpus(NOV_20) == (Decimal(4), {("H200", 4)})
    # The fleet reads the type each hour was computed with, not today's inventory.
    before = fleet((OCT, NOV_15), "amortized", "USD")
    after = fleet((NOV_15, NOV_20 + timedelta(hours=1)), "amortized", "USD")
    assert {p.gpu_type for p in before.pools} == {"H100"}
    assert {p.gpu_type for p in after.pools} == {"H200"}


def test_the_explanation_shows_the_gpu_count_the_hour_was_computed_with(fleet_hours):
    _edit("i-gpu", NOV_15, gpu_count=4)
    run_attribution()
    user = finance_user()
    (before,) = explanation(user, "search", NOV_10).entries
    (after,) = explanation(user, "search", NOV_20).entries
    assert (before["gpu_count"], after["gpu_count"]) == (8, 4)


def test_the_window_is_cut_where_an_inventory_version_starts(fleet_hours):
    _edit("i-gpu", datetime(2026, 11, 15, 6, 30, tzinfo=UTC), gpu_count=4)  # from 07:00
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    seven = datetime(2026, 11, 15, 7, tzinfo=UTC)
    assert config_intervals(start, end, []) == [(start, seven), (seven, end)]


def _uuid_sample(at: datetime) -> None:
    """A GPU sample that reaches its resource only through a UUID mapping."""
    GpuSample.objects.create(
        run=b.run(), ts=at, gpu_uuid="GPU-x", utilization=Decimal("0.8"),
        source_file="dcgm", source_row=0,
    )  # fmt: skip


def test_a_mapping_edited_from_a_date_maps_earlier_samples_as_before():
    for resource_id in ("i-a", "i-b"):
        b.gpu_resource(resource_id, gpus=1)
        for at in (NOV_10, NOV_20):
            b.cost_line(resource_id, cost="10", start=at)
    for at in (NOV_10, NOV_20):
        _uuid_sample(at)
    mapping = GpuMapping.objects.create(match_on="uuid", value="GPU-x", resource_id="i-a")
    run_attribution()
    mapping.resource_id = "i-b"
    new = versions.save(mapping, NOV_15).obj
    run_attribution()

    def measured(at):
        rows = Allocation.objects.filter(hour=at, utilization_source="telemetry")
        return set(rows.values_list("resource_id", flat=True))

    assert measured(NOV_10) == {"i-a"}
    assert measured(NOV_20) == {"i-b"}

    versions.delete(new)  # undone: the first mapping is in force again from Nov 15
    run_attribution()
    assert measured(NOV_20) == {"i-a"}
    assert GpuMapping.objects.get().effective_to is None


def test_deleting_a_version_restores_the_one_it_superseded(fleet_hours):
    new = _edit("i-gpu", NOV_15, pool=GpuPool.objects.get(name="pool-b"), gpu_count=4)
    run_attribution()
    change = versions.delete(new)
    run_attribution(change.start, change.end)

    assert (change.start, change.end) == (NOV_15, None)
    resource = GpuResource.objects.get()
    assert (resource.pk, resource.effective_to) == (fleet_hours.pk, None)
    assert _pools(NOV_20) == {"pool-a"}
    assert _gpus(NOV_20) == (Decimal(8), {("H100", 8)})


def test_a_closed_month_keeps_its_inventory_until_reopened(fleet_hours):
    close_month(date(2026, 10, 1), by="finance")
    october = list(Allocation.objects.filter(hour=OCT).values_list("pk", "pool", "gpu_hours"))
    _edit("i-gpu", datetime(2026, 10, 1, tzinfo=UTC), pool=GpuPool.objects.get(name="pool-b"))
    call_command("attribute")

    assert list(Allocation.objects.filter(hour=OCT).values_list("pk", "pool", "gpu_hours")) == (
        october
    )
    assert _pools(NOV_10) == _pools(NOV_20) == {"pool-b"}
    reopen_month(date(2026, 10, 1), by="finance", reason="the move was on Oct 1")
    assert _pools(OCT) == {"pool-b"}


def test_two_versions_of_a_resource_are_never_in_force_together(fleet_hours):
    with pytest.raises(versions.VersionError, match="already has a version in force"):
        versions.save(GpuResource(resource_id="i-gpu", gpu_count=2), NOV_15)
    with pytest.raises(IntegrityError), transaction.atomic():
        GpuResource.objects.create(resource_id="i-gpu", gpu_count=2, effective_from=NOV_15)
    # Another resource, or one after the version in force ended, is fine.
    versions.save(GpuResource(resource_id="i-other"), None)
    _edit("i-gpu", NOV_15, gpu_count=4)
    assert GpuResource.objects.filter(resource_id="i-gpu").count() == 2


# The bill's own shape changes: inventory sync.


def test_sync_leaves_an_unchanged_resource_alone_and_versions_a_changed_one():
    for day in (10, 20):
        b.cost_line("i-1", cost="8", start=datetime(2026, 11, day, 10, tzinfo=UTC))
    assert sync_gpu_resources() == 1
    first = GpuResource.objects.get()
    assert (first.gpu_count, first.effective_from, first.pool.name) == (
        8,
        None,
        "AWS/us-east-1/H100",
    )
    assert sync_gpu_resources() == 1
    assert GpuResource.objects.get().pk == first.pk  # untouched
    assert ConfigChange.objects.filter(action="change").count() == 0

    # From Nov 25 10:00 the bill names a one-GPU shape for the same instance id.
    resized = datetime(2026, 11, 25, 10, tzinfo=UTC)
    for start in (resized, resized + timedelta(days=1)):
        line = b.cost_line("i-1", cost="1", start=start)
        CostLine.objects.filter(pk=line.pk).update(resource_type="p5.4xlarge")
    sync_gpu_resources()
    sync_gpu_resources()  # idempotent
    old, new = GpuResource.objects.order_by("id")
    assert (old.gpu_count, old.effective_to) == (8, resized)
    assert (new.gpu_count, new.instance_type, new.effective_from) == (1, "p5.4xlarge", resized)
    assert new.pool == old.pool  # still H100 in the same region
    entry = ConfigChange.objects.get(action="change")
    assert (entry.by, entry.effective_from, entry.old["gpu_count"]) == (
        "inventory sync",
        resized,
        8,
    )
    run_attribution()
    counts = dict(Allocation.objects.values_list("hour__day", "gpu_count").distinct())
    assert counts == {10: 8, 20: 8, 25: 1, 26: 1}


# Through the admin.


def _resource_form(admin_client, resource: GpuResource, **values) -> dict:
    change = reverse("admin:attribution_gpuresource_change", args=[resource.pk])
    form = admin_client.get(change).context["adminform"].form
    return {
        **{k: v for k, v in form.initial.items() if v is not None and k in form.fields},
        "pool": resource.pool_id,
        **values,
    }


def test_an_admin_edit_from_a_date_adds_a_version_and_audits_it(
    admin_client, fleet_hours, django_capture_on_commit_callbacks
):
    change = reverse("admin:attribution_gpuresource_change", args=[fleet_hours.pk])
    data = _resource_form(
        admin_client,
        fleet_hours,
        pool=GpuPool.objects.get(name="pool-b").pk,
        effective_date="2026-11-15",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(change, data)
    assert response.status_code == 302, response.content
    assert _pools(NOV_10) == {"pool-a"} and _pools(NOV_20) == {"pool-b"}
    new = GpuResource.objects.get(effective_to__isnull=True)
    entry = ConfigChange.objects.get(model="attribution.GpuResource")
    assert (entry.object_id, entry.effective_from) == (str(new.pk), NOV_15)

    GpuMapping.objects.create(match_on="hostname", value="ip-10-0-1-2", resource_id="i-gpu")
    html = admin_client.get(reverse("admin:attribution_gpuresource_change", args=[new.pk]))
    html = html.content.decode()
    assert "since always to 2026-11-15" in html and 'id="mappings"' in html
    assert "ip-10-0-1-2" in html


def test_the_admin_refuses_a_second_resource_in_force_and_a_mapping_to_no_resource(
    admin_client, fleet_hours
):
    add = reverse("admin:attribution_gpuresource_add")
    page = admin_client.post(add, {"resource_id": "i-gpu", "gpu_count": "2"})
    assert page.status_code == 200
    assert "already has a version in force" in page.content.decode()
    assert GpuResource.objects.count() == 1

    add = reverse("admin:attribution_gpumapping_add")
    form = {"match_on": "uuid", "value": "GPU-x", "priority": "100"}
    page = admin_client.post(add, {**form, "resource_id": "i-nowhere"})
    assert "no GPU resource" in page.content.decode()
    assert admin_client.post(add, {**form, "resource_id": "i-gpu"}).status_code == 302
    assert GpuMapping.objects.get().resource_id == "i-gpu"


# Conservation through versions (hypothesis): whatever the version boundary, each hour's rows
# add up to its cost, and each hour carries the version in force at it.


@EXAMPLES
@given(
    costs=cost_lines,
    util=utilization,
    uses=st.lists(use, max_size=4),
    boundary=st.integers(1, 2),
    count=st.integers(1, 8),
)
def test_every_hour_conserves_cost_across_an_inventory_version(costs, util, uses, boundary, count):
    _scenario(costs, util, uses, gpus=4)
    GpuMapping.objects.all().delete()
    _edit("i-gpu", b.hour(boundary), gpu_count=count)
    run_attribution()
    for field, line_field in (("amortized_cost", "effective_cost"), ("billed_cost", "billed_cost")):
        got = dict(
            Allocation.objects.values("hour").annotate(s=Sum(field)).values_list("hour", "s")
        )
        assert got == _spread_total(line_field)
    for hour, gpus in Allocation.objects.values_list("hour", "gpu_count").distinct():
        assert gpus == (4 if hour < b.hour(boundary) else count)
