"""Admin for the org's attribution policy and the cost rules (ordered, editable, previewed).

The cost rule admin adds a "Preview" page (/admin/attribution/costrule/preview/) listing how
much cost each enabled rule moves over a window, and a "Preview this edit" button on the change
form that previews the rule as edited without saving it (costapp.attribution.rules).

Saving or deleting anything the split depends on (rules, the policy, and in the ingest admin
the GPU inventory and telemetry mappings) recomputes every hour once the change commits, so
the pages never show allocations made under rules that no longer exist.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from costapp.core import limits

from . import audit
from .forms import CostRuleForm
from .models import Allocation, AttributionPolicy, ConfigChange, CostRule, PeriodEvent
from .rules import MAX_PREVIEW_DAYS, RulePreview, preview_rules


class RecomputesAttribution(admin.ModelAdmin):
    """An admin whose saves and deletes change how cost is split: recompute every hour after
    the change commits, once per request however many rows it touched."""

    def _recompute_after_commit(self, request: HttpRequest) -> None:
        if getattr(request, "_ledger_recompute", False):
            return
        request._ledger_recompute = True
        from .tasks import recompute_all

        transaction.on_commit(recompute_all.delay)
        self.message_user(
            request, "Attribution is being recomputed for every hour with this change.",
            messages.INFO,
        )  # fmt: skip

    def save_model(self, request, obj, form, change) -> None:
        old = audit.snapshot(type(obj).objects.get(pk=obj.pk)) if change and obj.pk else None
        super().save_model(request, obj, form, change)
        audit.record("change" if change else "add", obj, by=request.user.get_username(), old=old)
        self._recompute_after_commit(request)

    def delete_model(self, request, obj) -> None:
        audit.record("delete", obj, by=request.user.get_username(), old=audit.snapshot(obj))
        super().delete_model(request, obj)
        self._recompute_after_commit(request)

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset:
            audit.record("delete", obj, by=request.user.get_username(), old=audit.snapshot(obj))
        super().delete_queryset(request, queryset)
        self._recompute_after_commit(request)


@admin.register(AttributionPolicy)
class AttributionPolicyAdmin(RecomputesAttribution):
    list_display = ["idle_policy", "output_token_weight", "derive_output_weight"]


def _day(value: str | None) -> datetime | None:
    """A YYYY-MM-DD query parameter as midnight UTC; anything else counts as not given."""
    try:
        day = datetime.combine(date.fromisoformat(value or ""), time(), tzinfo=UTC)
    except ValueError:
        return None
    # A day outside the plausible window (9999-12-31) would overflow the day after it.
    return day if limits.check_time(day) is None else None


@admin.register(CostRule)
class CostRuleAdmin(RecomputesAttribution):
    form = CostRuleForm
    list_display = ["priority", "name", "tag_key", "tag_value", "action", "team", "enabled"]
    list_editable = ["enabled"]
    ordering = ["priority", "id"]
    actions = ["open_preview"]

    def get_urls(self):
        preview = path(
            "preview/",
            self.admin_site.admin_view(self.preview_view),
            name="attribution_costrule_preview",
        )
        return [preview, *super().get_urls()]

    @admin.action(description="Preview how much cost each rule moves")
    def open_preview(self, request, queryset):
        return HttpResponseRedirect(reverse("admin:attribution_costrule_preview"))

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        start, end = _day(request.GET.get("start")), _day(request.GET.get("end"))
        if start and end and end < start:
            start = end = None
        # "end" names the last day shown, so the window runs to the next midnight.
        preview = preview_rules(start, end + timedelta(days=1) if end else None)
        return self._render_preview(request, preview, edited=None)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and "_preview" in request.POST:
            response = self._preview_edit(request, object_id)
            if response is not None:
                return response
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _preview_edit(self, request: HttpRequest, object_id: str | None) -> HttpResponse | None:
        """Preview the posted form without saving; None lets the form show its errors."""
        obj = self.get_object(request, object_id) if object_id else None
        allowed = (
            self.has_change_permission(request, obj) if obj else self.has_add_permission(request)
        )
        if not allowed or (object_id and obj is None):
            raise PermissionDenied
        form = self.get_form(request, obj, change=obj is not None)(request.POST, instance=obj)
        if not form.is_valid():
            return None
        edited = form.save(commit=False)
        return self._render_preview(request, preview_rules(edited=edited), edited=edited)

    def _render_preview(
        self, request: HttpRequest, preview: RulePreview, edited: CostRule | None
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Cost rule preview" + (f": {edited.name} (not saved)" if edited else ""),
            "preview": preview,
            "max_days": MAX_PREVIEW_DAYS,
            "edited": edited,
            "last_day": preview.end - timedelta(microseconds=1) if preview.end else None,
        }
        return TemplateResponse(request, "admin/attribution/costrule/preview.html", context)


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    list_display = ["hour", "resource_id", "kind", "team", "model", "endpoint", "amortized_cost"]
    list_filter = ["kind", "rule"]
    search_fields = ["team", "resource_id"]

    # Computed by the engine: read-only for everyone, superusers included.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record nobody edits by hand: computed or kept for the audit."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ConfigChange)
class ConfigChangeAdmin(ReadOnlyAdmin):
    list_display = ["at", "by", "action", "model", "object_repr", "fields_changed"]
    list_filter = ["model", "action"]
    search_fields = ["object_repr", "by", "object_id"]

    @admin.display(description="old -> new")
    def fields_changed(self, change: ConfigChange) -> str:
        return "; ".join(
            f"{name}: {old!r} -> {new!r}"
            for name, (old, new) in audit.changed_fields(change).items()
        )


@admin.register(PeriodEvent)
class PeriodEventAdmin(ReadOnlyAdmin):
    list_display = ["month", "action", "at", "by", "reason"]
    list_filter = ["action"]
