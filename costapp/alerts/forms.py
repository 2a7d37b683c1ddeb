"""The HTML forms of the budget and channel pages. They only reshape what was posted into the
services' API-shaped input (costapp.alerts.services validates it, once, for pages and the API)
and put each error the service names back on the field that holds it."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from .models import Basis, Budget, Channel, ChannelKind, Idle, Period, ScopeKind

MAX_THRESHOLDS_TEXT = 200


class ServiceForm(forms.Form):
    """A form whose errors come back from a service's ValidationError."""

    # Where each error key of the service shows: "thresholds[1]" is the thresholds field,
    # "scope.team" the scope value; anything else unknown becomes a form-wide error.
    service_fields: dict[str, str] = {}

    def add_service_errors(self, error: ValidationError) -> None:
        messages = getattr(error, "message_dict", None) or {None: error.messages}
        for key, texts in messages.items():
            field = None
            if key is not None:
                base = key.split("[", 1)[0].split(".", 1)[0]
                field = self.service_fields.get(base, base)
                if field not in self.fields:
                    field = None
            for text in texts:
                label = key if key and field and key != field else None
                self.add_error(field, f"{label}: {text}" if label else text)


def _choices(kind) -> list[tuple[str, str]]:
    return [(c.value, c.label) for c in kind]


class BudgetForm(ServiceForm):
    service_fields = {"scope": "scope_value"}

    name = forms.CharField(max_length=200)
    scope_kind = forms.ChoiceField(label="Scope", choices=_choices(ScopeKind), initial="org")
    scope_value = forms.CharField(
        label="Team, model, endpoint, pool or provider",
        required=False,
        max_length=200,
        help_text="Empty for the whole organisation.",
        widget=forms.TextInput(attrs={"list": "scope-values"}),
    )
    period = forms.ChoiceField(choices=_choices(Period), initial="month")
    amount = forms.CharField(max_length=40, help_text="A decimal number, e.g. 1000.00")
    currency = forms.CharField(max_length=3, initial="USD")
    basis = forms.ChoiceField(choices=_choices(Basis), initial="amortized")
    idle = forms.ChoiceField(label="Idle", choices=_choices(Idle), initial="fully_loaded")
    thresholds = forms.CharField(
        max_length=MAX_THRESHOLDS_TEXT,
        initial="50, 80, 100",
        help_text="Percent of the amount, separated by commas.",
    )
    forecast = forms.BooleanField(label="Also alert on the forecast", required=False, initial=True)
    channels = forms.ModelMultipleChoiceField(
        queryset=Channel.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def clean_thresholds(self) -> list[int]:
        """Whole numbers; the service checks their range and count."""
        values = []
        for index, item in enumerate(self.cleaned_data["thresholds"].split(",")):
            item = item.strip().rstrip("%").strip()
            if not item.isdigit() or not item.isascii():
                raise ValidationError(
                    f"item {index + 1} ({item[:20]!r}) is not a whole number of percent "
                    "(expected e.g. 50, 80, 100)"
                )
            values.append(int(item))
        return values

    def service_input(self) -> dict:
        """The cleaned form in create_budget's / update_budget's shape."""
        data = self.cleaned_data
        scope = (
            {} if data["scope_kind"] == ScopeKind.ORG else {data["scope_kind"]: data["scope_value"]}
        )
        return {
            "name": data["name"],
            "scope": scope,
            "period": data["period"],
            "amount": data["amount"].strip(),
            "currency": data["currency"].strip(),
            "basis": data["basis"],
            "idle": data["idle"],
            "thresholds": data["thresholds"],
            "forecast": data["forecast"],
            "channels": [channel.pk for channel in data["channels"]],
        }

    @classmethod
    def initial_for(cls, budget: Budget) -> dict:
        return {
            "name": budget.name,
            "scope_kind": budget.scope_kind,
            "scope_value": budget.scope_value,
            "period": budget.period,
            "amount": f"{budget.amount.normalize():f}",
            "currency": budget.currency,
            "basis": budget.basis,
            "idle": budget.idle,
            "thresholds": ", ".join(str(t) for t in budget.thresholds),
            "forecast": budget.forecast,
            "channels": list(budget.channels.all()),
        }


class ChannelForm(ServiceForm):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=_choices(ChannelKind))
    # A password input: the target is a secret and is never written back into a page.
    target = forms.CharField(
        max_length=2000,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Email addresses separated by commas, or the Slack / webhook URL.",
    )
    secret = forms.CharField(
        label="Signing secret",
        required=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Webhook only: the HMAC key (a random one when left empty).",
    )


class TargetForm(ServiceForm):
    target = forms.CharField(
        label="New target",
        max_length=2000,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )


SNOOZE_CHOICES = [("1", "1 hour"), ("24", "1 day"), ("168", "1 week")]


class SnoozeForm(forms.Form):
    hours = forms.TypedChoiceField(choices=SNOOZE_CHOICES, coerce=int)
