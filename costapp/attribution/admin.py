"""Admin for the org's attribution policy and the cost rules (ordered, editable, previewed)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.utils import timezone

from .models import Allocation, AttributionPolicy, CostRule
from .rules import preview_rules


@admin.register(AttributionPolicy)
class AttributionPolicyAdmin(admin.ModelAdmin):
    list_display = ["idle_policy", "output_token_weight", "derive_output_weight"]


@admin.register(CostRule)
class CostRuleAdmin(admin.ModelAdmin):
    list_display = ["priority", "name", "tag_key", "tag_value", "action", "team", "enabled"]
    list_editable = ["enabled"]
    ordering = ["priority", "id"]
    actions = ["preview_last_30_days"]

    @admin.action(description="Preview how much cost each rule moves (last 30 days)")
    def preview_last_30_days(self, request, queryset):
        end = timezone.now()
        for entry in preview_rules(end - timedelta(days=30), end):
            name = entry["rule"].name if entry["rule"] else "(no rule: unallocated)"
            self.message_user(
                request,
                f"{name}: {entry['lines']} lines, amortized {entry['amortized_cost']}, "
                f"billed {entry['billed_cost']}",
                messages.INFO,
            )


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    list_display = ["hour", "resource_id", "kind", "team", "model", "endpoint", "amortized_cost"]
    list_filter = ["kind", "rule"]
    search_fields = ["team", "resource_id"]
