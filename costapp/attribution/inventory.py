"""GPU inventory: which billed resources carry GPUs, found in the cost lines themselves.

`sync_gpu_resources` reads one representative CostLine per resource id, looks for a catalogued
instance type in its resource type, SKU, charge description and tag values, and upserts a
GpuResource (GPU model, count, provider, region) in a pool per provider + region + GPU model.
A pool set by hand is kept.
"""

from __future__ import annotations

import json

from django.db import connection, transaction

from .gpu_catalog import GpuShape, find_instance_type
from .models import GpuPool, GpuResource

# One row per resource id is enough: the instance type does not change under one id, and this
# keeps the scan cheap on millions of lines.
_REPRESENTATIVES = """
SELECT DISTINCT ON (resource_id) resource_id, provider, region, resource_type, sku_id,
       charge_description, tags
FROM ingest_costline
WHERE resource_id <> ''
ORDER BY resource_id, charge_period_start DESC
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


@transaction.atomic
def sync_gpu_resources() -> int:
    """Upsert GpuResource rows for every GPU instance named in the cost lines; returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(_REPRESENTATIVES)
        rows = cursor.fetchall()
    count = 0
    for resource_id, provider, region, resource_type, sku, description, tags in rows:
        shape = _shape(resource_type, sku, description, tags)
        if shape is None:
            continue
        resource, _ = GpuResource.objects.update_or_create(
            resource_id=resource_id,
            defaults={
                "provider": provider,
                "region": region,
                "instance_type": shape.instance_type,
                "gpu_type": shape.gpu_model,
                "gpu_count": shape.gpu_count,
            },
        )
        if resource.pool_id is None:
            resource.pool, _ = GpuPool.objects.get_or_create(
                name=pool_name(provider, region, shape.gpu_model),
                defaults={"provider": provider, "region": region},
            )
            resource.save(update_fields=["pool"])
        count += 1
    return count
