"""Effective-dated configuration: an edit of a cost rule, the policy or the GPU inventory takes
effect from a date, hours before it keep what they were computed with (even through a full
recompute), closed months never move, every change is audited and explain names the version."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from costapp.attribution import versions
from costapp.attribution.engine import config_intervals, run_attribution
from costapp.attribution.explain import explain
from costapp.attribution.models import (
    Allocation,
    AttributionPolicy,
    ConfigChange,
    CostRule,
    GpuResource,
)
from costapp.attribution.periods import close_month, reopen_month
from costapp.attribution.rules import preview_rules
from costapp.core.models import Team

from . import builders as b

pytestmark = pytest.mark.django_db

OCT = datetime(2026, 10, 15, 10, tzinfo=UTC)
NOV_10 = datetime(2026, 11, 10, 10, tzinfo=UTC)
NOV_15 = datetime(2026, 11, 15, tzinfo=UTC)
NOV_20 = datetime(2026, 11, 20, 10, tzinfo=UTC)


def _busy(at: datetime) -> dict[str, Decimal]:
    """Who got the busy cost of the GPU-hour at `at`."""
    rows = Allocation.objects.filter(hour=at).exclude(kind="idle")
    return {a.team or a.kind: a.amortized_cost for a in rows}


@pytest.fixture
def tagged_hours():
    """Tagged GPU-hours nobody sent requests for (October 15, November 10 and 20), each 7.5
    idle and 2.5 busy that only a tag rule places; the rule gives it to the tag's team."""
    Team.objects.create(slug="search", name="Search")
    Team.objects.create(slug="ads", name="Ads")
    b.gpu_resource(gpus=1)
    for at in (OCT, NOV_10, NOV_20):
        b.cost_line(cost="10", start=at, tags={"team": "search"})
        b.samples("i-gpu", at, ["0.25"])
    rule = CostRule.objects.create(name="team tag", priority=10, tag_key="team", action="assign")
    run_attribution()
    return rule


def _edit(rule: CostRule, effective: datetime | None, **values) -> CostRule:
    """Edit a fresh copy of the stored rule (the one given stays the old version's object)."""
    rule = CostRule.objects.get(pk=rule.pk)
    for name, value in values.items():
        setattr(rule, name, value)
    return versions.save(rule, effective).obj


def test_an_edit_from_nov_15_keeps_the_old_version_before_it_even_on_a_full_recompute(
    tagged_hours,
):
    new = _edit(tagged_hours, NOV_15, team="ads")
    run_attribution()

    assert _busy(NOV_10) == {"search": Decimal("2.5")}
    assert _busy(NOV_20) == {"ads": Decimal("2.5")}
    old = CostRule.objects.get(pk=tagged_hours.pk)
    assert (old.effective_from, old.effective_to, old.team) == (None, NOV_15, "")
    assert (new.effective_from, new.effective_to, new.supersedes_id) == (NOV_15, None, old.pk)
    # Each allocation names the version that placed it.
    assert Allocation.objects.get(hour=NOV_10, team="search").cost_rule_id == old.pk
    assert Allocation.objects.get(hour=NOV_20, team="ads").cost_rule_id == new.pk


def test_the_window_is_cut_at_every_version_boundary():
    rule = CostRule.objects.create(name="r", tag_key="team")
    versions.save(rule, datetime(2026, 11, 15, 6, 30, tzinfo=UTC))  # mid-hour: from 07:00
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    seven = datetime(2026, 11, 15, 7, tzinfo=UTC)
    assert config_intervals(start, end, []) == [(start, seven), (seven, end)]
    assert config_intervals(start, end, [date(2026, 11, 1)]) == []


def test_explain_names_the_rule_version_behind_each_allocation(tagged_hours):
    _edit(tagged_hours, NOV_15, team="ads")
    run_attribution()
    (before,) = explain("search", NOV_10)
    (after,) = explain("ads", NOV_20)
    assert before["rule_version"] == "rule team tag (version since always to 2026-11-15)"
    assert after["rule_version"] == "rule team tag (version from 2026-11-15)"


