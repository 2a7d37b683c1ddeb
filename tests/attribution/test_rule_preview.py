"""Rule preview: per enabled rule, the shared and GPU busy cost it moves and what stays unallocated."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.urls import reverse

from costapp.attribution.engine import run_attribution
from costapp.attribution.models import Allocation, CostRule
from costapp.attribution.rules import MAX_PREVIEW_DAYS, Amount, RuleMoves, preview_rules
from costapp.core.models import Team
from costapp.ingest.models import GpuSample

from . import builders as b

pytestmark = pytest.mark.django_db

PREVIEW_URL = "admin:attribution_costrule_preview"


def _moves(preview) -> dict[str, RuleMoves]:
    return {row.rule.name: row for row in preview.rules}


def _labelled_sample(gpu: int, utilization: str, resource_id: str = "i-k8s", **labels) -> None:
    GpuSample.objects.create(
        run=b.run(),
        ts=b.hour(),
        gpu_uuid=f"GPU-{resource_id}-{gpu}",
        resource_id=resource_id,
        labels=labels,
        utilization=Decimal(utilization),
        source_file="dcgm",
        source_row=gpu,
    )


@pytest.fixture
def ledger() -> dict[str, Decimal]:
    """One hour of data touching every kind of rule, with the amounts each should move."""
    CostRule.objects.create(name="team tag", priority=10, tag_key="team", action="assign")
    CostRule.objects.create(
        name="network", priority=20, tag_key="kind", tag_value="network", action="even"
    )
    CostRule.objects.create(
        name="namespace", priority=30, source="telemetry_label", tag_key="namespace"
    )
    # A tagged GPU with no request rows: its busy share goes to the tag's team.
    b.gpu_resource("i-tagged", gpus=1)
    b.cost_line("i-tagged", cost="10", billed="12", tags={"team": "search"})
    b.samples("i-tagged", b.hour(), ["0.25"])
    # A Kubernetes node: two labelled GPUs and one unlabelled, busy cost split by utilization.
    b.gpu_resource("i-k8s", gpus=3)
    b.cost_line("i-k8s", cost="30", billed="33")
    _labelled_sample(0, "0.6", namespace="llm")
    _labelled_sample(1, "0.2", namespace="batch")
    _labelled_sample(2, "0.4")
    # A GPU nobody tags or labels: its busy cost stays unallocated.
    b.gpu_resource("i-bare", gpus=1)
    b.cost_line("i-bare", cost="20", billed="22")
    b.samples("i-bare", b.hour(), ["0.5"])
    # Shared lines: one a rule assigns, one split evenly, one no rule matches.
    b.cost_line("vol-1", cost="4", billed="4.4", tags={"team": "search"})
    b.cost_line("nat-1", cost="3", billed="3.3", tags={"kind": "network"})
    b.cost_line("s3-1", cost="5.0000000001", billed="5")
    k8s_busy_a = Decimal(30) * Decimal("0.4")  # mean utilization of 0.6, 0.2, 0.4
    k8s_busy_b = Decimal(33) * Decimal("0.4")
    labelled = (Decimal("0.6") + Decimal("0.2")) / Decimal("1.2")
    return {
        "tag_busy_a": Decimal(10) * Decimal("0.25"),
        "tag_busy_b": Decimal(12) * Decimal("0.25"),
        "label_busy_a": k8s_busy_a * labelled,
        "label_busy_b": k8s_busy_b * labelled,
        "label_left_a": k8s_busy_a * (1 - labelled),
        "label_left_b": k8s_busy_b * (1 - labelled),
        "bare_busy_a": Decimal(20) * Decimal("0.5"),
        "bare_busy_b": Decimal(22) * Decimal("0.5"),
    }


def test_a_tag_rule_moves_busy_gpu_cost_and_shared_lines_on_both_bases(ledger):
    team = _moves(preview_rules(b.hour(), b.hour(1)))["team tag"]
    assert team.currency == "USD"
    assert team.gpu_busy == Amount(ledger["tag_busy_a"], ledger["tag_busy_b"])
    assert team.shared == Amount(Decimal(4), Decimal("4.4"))
    assert team.moved == Amount(ledger["tag_busy_a"] + 4, ledger["tag_busy_b"] + Decimal("4.4"))
    assert team.unplaced == Amount()


def test_a_label_rule_moves_the_labelled_share_and_the_unlabelled_share_stays_unallocated(ledger):
    namespace = _moves(preview_rules(b.hour(), b.hour(1)))["namespace"]
    assert namespace.gpu_busy == Amount(ledger["label_busy_a"], ledger["label_busy_b"])
    assert namespace.unplaced == Amount(ledger["label_left_a"], ledger["label_left_b"])
    assert namespace.shared == Amount()


def test_an_even_rule_moves_shared_cost_to_the_teams_rules_gave_gpu_cost_that_hour(ledger):
    network = _moves(preview_rules(b.hour(), b.hour(1)))["network"]
    assert network.shared == Amount(Decimal(3), Decimal("3.3"))
    assert network.unplaced == Amount()


def test_an_even_rule_with_nobody_using_gpus_moves_nothing_and_its_lines_stay_unallocated():
    CostRule.objects.create(name="network", tag_key="kind", action="even")
    b.cost_line("nat-1", cost="3", billed="3.3", tags={"kind": "network"})
    network = _moves(preview_rules(b.hour(), b.hour(1)))["network"]
    assert network.moved == Amount()
    assert network.unplaced == Amount(Decimal(3), Decimal("3.3"))


def test_cost_no_rule_decides_is_reported_as_unallocated_shared_and_gpu_busy(ledger):
    preview = preview_rules(b.hour(), b.hour(1))
    assert preview.unallocated_shared == {"USD": Amount(Decimal("5.0000000001"), Decimal(5))}
    assert preview.unallocated_gpu_busy == {
        "USD": Amount(ledger["bare_busy_a"], ledger["bare_busy_b"])
    }


def test_an_even_rule_moves_shared_cost_once_a_team_uses_gpus_that_hour():
    CostRule.objects.create(name="network", tag_key="kind", action="even")
    b.gpu_resource(gpus=1)
    b.cost_line(cost="100")
    b.samples("i-gpu", b.hour(), ["1"])
    b.usage("search", requests=3)
    b.cost_line("nat-1", cost="3.0000000001", billed="3", tags={"kind": "network"})
    network = _moves(preview_rules(b.hour(), b.hour(1)))["network"]
    assert network.shared == Amount(Decimal("3.0000000001"), Decimal(3))
    assert network.gpu_busy == Amount()


def test_the_preview_changes_nothing_in_the_database(ledger):
    run_attribution()
    before = list(Allocation.objects.order_by("pk").values_list("pk", "amortized_cost"))
    rules = list(CostRule.objects.values_list("pk", "priority"))
    preview_rules(b.hour(), b.hour(1), edited=CostRule(name="new", tag_key="kind"))
    assert list(Allocation.objects.order_by("pk").values_list("pk", "amortized_cost")) == before
    assert list(CostRule.objects.values_list("pk", "priority")) == rules


def test_what_a_rule_moves_in_the_preview_is_what_a_real_run_gives_it(ledger):
    team = _moves(preview_rules(b.hour(), b.hour(1)))["team tag"]
    run_attribution()
    given = Allocation.objects.filter(rule="tag:team").aggregate(
        a=Sum("amortized_cost"), b=Sum("billed_cost")
    )
    assert team.gpu_busy == Amount(given["a"], given["b"])


def test_an_unsaved_rule_is_previewed_in_its_place_by_priority_and_not_saved(ledger):
    draft = CostRule(name="platform first", priority=1, tag_key="team", team="platform")
    preview = preview_rules(b.hour(), b.hour(1), edited=draft)
    moves = _moves(preview)
    assert draft.pk is None and not CostRule.objects.filter(name="platform first").exists()
    assert moves["platform first"].edited
    assert moves["platform first"].gpu_busy == Amount(ledger["tag_busy_a"], ledger["tag_busy_b"])
    # It outranks the saved tag rule, which now moves nothing.
    assert moves["team tag"].moved == Amount()


def test_an_edited_rule_is_previewed_with_the_edit_instead_of_its_stored_version(ledger):
    network = CostRule.objects.get(name="network")
    network.tag_value = "nope"
    moves = _moves(preview_rules(b.hour(), b.hour(1), edited=network))
    assert moves["network"].unplaced == Amount()
    assert CostRule.objects.get(name="network").tag_value == "network"


def test_the_default_window_is_the_last_thirty_days_of_data():
    CostRule.objects.create(name="team tag", tag_key="team", action="assign")
    b.cost_line("vol-old", cost="7", start=b.hour() - timedelta(days=31), tags={"team": "a"})
    b.cost_line("vol-new", cost="2", tags={"team": "a"})
    preview = preview_rules()
    assert preview.end == b.hour(1)
    assert preview.start == b.hour(1) - timedelta(days=30)
    assert _moves(preview)["team tag"].shared == Amount(Decimal(2), Decimal(2))


def test_a_window_longer_than_a_month_is_cut_to_its_last_days_and_says_so(admin_client, ledger):
    last = b.hour().date()
    first = last - timedelta(days=400)
    page = admin_client.get(
        reverse(PREVIEW_URL), {"start": first.isoformat(), "end": last.isoformat()}
    )
    preview = page.context["preview"]
    assert preview.clamped
    assert preview.end - preview.start == timedelta(days=MAX_PREVIEW_DAYS)
    assert f"at most {MAX_PREVIEW_DAYS} days" in page.content.decode()


def test_a_day_outside_the_plausible_window_counts_as_not_given(admin_client, ledger):
    page = admin_client.get(reverse(PREVIEW_URL), {"start": "0001-01-01", "end": "9999-12-31"})
    assert page.status_code == 200
    assert page.context["preview"].end == b.hour(1)


def test_with_no_billing_data_the_preview_is_empty():
    CostRule.objects.create(name="team tag", tag_key="team")
    preview = preview_rules()
    assert (preview.start, preview.rules) == (None, [])


def test_the_admin_preview_page_lists_each_rule_with_amounts_rounded_for_display(
    admin_client, ledger
):
    page = admin_client.get(reverse(PREVIEW_URL))
    assert page.status_code == 200
    text = page.content.decode()
    assert "team tag" in text and "namespace" in text
    assert "6.50" in text  # team tag: 2.50 busy + 4.00 shared, amortized
    assert "5.00" in text  # shared line no rule matches (5.0000000001 exactly)


def test_the_admin_preview_page_takes_a_window_of_days(admin_client, ledger):
    day = b.hour().date().isoformat()
    page = admin_client.get(reverse(PREVIEW_URL), {"start": day, "end": day})
    assert page.context["preview"].start == b.hour().replace(hour=0)
    assert page.context["preview"].end == b.hour().replace(hour=0) + timedelta(days=1)


def test_staff_without_permission_on_cost_rules_cannot_open_the_preview(client, ledger):
    client.force_login(get_user_model().objects.create_user("clerk", is_staff=True))
    assert client.get(reverse(PREVIEW_URL)).status_code == 403


def test_the_changelist_action_opens_the_preview(admin_client, ledger):
    rule = CostRule.objects.first()
    response = admin_client.post(
        reverse("admin:attribution_costrule_changelist"),
        {"action": "open_preview", "_selected_action": [rule.pk]},
    )
    assert response.status_code == 302
    assert response.url == reverse(PREVIEW_URL)


def test_the_change_form_previews_an_edit_without_saving_it(admin_client, ledger):
    Team.objects.create(slug="platform", name="Platform")  # a rule's team is chosen from these
    rule = CostRule.objects.get(name="team tag")
    form = {
        "name": "team tag",
        "priority": 10,
        "enabled": "on",
        "source": "tag",
        "tag_key": "team",
        "tag_value": "",
        "action": "assign",
        "team": "platform",
        "model": "",
        "endpoint": "",
        "_preview": "Preview",
    }
    page = admin_client.post(reverse("admin:attribution_costrule_change", args=[rule.pk]), form)
    assert page.status_code == 200
    row = _moves(page.context["preview"])["team tag"]
    assert row.edited and row.rule.team == "platform"
    assert CostRule.objects.get(pk=rule.pk).team == ""


def test_the_add_form_previews_a_new_rule_without_saving_it(admin_client, ledger):
    Team.objects.create(slug="infra", name="Infra")  # a rule's team is chosen from these
    form = {
        "name": "draft",
        "enabled": "on",
        "priority": 1,
        "source": "tag",
        "tag_key": "kind",
        "action": "assign",
        "team": "infra",
        "_preview": "Preview",
    }
    page = admin_client.post(reverse("admin:attribution_costrule_add"), form)
    assert page.status_code == 200
    assert _moves(page.context["preview"])["draft"].shared == Amount(Decimal(3), Decimal("3.3"))
    assert not CostRule.objects.filter(name="draft").exists()
