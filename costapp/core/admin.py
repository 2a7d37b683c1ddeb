"""Admin for teams and organisation roles, and the admin site's own name.

The admin is where finance maintains the configuration (see costapp.core.roles for exactly
what the Finance group may change); it carries the product's name, not Django's.
"""

from __future__ import annotations

from django.contrib import admin

from .models import Membership, OrgRole, Team


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record nobody edits by hand, superusers included: computed, or kept for the audit."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


admin.site.site_header = "Inference Ledger"
admin.site.site_title = "Inference Ledger"
admin.site.index_title = "Inference Ledger configuration"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["slug", "name"]
    inlines = [MembershipInline]


admin.site.register(OrgRole)
