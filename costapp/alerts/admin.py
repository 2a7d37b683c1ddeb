"""Admin for alert rules (unit cost, idle capacity, anomalies), so finance configures them: the
form validates through costapp.alerts.rules, the same checks as the services, and saves the
parameters completed with their defaults."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from . import rules
from .models import AlertRule

_HELP = (
    "JSON. unit_cost: ceiling (per 1M tokens) and/or max_increase_pct, window day|week, "
    "min_tokens, idle fully_loaded|busy_only, basis, currency. idle: level (percent), hours. "
    "anomaly: threshold (robust z, 3.5), floor (50), baseline_days (28), direction up|both, "
    "idle, basis, currency. Blank values take their defaults."
)


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = ["name", "kind", "scope_kind", "scope_value", "parameters", "channels", "enabled"]
        help_texts = {"parameters": _HELP}

    def clean(self) -> dict:
        data = super().clean()
        kind, scope_kind = data.get("kind"), data.get("scope_kind")
        if kind and scope_kind and scope_kind not in rules.SCOPES.get(kind, ()):
            allowed = ", ".join(rules.SCOPES.get(kind, ()))
            self.add_error("scope_kind", f"a {kind} rule is scoped to one of: {allowed}")
        if kind and "parameters" in data:
            try:
                data["parameters"] = rules.check_parameters(kind, data["parameters"] or {})
            except ValidationError as exc:
                for name, problems in exc.message_dict.items():
                    label = name.removeprefix("parameters.")
                    self.add_error("parameters", f"{label}: {'; '.join(problems)}")
        return data


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleForm
    list_display = ["name", "kind", "scope", "settings", "enabled", "updated_at"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "scope_value"]
    filter_horizontal = ["channels"]

    @admin.display(description="scope")
    def scope(self, rule: AlertRule) -> str:
        return rule.scope_label

    @admin.display(description="parameters")
    def settings(self, rule: AlertRule) -> str:
        return json.dumps(rule.parameters, sort_keys=True)
