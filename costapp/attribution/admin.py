"""Admin for the org's attribution policy and the cost rules (ordered, editable, previewed).

The cost rule admin adds a "Preview" page (/admin/attribution/costrule/preview/) listing how
much cost each enabled rule moves over a window, and a "Preview this edit" button on the change
form that previews the rule as edited without saving it (costapp.attribution.rules).

Saving or deleting anything the split depends on (rules, the policy, the GPU inventory and
telemetry mappings) takes effect from a date (costapp.attribution.versions: rules, the policy,
GPU resources and mappings keep a version per span), is kept in the audit trail (shown on each
change form and under Config changes), and recomputes the open hours it can move once it
commits.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from costapp.core import limits
from costapp.core.admin import ReadOnlyAdmin

from . import audit, versions
from .forms import CostRuleForm, EffectiveDateForm, GpuMappingForm, GpuResourceForm
from .models import (
    Allocation,
    AttributionPolicy,
    ConfigChange,
    CostRule,
    EffectiveDated,
    GpuMapping,
    GpuPool,
    GpuResource,
    PeriodEvent,
)
from .rules import MAX_PREVIEW_DAYS, RulePreview, preview_rules


def _merge(window: list, change: versions.Change) -> None:
    """Widen [start, end) (None: unbounded) to cover the change's hours too."""
    start, end = window
    window[0] = None if start is None or change.start is None else min(start, change.start)
    window[1] = None if end is None or change.end is None else max(end, change.end)


def _summary(change: ConfigChange) -> str:
    return "; ".join(
        f"{name}: {old!r} -> {new!r}" for name, (old, new) in audit.changed_fields(change).items()
    )


