"""Admin for sources (credentials by environment variable name only) and ingestion runs."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from costapp.core.admin import ReadOnlyAdmin
from costapp.ingest.formats import FORMATS
from costapp.ingest.models import IngestionRun

from . import bigquery, exporter, prometheus, provider_api, push
from .credentials import invalid_names
from .models import GpuPrice, Source
from .push import issue_token

# Kinds whose deliveries have one shape whatever is chosen: a mismatch could only fail every
# poll, so the form refuses it. Folders and S3 prefixes hold any format.
FORMAT_OF_KIND = {
    Source.Location.BIGQUERY: bigquery.FORMAT,
    Source.Location.PROMETHEUS: prometheus.FORMAT,
    Source.Location.EXPORTER: exporter.FORMAT,
    Source.Location.PUSH: push.FORMAT,
}


class SourceForm(forms.ModelForm):
    format = forms.ChoiceField(choices=[(name, name) for name in sorted(FORMATS)])

    class Meta:
        model = Source
        fields = [
            "name",
            "format",
            "location_kind",
            "location",
            "credentials_ref",
            "options",
            "schedule_minutes",
            "enabled",
        ]
        help_texts = {
            "credentials_ref": 'Names of environment variables, e.g. {"aws_access_key_id": '
            '"AWS_KEY_BILLING", "aws_secret_access_key": "AWS_SECRET_BILLING"}. Never the values.',
        }

    def clean_credentials_ref(self):
        refs = self.cleaned_data["credentials_ref"] or {}
        problems = invalid_names(refs)
        if problems:
            raise forms.ValidationError(problems)
        return refs

    def clean(self):
        cleaned = super().clean()
        kind, fmt = cleaned.get("location_kind"), cleaned.get("format")
        required = FORMAT_OF_KIND.get(kind)
        if required and fmt and fmt != required:
            label = Source.Location(kind).label
            self.add_error("format", f"a source of kind {label!r} delivers {required!r}")
        if kind == Source.Location.API and fmt and fmt not in provider_api.FORMATS:
            known = " or ".join(provider_api.FORMATS)
            self.add_error("format", f"a provider API source delivers {known}")
        return cleaned


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    form = SourceForm
    list_display = [
        "name",
        "format",
        "location_kind",
        "location",
        "schedule_minutes",
        "enabled",
        "last_polled_at",
        "has_token",
    ]
    list_filter = ["location_kind", "format", "enabled"]
    search_fields = ["name", "location"]
    actions = ["run_now", "issue_push_token"]

    @admin.display(boolean=True, description="push token")
    def has_token(self, source: Source) -> bool:
        return bool(source.api_token_hash)

    @admin.action(description="Run now (enqueue an ingestion)")
    def run_now(self, request, queryset) -> None:
        from costapp.sources.tasks import ingest_source

        for source in queryset:
            ingest_source.delay(source.pk)
        self.message_user(request, f"Enqueued {queryset.count()} source(s).")

    @admin.action(description="Issue a new push API token (shown once)")
    def issue_push_token(self, request, queryset) -> TemplateResponse:
        # Only the sha256 is stored, so this page is the one time the token exists in clear. It
        # is the response body alone: a `messages` message would carry it in a cookie (or the
        # session), readable long after, so none is used.
        issued = [(source, issue_token(source)) for source in queryset.order_by("name")]
        response = TemplateResponse(
            request,
            "admin/sources/token.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "New push API token" + ("s" if len(issued) > 1 else ""),
                "issued": issued,
            },
        )
        add_never_cache_headers(response)
        return response


# A run is the record of what was stored; its rows go with it, so nobody edits or deletes it.
@admin.register(IngestionRun)
class IngestionRunAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "source",
        "format",
        "location",
        "status",
        "files",
        "rows_read",
        "rows_stored",
        "rows_rejected",
        "bytes_read",
        "duration_ms",
        "error",
        "warning_count",
    ]
    list_filter = ["status", "format", "source"]
    search_fields = ["location", "error"]
    date_hierarchy = "started_at"

    @admin.display(description="warnings")
    def warning_count(self, run: IngestionRun) -> int:
        return len(run.warnings)


@admin.register(GpuPrice)
class GpuPriceAdmin(admin.ModelAdmin):
    list_display = [
        "description",
        "region",
        "usage_type",
        "unit_price",
        "currency",
        "unit",
        "fetched_at",
    ]
    list_filter = ["provider", "usage_type", "region"]
    search_fields = ["description", "sku_id"]
