"""Every admin page operators use to configure the ledger opens for a superuser."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from costapp.ingest.models import GpuMapping, GpuPool, GpuResource

pytestmark = pytest.mark.django_db


def test_every_registered_model_has_a_working_list_and_add_page(admin_client):
    for model in admin.site._registry:
        meta = model._meta
        listing = admin_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        assert listing.status_code == 200, meta.label


def test_a_gpu_mapping_is_edited_on_its_resource(admin_client):
    pool = GpuPool.objects.create(name="aws-us-east-1-h100")
    resource = GpuResource.objects.create(resource_id="i-0abc", gpu_count=8, pool=pool)
    GpuMapping.objects.create(match_on="hostname", value="ip-10-0-1-2", resource=resource)
    page = admin_client.get(reverse("admin:ingest_gpuresource_change", args=[resource.pk]))
    assert page.status_code == 200
    assert b"ip-10-0-1-2" in page.content