def test_deleting_a_version_gives_its_span_back_to_the_one_it_superseded(tagged_hours):
    new = _edit(tagged_hours, NOV_15, team="ads")
    run_attribution()
    change = versions.delete(new)
    run_attribution(change.start, change.end)
    assert (change.start, change.end) == (NOV_15, None)
    assert CostRule.objects.get().effective_to is None
    assert _busy(NOV_20) == {"search": Decimal("2.5")}


def test_an_effective_date_before_the_version_or_after_its_end_is_refused(tagged_hours):
    new = _edit(tagged_hours, NOV_15, team="ads")
    with pytest.raises(versions.VersionError, match="applies from 2026-11-15"):
        versions.save(new, datetime(2026, 11, 1, tzinfo=UTC))
    old = CostRule.objects.get(pk=tagged_hours.pk)
    with pytest.raises(versions.VersionError, match="ended at 2026-11-15"):
        versions.save(old, datetime(2026, 11, 20, tzinfo=UTC))


def test_the_policy_output_weight_is_versioned_the_same_way():
    b.gpu_resource(gpus=1)
    for at in (NOV_10, NOV_20):
        b.cost_line(cost="10", start=at)
        b.samples("i-gpu", at, ["1"])
        b.usage("search", at=at, input_tokens=100, output_tokens=100)
        b.usage("ads", at=at, input_tokens=300)
    policy = AttributionPolicy.current()
    policy.output_token_weight = Decimal(3)
    versions.save(policy, NOV_15)
    run_attribution()

    def weights(at):
        return {a.team: a.weight for a in Allocation.objects.filter(hour=at, kind="usage")}

    assert weights(NOV_10) == {"search": 200, "ads": 300}  # w = 1 before Nov 15
    assert weights(NOV_20) == {"search": 400, "ads": 300}  # w = 3 from then on
    assert AttributionPolicy.current().output_token_weight == 3
    assert AttributionPolicy.at(NOV_10).output_token_weight == 1


# Through the real admin.

RULE_FORM = {
    "name": "team tag", "priority": "10", "enabled": "on", "source": "tag", "tag_key": "team",
    "tag_value": "", "action": "assign", "team": "ads", "model": "", "endpoint": "",
}  # fmt: skip


def test_closing_october_then_editing_from_oct_1_leaves_october_and_changes_november(
    admin_client, tagged_hours, django_capture_on_commit_callbacks
):
    close_month(date(2026, 10, 1), by="finance")
    october = _busy(OCT)
    change = reverse("admin:attribution_costrule_change", args=[tagged_hours.pk])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(change, {**RULE_FORM, "effective_date": "2026-10-01"})
    assert response.status_code == 302, response.content
    assert len(callbacks) == 1
    assert _busy(OCT) == october == {"search": Decimal("2.5")}
    assert _busy(NOV_10) == _busy(NOV_20) == {"ads": Decimal("2.5")}
    run_attribution()  # a full recompute changes nothing closed either
    assert _busy(OCT) == october

    reopen_month(date(2026, 10, 1), by="finance", reason="the ads agreement covers October")
    assert _busy(OCT) == {"ads": Decimal("2.5")}  # the version from Oct 1 applies once open


def test_an_admin_edit_recomputes_only_from_its_effective_date(
    admin_client, tagged_hours, django_capture_on_commit_callbacks
):
    before = set(Allocation.objects.filter(hour__lt=NOV_15).values_list("pk", flat=True))
    after = set(Allocation.objects.filter(hour__gte=NOV_15).values_list("pk", flat=True))
    change = reverse("admin:attribution_costrule_change", args=[tagged_hours.pk])
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(change, {**RULE_FORM, "effective_date": "2026-11-15"})
    assert set(Allocation.objects.filter(hour__lt=NOV_15).values_list("pk", flat=True)) == before
    rewritten = set(Allocation.objects.filter(hour__gte=NOV_15).values_list("pk", flat=True))
    assert rewritten and not rewritten & after
    assert _busy(NOV_10) == {"search": Decimal("2.5")}
    assert _busy(NOV_20) == {"ads": Decimal("2.5")}


