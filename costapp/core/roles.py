"""The "Finance" group: the configuration finance maintains in the admin, and nothing else.

A finance user is staff (to reach /admin/) and a member of this group, whose permissions are
exactly FINANCE_CONFIGURATION: sources, cost rules, the attribution policy, teams and their
members, the GPU inventory, the what-if price tables and alert rules. Computed tables (allocations, ingestion runs, stored bill rows)
are read-only in the admin for everyone, so they are not listed.

`sync_finance_group()` runs after every `manage.py migrate` (see CoreConfig.ready), which is
how a deployment gets the group, and from `manage.py demo`; it puts the group's permissions
back to exactly this list, so a permission added by hand in the admin does not linger.
"""

from __future__ import annotations

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

FINANCE_GROUP = "Finance"

ALL = ("view", "add", "change", "delete")
# model label -> the actions finance may take on it. The policy is one row, created on first
# read: finance changes it, never adds or deletes it.
FINANCE_CONFIGURATION: dict[str, tuple[str, ...]] = {
    "sources.source": ALL,
    "attribution.costrule": ALL,
    "attribution.attributionpolicy": ("view", "change"),
    "core.team": ALL,
    "core.membership": ALL,
    "attribution.gpupool": ALL,
    "attribution.gpuresource": ALL,
    "attribution.gpumapping": ALL,
    # What-if list prices (published figures finance keeps current) and alert rules.
    "whatif.gpuinstanceprice": ALL,
    "whatif.hostedmodelprice": ALL,
    "alerts.alertrule": ALL,
}


def finance_permissions() -> list[Permission]:
    """The Permission rows of FINANCE_CONFIGURATION (created first if migrate has not yet)."""
    wanted = []
    for label, actions in FINANCE_CONFIGURATION.items():
        model = global_apps.get_model(label)
        content_type = ContentType.objects.get_for_model(model, for_concrete_model=True)
        codenames = [f"{action}_{model._meta.model_name}" for action in actions]
        found = Permission.objects.filter(content_type=content_type, codename__in=codenames)
        if len(found) != len(codenames):
            create_permissions(global_apps.get_app_config(model._meta.app_label), verbosity=0)
            found = Permission.objects.filter(content_type=content_type, codename__in=codenames)
        wanted.extend(found)
    return wanted


def sync_finance_group() -> Group:
    """Create the Finance group if needed and give it exactly the configuration permissions."""
    group, _ = Group.objects.get_or_create(name=FINANCE_GROUP)
    group.permissions.set(finance_permissions())
    return group


def sync_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """post_migrate receiver. Django sends it once per app with models, in INSTALLED_APPS
    order, and creates each app's permissions on it: act on the last one, when all exist."""
    with_models = [c for c in global_apps.get_app_configs() if c.models_module is not None]
    if using == "default" and sender is with_models[-1]:
        sync_finance_group()
