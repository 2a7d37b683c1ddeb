"""The GPU inventory's move from ingest/ to attribution/: a database holding inventory rows,
permissions and audit entries under the old app migrates forward with all of them intact."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from costapp.attribution import versions
from costapp.attribution.models import Allocation, ConfigChange, GpuMapping, GpuPool, GpuResource
from costapp.core.roles import sync_finance_group

pytestmark = pytest.mark.django_db(transaction=True)

MOVE_IN = ("attribution", "0006_gpu_inventory")
MOVE_OUT = ("ingest", "0011_gpu_inventory_moved_to_attribution")
MODELS = ("gpupool", "gpuresource", "gpumapping")


def _before_move(executor: MigrationExecutor) -> list[tuple[str, str]]:
    """The state just before the move: each of its two migrations' parent in its own app."""
    graph = executor.loader.graph
    return [
        next(p.key for p in graph.node_map[key].parents if p.key[0] == key[0])
        for key in (MOVE_IN, MOVE_OUT)
    ]


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    ContentType.objects.clear_cache()
    return MigrationExecutor(connection)  # a fresh loader sees what is applied now


def _old_database(executor: MigrationExecutor) -> dict[str, int]:
    """Rows as the old code left them: inventory, a mapping, an allocation on the resource, its
    content types and permission under "ingest", an audit entry naming ingest.GpuResource.
    Returns the ids to compare."""
    old = executor.loader.project_state(_before_move(executor)).apps
    assert "gpuresource" in old.all_models["ingest"]
    assert "gpuresource" not in old.all_models["attribution"]
    # Migrating back relabelled the content types the test database was built with.
    assert not ContentType.objects.filter(app_label="attribution", model__in=MODELS).exists()
    content_type = ContentType.objects.get(app_label="ingest", model="gpuresource")
    permission = Permission.objects.get(content_type=content_type, codename="change_gpuresource")
    pool = old.get_model("ingest", "GpuPool").objects.create(name="AWS/us-east-1/H100")
    resource = old.get_model("ingest", "GpuResource").objects.create(
        resource_id="i-0abc", gpu_count=8, gpu_type="H100", pool_id=pool.pk
    )
    old.get_model("ingest", "GpuMapping").objects.create(
        match_on="hostname", value="ip-10-0-1-2", resource_id=resource.pk
    )
    old.get_model("attribution", "Allocation").objects.create(
        hour=datetime(2026, 11, 1, 10, tzinfo=UTC), resource_id="i-0abc", kind="idle",
        amortized_cost=1, billed_cost=1, currency="USD",
    )  # fmt: skip
    old.get_model("attribution", "ConfigChange").objects.create(
        model="ingest.GpuResource", object_id=str(resource.pk), object_repr="i-0abc", action="add"
    )
    return {"content_type": content_type.pk, "permission": permission.pk, "resource": resource.pk}


def test_a_database_with_inventory_rows_migrates_forward_keeping_them():
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor = _migrate(_before_move(executor))
        ids = _old_database(executor)
        _migrate(leaves)
    finally:
        _migrate(leaves)

    resource = GpuResource.objects.select_related("pool").get()
    assert (resource.pk, resource.gpu_count, resource.pool.name) == (
        ids["resource"],
        8,
        "AWS/us-east-1/H100",
    )
    assert GpuPool._meta.db_table == "ingest_gpupool"
    # Versions since 0007: the one row is its resource's version since always, and the mapping
    # names the resource by its resource_id.
    assert (resource.effective_from, resource.effective_to) == (None, None)
    # The allocation carries the type and count it was computed with (filled from the inventory).
    assert list(Allocation.objects.values_list("gpu_type", "gpu_count")) == [("H100", 8)]
    mapping = GpuMapping.objects.get()
    assert (mapping.value, mapping.resource_id, mapping.effective_from) == (
        "ip-10-0-1-2",
        "i-0abc",
        None,
    )
    # The content type is relabelled in place: the permission granted on it is the new one.
    moved = ContentType.objects.get_for_model(GpuResource)
    assert (moved.pk, moved.app_label) == (ids["content_type"], "attribution")
    assert not ContentType.objects.filter(app_label="ingest", model__in=MODELS).exists()
    assert Permission.objects.get(pk=ids["permission"]).content_type == moved
    assert ConfigChange.objects.get().model == "attribution.GpuResource"
    finance = sync_finance_group()
    assert finance.permissions.filter(pk=ids["permission"]).exists()
    assert finance.permissions.filter(
        content_type__app_label="attribution", codename="view_gpumapping"
    ).exists()


def test_the_move_touches_no_table():
    executor = MigrationExecutor(connection)
    for key in (MOVE_IN, MOVE_OUT):
        migration = executor.loader.graph.nodes[key]
        with connection.schema_editor(collect_sql=True, atomic=False) as editor:
            state = executor.loader.project_state(key, at_end=False)
            migration.apply(state, editor, collect_sql=True)
        # sqlmigrate's comments ("-- Raw Python operation") only: no statement.
        statements = [sql for sql in editor.collected_sql if not sql.startswith("--")]
        assert statements == [], key


def test_going_back_before_versions_keeps_the_version_in_force():
    """0007 unapplied: one row per resource (the version in force) and per current mapping,
    the mapping pointing at that row again."""
    pool = GpuPool.objects.create(name="p")
    first = GpuResource.objects.create(resource_id="i-0abc", gpu_count=8, pool=pool)
    moved = datetime(2026, 11, 15, tzinfo=UTC)
    first.gpu_count = 4
    versions.save(first, moved)
    mapping = GpuMapping.objects.create(match_on="uuid", value="GPU-1", resource_id="i-0abc")
    mapping.value = "GPU-2"
    versions.save(mapping, moved)
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor = _migrate([("attribution", "0006_gpu_inventory")])
        old = executor.loader.project_state(("attribution", "0006_gpu_inventory")).apps
        (kept,) = old.get_model("attribution", "GpuResource").objects.all()
        (mapped,) = old.get_model("attribution", "GpuMapping").objects.all()
        assert (kept.resource_id, kept.gpu_count) == ("i-0abc", 4)
        assert (mapped.value, mapped.resource_id) == ("GPU-2", kept.pk)
    finally:
        _migrate(leaves)