def test_the_audit_keeps_who_when_old_and_new_and_the_form_shows_the_history(
    admin_client, tagged_hours, django_capture_on_commit_callbacks
):
    change = reverse("admin:attribution_costrule_change", args=[tagged_hours.pk])
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(change, {**RULE_FORM, "effective_date": "2026-11-15"})
    entry = ConfigChange.objects.get()
    new = CostRule.objects.get(effective_to__isnull=True)
    assert (entry.action, entry.by, entry.object_id) == ("change", "admin", str(new.pk))
    assert (entry.old["team"], entry.new["team"]) == ("", "ads")
    assert entry.effective_from == NOV_15

    page = admin_client.get(reverse("admin:attribution_costrule_change", args=[new.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "since always to 2026-11-15" in html and "from 2026-11-15" in html  # versions
    assert "&#x27;ads&#x27;" in html and 'id="config-changes"' in html  # the audit


def test_an_effective_date_before_the_version_is_an_error_on_the_form(admin_client, tagged_hours):
    new = _edit(tagged_hours, NOV_15, team="ads")
    change = reverse("admin:attribution_costrule_change", args=[new.pk])
    page = admin_client.post(
        change, {**RULE_FORM, "team": "search", "effective_date": "2026-11-01"}
    )
    assert page.status_code == 200
    assert "applies from 2026-11-15" in page.content.decode()
    assert CostRule.objects.get(pk=new.pk).team == "ads" and CostRule.objects.count() == 2


def test_the_rule_list_shows_current_versions_unless_asked_for_all(admin_client, tagged_hours):
    _edit(tagged_hours, NOV_15, team="ads")
    changelist = reverse("admin:attribution_costrule_changelist")
    assert admin_client.get(changelist).context["cl"].result_count == 1
    assert admin_client.get(changelist, {"version": "all"}).context["cl"].result_count == 2
    assert admin_client.get(changelist, {"version": "ended"}).context["cl"].result_count == 1


def test_a_policy_edit_in_the_admin_takes_effect_from_its_date(
    admin_client, django_capture_on_commit_callbacks
):
    policy = AttributionPolicy.current()
    change = reverse("admin:attribution_attributionpolicy_change", args=[policy.pk])
    form = {"idle_policy": "separate", "output_token_weight": "2", "effective_date": "2026-11-15"}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(change, form)
    assert response.status_code == 302, response.content
    assert AttributionPolicy.at(NOV_10).output_token_weight == 1
    assert AttributionPolicy.at(NOV_20).output_token_weight == 2
    assert admin_client.get(reverse("admin:attribution_attributionpolicy_add")).status_code == 403


def test_a_gpu_count_edit_recomputes_from_its_effective_date_only(
    admin_client, django_capture_on_commit_callbacks
):
    resource = b.gpu_resource(gpus=8)
    for at in (NOV_10, NOV_20):
        b.cost_line(cost="80", start=at)
        b.samples("i-gpu", at, ["1"], gpus=1)
    run_attribution()
    change = reverse("admin:attribution_gpuresource_change", args=[resource.pk])
    form = admin_client.get(change).context["adminform"].form
    data = {
        **{k: v for k, v in form.initial.items() if v is not None},
        "gpu_count": "1",
        "pool": resource.pool_id,
        "effective_date": "2026-11-15",
        "mappings-TOTAL_FORMS": "0",
        "mappings-INITIAL_FORMS": "0",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(change, data)
    assert response.status_code == 302, response.content
    # A version from Nov 15; the one before it keeps 8 GPUs for the hours before.
    assert list(
        GpuResource.objects.order_by("id").values_list(
            "gpu_count", "effective_from", "effective_to"
        )
    ) == [(8, None, NOV_15), (1, NOV_15, None)]

    def gpu_hours(at):
        return sum(a.gpu_hours for a in Allocation.objects.filter(hour=at))

    assert (gpu_hours(NOV_10), gpu_hours(NOV_20)) == (8, 1)
    assert ConfigChange.objects.get(model="attribution.GpuResource").effective_from == NOV_15


def test_the_preview_lists_each_version_in_force_in_the_window(tagged_hours):
    new = _edit(tagged_hours, NOV_15, team="ads")
    preview = preview_rules(datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC))
    moved = {row.rule.pk: row.gpu_busy.amortized for row in preview.rules}
    assert moved == {tagged_hours.pk: Decimal("2.5"), new.pk: Decimal("2.5")}