class VersionFilter(admin.SimpleListFilter):
    """Versions in force (or starting later) by default; the ended ones on request."""

    title = "version"
    parameter_name = "version"

    def lookups(self, request, model_admin):
        return [("current", "Current"), ("ended", "Ended"), ("all", "All versions")]

    def choices(self, changelist):
        for value, label in self.lookup_choices:
            yield {
                "selected": (self.value() or "current") == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        chosen = self.value() or "current"
        if chosen == "current":
            return queryset.filter(effective_to__isnull=True)
        if chosen == "ended":
            return queryset.filter(effective_to__isnull=False)
        return queryset


class RecomputesAttribution(admin.ModelAdmin):
    """An admin whose saves and deletes change how cost is split. Each change takes effect from
    a date (the form's "Effective from"; costapp.attribution.versions) and is recorded in the
    audit trail; once it commits, the open hours it can move are recomputed, once per request
    however many rows it touched."""

    form = EffectiveDateForm
    change_form_template = "admin/attribution/versioned_change_form.html"

    def _recompute_after_commit(self, request: HttpRequest, change: versions.Change) -> None:
        window = getattr(request, "_ledger_recompute", None)
        if window is not None:
            _merge(window, change)
            return
        window = request._ledger_recompute = [change.start, change.end]

        def enqueue() -> None:
            from .tasks import recompute_from

            start, end = window
            recompute_from.delay(
                start.isoformat() if start else None, end.isoformat() if end else None
            )
            since = f"from {start:%Y-%m-%d %H:%M} UTC" if start else "for every hour"
            until = f" to {end:%Y-%m-%d %H:%M} UTC" if end else ""
            self.message_user(
                request,
                f"Attribution is being recomputed {since}{until} with this change;"
                " closed months never change.",
                messages.INFO,
            )

        transaction.on_commit(enqueue)

    @staticmethod
    def _effective_from(form) -> datetime | None:
        return form.effective_from() if isinstance(form, EffectiveDateForm) else None

    def _record(
        self, request, action: str, obj, old: dict | None, effective: datetime | None
    ) -> None:
        entry = audit.record(action, obj, by=request.user.get_username(), old=old)
        ConfigChange.objects.filter(pk=entry.pk).update(effective_from=effective)

    def save_model(self, request, obj, form, change) -> None:
        old = audit.snapshot(type(obj).objects.get(pk=obj.pk)) if change and obj.pk else None
        saved = versions.save(obj, self._effective_from(form))
        self._record(request, "change" if change else "add", saved.obj, old, saved.start)
        self._recompute_after_commit(request, saved)

    def delete_model(self, request, obj) -> None:
        entry = audit.record("delete", obj, by=request.user.get_username(), old=audit.snapshot(obj))
        done = versions.delete(obj)
        ConfigChange.objects.filter(pk=entry.pk).update(effective_from=done.start)
        self._recompute_after_commit(request, done)

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if obj is not None:
            chain = versions.versions(obj) if isinstance(obj, EffectiveDated) else [obj]
            context["versions"] = chain if isinstance(obj, EffectiveDated) else None
            entries = ConfigChange.objects.filter(
                model=obj._meta.label, object_id__in=[str(v.pk) for v in chain]
            )[:50]
            context["config_changes"] = [(entry, _summary(entry)) for entry in entries]
        return super().change_view(request, object_id, form_url, context)


@admin.register(AttributionPolicy)
class AttributionPolicyAdmin(RecomputesAttribution):
    list_display = [
        "idle_policy", "output_token_weight", "derive_output_weight", "effective_from",
        "effective_to",
    ]  # fmt: skip
    list_filter = [VersionFilter]
    readonly_fields = ["effective_from", "effective_to", "supersedes"]

    def has_add_permission(self, request) -> bool:
        # One policy: a new version is an edit taking effect from a date.
        return super().has_add_permission(request) and not AttributionPolicy.objects.exists()


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
    change_form_template = "admin/attribution/costrule/change_form.html"
    list_display = [
        "priority", "name", "tag_key", "tag_value", "action", "team", "enabled",
        "effective_from", "effective_to",
    ]  # fmt: skip
    list_filter = [VersionFilter, "enabled", "action"]
    readonly_fields = ["effective_from", "effective_to", "supersedes"]
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
        preview = preview_rules(edited=edited, effective_from=form.effective_from())
        return self._render_preview(request, preview, edited=edited)

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


# The GPU inventory and telemetry mappings are versions like the cost rules: an edit from a date
# closes the version in force and adds one from that date (docs/ARCHITECTURE.md,
# "Effective-dated configuration"). A pool is a name, saved as is.
@admin.register(GpuPool)
class GpuPoolAdmin(RecomputesAttribution):
    list_display = ["name", "provider", "region"]
    search_fields = ["name"]


@admin.register(GpuResource)
class GpuResourceAdmin(RecomputesAttribution):
    form = GpuResourceForm
    change_form_template = "admin/attribution/gpuresource/change_form.html"
    list_display = [
        "resource_id", "instance_type", "gpu_type", "gpu_count", "region", "pool",
        "effective_from", "effective_to",
    ]  # fmt: skip
    list_filter = [VersionFilter, "provider", "gpu_type", "pool"]
    search_fields = ["resource_id", "instance_type"]
    readonly_fields = ["effective_from", "effective_to", "supersedes"]

    def get_readonly_fields(self, request, obj=None):
        # The resource_id names the chain of versions and the mappings on it.
        fixed = ["resource_id"] if obj is not None else []
        return [*fixed, *super().get_readonly_fields(request, obj)]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if obj is not None:
            # Mappings name the resource, not this version: every one on it, current first.
            context["mappings"] = GpuMapping.objects.filter(resource_id=obj.resource_id).order_by(
                models.F("effective_to").desc(nulls_first=True), "priority", "id"
            )
        return super().change_view(request, object_id, form_url, context)


@admin.register(GpuMapping)
class GpuMappingAdmin(RecomputesAttribution):
    """A GPU UUID, hostname or pod/node label -> the billed resource it runs on."""

    form = GpuMappingForm
    list_display = [
        "priority", "match_on", "label_key", "value", "resource_id", "effective_from",
        "effective_to",
    ]  # fmt: skip
    list_filter = [VersionFilter, "match_on"]
    search_fields = ["value", "resource_id"]
    readonly_fields = ["effective_from", "effective_to", "supersedes"]


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdmin):
    list_display = ["hour", "resource_id", "kind", "team", "model", "endpoint", "amortized_cost"]
    list_filter = ["kind", "rule"]
    search_fields = ["team", "resource_id"]


@admin.register(ConfigChange)
class ConfigChangeAdmin(ReadOnlyAdmin):
    list_display = [
        "at",
        "by",
        "action",
        "model",
        "object_repr",
        "effective_from",
        "fields_changed",
    ]
    list_filter = ["model", "action"]
    search_fields = ["object_repr", "by", "object_id"]

    @admin.display(description="old -> new")
    def fields_changed(self, change: ConfigChange) -> str:
        return _summary(change)


@admin.register(PeriodEvent)
class PeriodEventAdmin(ReadOnlyAdmin):
    list_display = ["month", "action", "at", "by", "reason"]
    list_filter = ["action"]
