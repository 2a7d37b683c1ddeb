"""Admin for the GPU inventory and the telemetry-to-resource mapping operators maintain.

Both decide how cost is split, so an edit recomputes attribution (RecomputesAttribution) from
the day its "Effective from" gives, and is kept in the audit trail. They are one row each, not
versions: hours before that day are not recomputed, but a later recompute of them uses the rows
as they are now (docs/ARCHITECTURE.md, "Effective-dated configuration").
"""

from __future__ import annotations

from django.contrib import admin

from costapp.attribution.admin import RecomputesAttribution

from .models import GpuMapping, GpuPool, GpuResource


class GpuMappingInline(admin.TabularInline):
    model = GpuMapping
    extra = 0
    fields = ["priority", "match_on", "label_key", "value"]


@admin.register(GpuPool)
class GpuPoolAdmin(RecomputesAttribution):
    list_display = ["name", "provider", "region"]
    search_fields = ["name"]


@admin.register(GpuResource)
class GpuResourceAdmin(RecomputesAttribution):
    list_display = ["resource_id", "instance_type", "gpu_type", "gpu_count", "region", "pool"]
    list_filter = ["provider", "gpu_type", "pool"]
    search_fields = ["resource_id", "instance_type"]
    inlines = [GpuMappingInline]


@admin.register(GpuMapping)
class GpuMappingAdmin(RecomputesAttribution):
    """A GPU UUID, hostname or pod/node label -> the billed resource it runs on."""

    list_display = ["priority", "match_on", "label_key", "value", "resource"]
    list_filter = ["match_on"]
    search_fields = ["value", "resource__resource_id"]
    autocomplete_fields = ["resource"]
