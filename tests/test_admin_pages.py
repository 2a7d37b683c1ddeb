"""The admin: every page opens for those who configure the ledger, finance reaches exactly its
configuration, computed tables are read-only for everyone, and teams are chosen from a list."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from costapp.attribution.models import Allocation, CostRule, GpuMapping, GpuPool, GpuResource
from costapp.core.models import OrgRole, Role, Team
from costapp.core.roles import FINANCE_CONFIGURATION, FINANCE_GROUP, sync_finance_group
from costapp.ingest.models import IngestionRun

pytestmark = pytest.mark.django_db

# Tables the ledger computes: nobody adds, changes or deletes a row by hand.
COMPUTED = {Allocation, IngestionRun}


def _url(model, page: str) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}")


@pytest.fixture
def finance_client() -> Client:
    user = get_user_model().objects.create_user("fin", password="x", is_staff=True)
    OrgRole.objects.create(user=user, role=Role.FINANCE)
    user.groups.add(Group.objects.get(name=FINANCE_GROUP))
    client = Client()
    client.force_login(user)
    return client


def test_every_registered_model_has_a_working_list_and_add_page(admin_client):
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label
        assert admin_client.get(_url(model, "changelist")).status_code == 200, label
        add = admin_client.get(_url(model, "add"))
        can_add = model_admin.has_add_permission(admin_client.get("/admin/").wsgi_request)
        assert add.status_code == (200 if can_add else 403), label


def test_computed_tables_are_read_only_even_for_a_superuser(admin_client):
    request = admin_client.get("/admin/").wsgi_request
    for model in COMPUTED:
        model_admin = admin.site._registry[model]
        assert not model_admin.has_add_permission(request), model._meta.label
        assert not model_admin.has_change_permission(request), model._meta.label
        assert not model_admin.has_delete_permission(request), model._meta.label
        assert admin_client.get(_url(model, "add")).status_code == 403


def test_the_finance_group_exists_after_migrate_with_exactly_the_configuration():
    group = Group.objects.get(name=FINANCE_GROUP)  # made by the test database's migrate
    held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
    wanted = {
        f"{label.split('.')[0]}.{action}_{label.split('.')[1]}"
        for label, actions in FINANCE_CONFIGURATION.items()
        for action in actions
    }
    assert held == wanted
    assert "attribution.add_allocation" not in held and "auth.change_user" not in held


def test_sync_puts_a_permission_added_by_hand_back_out():
    group = Group.objects.get(name=FINANCE_GROUP)
    group.permissions.add(Permission.objects.get(codename="change_user"))
    sync_finance_group()
    assert not group.permissions.filter(codename="change_user").exists()


def test_finance_opens_its_configuration_and_nothing_else(finance_client):
    configurable = {label for label in FINANCE_CONFIGURATION}
    index = finance_client.get("/admin/")
    assert index.status_code == 200
    for model in admin.site._registry:
        label = model._meta.label_lower
        listing = finance_client.get(_url(model, "changelist"))
        if label not in configurable:
            assert listing.status_code == 403, label
            continue
        assert listing.status_code == 200, label
        add = finance_client.get(_url(model, "add"))
        assert add.status_code == (200 if "add" in FINANCE_CONFIGURATION[label] else 403), label
    page = index.content.decode()
    for name in ("Sources", "Cost rules", "Teams", "Gpu resources"):
        assert name in page, name
    assert "Users" not in page and "Allocations" not in page


def test_the_demo_finance_login_reaches_the_configuration(client):
    from costapp.demo.load import create_users

    create_users()
    assert client.login(username="finance", password="finance-demo")
    assert client.get("/admin/").status_code == 200
    assert client.get(_url(CostRule, "add")).status_code == 200
    assert client.get(_url(Allocation, "changelist")).status_code == 403


def test_the_admin_carries_the_product_name(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert "<title>Inference Ledger configuration | Inference Ledger</title>" in page
    assert "Django administration" not in page


def test_a_cost_rules_team_is_chosen_from_the_teams(admin_client):
    Team.objects.create(slug="search", name="Search")
    Team.objects.create(slug="ads", name="Ads")
    page = admin_client.get(_url(CostRule, "add")).content.decode()
    assert '<select name="team"' in page
    assert '<option value="search">Search (search)</option>' in page
    form = {
        "name": "platform",
        "priority": "100",
        "enabled": "on",
        "source": "tag",
        "tag_key": "cost-center",
        "tag_value": "platform",
        "action": "assign",
        "model": "",
        "endpoint": "",
    }
    typo = admin_client.post(_url(CostRule, "add"), {**form, "team": "serach"})
    assert typo.status_code == 200 and "Select a valid choice" in typo.content.decode()
    assert not CostRule.objects.exists()
    saved = admin_client.post(_url(CostRule, "add"), {**form, "team": "search"})
    assert saved.status_code == 302
    assert CostRule.objects.get().team == "search"


def test_a_rule_saved_with_a_team_that_no_longer_exists_keeps_it_marked(admin_client):
    rule = CostRule.objects.create(name="old", tag_key="k", action="assign", team="legacy")
    url = reverse("admin:attribution_costrule_change", args=[rule.pk])
    page = admin_client.get(url).content.decode()
    assert '<option value="legacy" selected>legacy (no such team)</option>' in page


def test_a_gpu_mapping_is_edited_on_its_resource(admin_client):
    pool = GpuPool.objects.create(name="aws-us-east-1-h100")
    resource = GpuResource.objects.create(resource_id="i-0abc", gpu_count=8, pool=pool)
    GpuMapping.objects.create(match_on="hostname", value="ip-10-0-1-2", resource_id="i-0abc")
    page = admin_client.get(reverse("admin:attribution_gpuresource_change", args=[resource.pk]))
    assert page.status_code == 200
    assert b"ip-10-0-1-2" in page.content
