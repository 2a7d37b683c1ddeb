"""GPU inventory: which billed resources carry GPUs, found in the cost lines themselves.

`sync_gpu_resources` reads the latest CostLine per resource id, looks for a catalogued instance
type in its resource type, SKU, charge description and tag values, and keeps the inventory's
versions (costapp.attribution.versions) in step with it:

- a resource not in the inventory gets its first version, since always, in a pool per
  provider + region + GPU model;
- a resource whose version in force has the same instance type, GPU model and count is left
  untouched (a pool or provider set by hand is kept);
- a resource whose bill now names another shape gets a new version from the first hour of the
  run of its latest lines that name it, so the hours before keep the old count and type even
  through a full recompute. The new version keeps a pool set by hand and follows the automatic
  pool (provider/region/model) otherwise.

Adds and new versions are recorded in the audit trail (by "inventory sync"). The caller
recomputes: the demo builds its inventory before attributing, and a new version only moves
hours from its start.
"""

from __future__ import annotations

import json
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F

from . import audit, versions
from .gpu_catalog import GpuShape, find_instance_type
from .models import ConfigChange, GpuPool, GpuResource

SYNC_USER = "inventory sync"

# One row per resource id: the newest line says what the resource is now. Cheap on millions of
# lines; the history of a resource is read only when its shape changed (_first_hour_of).
_REPRESENTATIVES = """
SELECT DISTINCT ON (resource_id) resource_id, provider, region, resource_type, sku_id,
       charge_description, tags
FROM ingest_costline
WHERE resource_id <> ''
ORDER BY resource_id, charge_period_start DESC
"""

# A resource's lines, newest first (read only for a resource whose shape changed).
_HISTORY = """
SELECT charge_period_start, resource_type, sku_id, charge_description, tags::text
FROM ingest_costline
WHERE resource_id = %s
ORDER BY charge_period_start DESC, id DESC
"""


def pool_name(provider: str, region: str, gpu_model: str) -> str:
    return "/".join(part or "-" for part in (provider, region, gpu_model))


def _shape(resource_type: str, sku: str, description: str, tags: str | dict) -> GpuShape | None:
    # Django's psycopg setup hands raw-cursor jsonb back as text.
    tags = json.loads(tags) if isinstance(tags, str) else tags
    texts = [resource_type, sku, description, *(str(v) for v in (tags or {}).values())]
    for text in texts:
        if text:
            shape = find_instance_type(text)
            if shape:
                return shape
    return None


def _values(shape: GpuShape) -> dict:
    return {
        "instance_type": shape.instance_type,
        "gpu_type": shape.gpu_model,
        "gpu_count": shape.gpu_count,
    }


def _first_hour_of(resource_id: str, shape: GpuShape) -> datetime:
    """The first hour of the latest run of the resource's lines that name `shape`: walking back
    from the newest line to the first that names another shape (lines that name none, such as
    a support fee on the same id, do not end the run)."""
    shapes: dict[tuple, GpuShape | None] = {}
    first = None
    with connection.cursor() as cursor:
        cursor.execute(_HISTORY, [resource_id])
        for start, *texts in cursor:
            key = tuple(texts)
            if key not in shapes:
                shapes[key] = _shape(*texts)
            found = shapes[key]
            if found is not None and found != shape:
                break
            if found == shape:
                first = start
    assert first is not None  # the newest line named it
    return first.replace(minute=0, second=0, microsecond=0)


def _pool(provider: str, region: str, shape: GpuShape) -> GpuPool:
    pool, _ = GpuPool.objects.get_or_create(
        name=pool_name(provider, region, shape.gpu_model),
        defaults={"provider": provider, "region": region},
    )
    return pool


def _add(resource_id: str, provider: str, region: str, shape: GpuShape) -> None:
    resource = GpuResource(resource_id=resource_id, provider=provider, region=region)
    for name, value in _values(shape).items():
        setattr(resource, name, value)
    resource.pool = _pool(provider, region, shape)
    # Since always: the bill is the first word on what this resource is.
    resource.effective_from = None
    resource.save()
    audit.record("add", resource, by=SYNC_USER)


def _new_version(current: GpuResource, provider: str, region: str, shape: GpuShape) -> None:
    old = audit.snapshot(current)
    edited = GpuResource.objects.get(pk=current.pk)
    automatic = pool_name(current.provider, current.region, current.gpu_type)
    if edited.pool is None or edited.pool.name == automatic:
        edited.pool = _pool(provider, region, shape)
    for name, value in _values(shape).items():
        setattr(edited, name, value)
    start = _first_hour_of(current.resource_id, shape)
    if current.effective_from is not None and start <= current.effective_from:
        start = current.effective_from  # the version in force began with this shape's run
    saved = versions.save(edited, start)
    entry = audit.record("change", saved.obj, by=SYNC_USER, old=old)
    ConfigChange.objects.filter(pk=entry.pk).update(effective_from=saved.start)


@transaction.atomic
def sync_gpu_resources() -> int:
    """Bring the GPU inventory in step with the cost lines (see the module docstring); returns
    how many GPU resources the cost lines name."""
    with connection.cursor() as cursor:
        cursor.execute(_REPRESENTATIVES)
        rows = cursor.fetchall()
    latest = {}
    for resource in GpuResource.objects.select_related("pool").order_by(
        F("effective_from").asc(nulls_first=True), "id"
    ):
        latest[resource.resource_id] = resource  # the last version (in force, else ended last)
    count = 0
    for resource_id, provider, region, resource_type, sku, description, tags in rows:
        shape = _shape(resource_type, sku, description, tags)
        if shape is None:
            continue
        count += 1
        current = latest.get(resource_id)
        if current is None:
            _add(resource_id, provider, region, shape)
        elif current.effective_to is None and any(
            getattr(current, name) != value for name, value in _values(shape).items()
        ):
            _new_version(current, provider, region, shape)
    return count
