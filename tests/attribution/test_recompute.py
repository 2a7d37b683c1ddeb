"""Recomputing after an edit: admin changes to rules, policy or inventory re-split every hour,
and `manage.py attribute` recomputes all hours, some days, or the pending runs' hours."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from costapp.attribution.engine import run_attribution
from costapp.attribution.models import Allocation, CostRule, GpuResource
from costapp.ingest.models import IngestionRun, RunStatus

from . import builders as b

pytestmark = pytest.mark.django_db


def _lines() -> dict[tuple[str, str], Decimal]:
    return {(a.kind, a.team): a.amortized_cost for a in Allocation.objects.all()}


@pytest.fixture
def tagged_gpu():
    """One GPU-hour nobody sent requests for, its cost line tagged team=search: 7.5 idle, 2.5
    busy that only a tag rule can place."""
    b.gpu_resource(gpus=1)
    b.cost_line(cost="10", tags={"team": "search"})
    b.samples("i-gpu", b.hour(), ["0.25"])
    run_attribution()
    assert _lines()[("unallocated", "")] == Decimal("2.5")


def _gpu_hours() -> Decimal:
    return sum((a.gpu_hours or 0 for a in Allocation.objects.all()), Decimal(0))


RULE_FORM = {
    "name": "team tag", "priority": "10", "enabled": "on", "source": "tag", "tag_key": "team",
    "tag_value": "", "action": "assign", "team": "", "model": "", "endpoint": "",
}  # fmt: skip


def test_a_rule_added_in_the_admin_re_splits_the_hours_it_moves(
    admin_client, tagged_gpu, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(reverse("admin:attribution_costrule_add"), RULE_FORM)
    assert response.status_code == 302, response.content
    assert len(callbacks) == 1
    assert _lines() == {("idle", ""): Decimal("7.5"), ("usage", "search"): Decimal("2.5")}


def test_deleting_rules_in_bulk_recomputes_once(
    admin_client, tagged_gpu, django_capture_on_commit_callbacks
):
    CostRule.objects.create(name="team tag", tag_key="team", action="assign")
    CostRule.objects.create(name="other", tag_key="owner", action="assign")
    run_attribution()
    assert ("usage", "search") in _lines()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        admin_client.post(
            reverse("admin:attribution_costrule_changelist"),
            {
                "action": "delete_selected",
                "_selected_action": list(CostRule.objects.values_list("pk", flat=True)),
                "post": "yes",
            },
        )
    assert not CostRule.objects.exists()
    assert len(callbacks) == 1
    assert _lines()[("unallocated", "")] == Decimal("2.5")


def test_a_gpu_count_corrected_in_the_admin_is_recomputed(
    admin_client, django_capture_on_commit_callbacks
):
    resource = b.gpu_resource(gpus=8)
    b.cost_line(cost="80")
    b.samples("i-gpu", b.hour(), ["1"], gpus=1)
    run_attribution()
    assert _gpu_hours() == 8
    change = reverse("admin:attribution_gpuresource_change", args=[resource.pk])
    form = admin_client.get(change).context["adminform"].form
    data = {
        **{k: v for k, v in form.initial.items() if v is not None},
        "gpu_count": "1",
        "pool": resource.pool_id,
        "mappings-TOTAL_FORMS": "0",
        "mappings-INITIAL_FORMS": "0",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(change, data)
    assert response.status_code == 302, response.content
    assert GpuResource.objects.get().gpu_count == 1
    assert _gpu_hours() == 1


def test_the_command_recomputes_everything_or_only_the_days_given(capsys):
    b.gpu_resource(gpus=1)
    b.cost_line(cost="10")
    b.cost_line(cost="20", start=b.hour(24))
    call_command("attribute")
    assert Allocation.objects.count() == 2
    assert "2 hours x 1 resources: 2 allocations" in capsys.readouterr().out

    Allocation.objects.all().delete()
    day = b.hour(24).date()
    call_command("attribute", "--start", str(day), "--end", str(day))
    assert [a.hour for a in Allocation.objects.all()] == [b.hour(24)]

    call_command("attribute", "--start", str(day))  # open-ended: that day and after
    assert Allocation.objects.count() == 1


def test_the_command_takes_the_pending_runs_as_the_scheduler_does(capsys):
    b.gpu_resource(gpus=1)
    b.cost_line(cost="10")
    run = b.run()
    IngestionRun.objects.filter(pk=run.pk).update(
        status=RunStatus.SUCCEEDED, data_start=b.hour(), data_end=b.hour() + timedelta(hours=1)
    )
    call_command("attribute", "--pending")
    assert Allocation.objects.count() == 1
    assert IngestionRun.objects.get(pk=run.pk).attributed_at is not None
    call_command("attribute", "--pending")
    assert "nothing pending" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pending", "--start", "2026-11-01"], "give no days with it"),
        (["--start", "2026-11-02", "--end", "2026-11-01"], "is before --start"),
    ],
)
def test_the_command_refuses_contradictory_options(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("attribute", *args)
