"""The cost rule form: a rule's team is chosen from the teams that exist, never typed.

The engine writes a rule's `team` into Allocation.team, which the access rule matches against
Team.slug (costapp.core.access), so the choice's value is the slug and its label the name. A
rule saved before this form (free text) keeps its value, marked, until someone picks a team.

Every configuration form takes the date its change applies from (EffectiveDateForm); the GPU
inventory's forms also keep a resource's versions from overlapping and a mapping on a resource
the inventory has.
"""

from __future__ import annotations

from django import forms

from costapp.core import limits
from costapp.core.models import Team

from . import versions
from .models import GpuResource

NO_TEAM = (
    "",
    "— none: an assign rule takes the tag's value; even / gpu_cost go to the teams using GPUs —",
)


def team_choices(current: str = "") -> list[tuple[str, str]]:
    choices = [NO_TEAM] + [
        (team.slug, f"{team.name} ({team.slug})") for team in Team.objects.order_by("name")
    ]
    if current and current not in {value for value, _ in choices}:
        choices.append((current, f"{current} (no such team)"))
    return choices


class EffectiveDateForm(forms.ModelForm):
    """A configuration form with the date its change takes effect (costapp.attribution.versions):
    hours before it keep what they were computed with; closed months never change."""

    effective_date = forms.DateField(
        required=False,
        label="Effective from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        default = versions.default_effective_from()
        everything = f"from {default:%Y-%m-%d}" if default else "since always"
        self.fields["effective_date"].help_text = (
            "The first day (UTC) this change applies; earlier hours keep the previous values."
            f" Blank: every open month ({everything}). Closed months never change."
        )

    def clean(self) -> dict:
        cleaned = super().clean()
        day = cleaned.get("effective_date")
        if day is not None:
            moment = versions.midnight(day)
            problem = limits.check_time(moment)
            if problem is None:
                try:
                    versions.effective_for(self.instance, moment)
                except versions.VersionError as exc:
                    problem = str(exc)
            if problem is not None:
                self.add_error("effective_date", problem)
        return cleaned

    def effective_from(self):
        """The datetime the change takes effect, or None for the default."""
        return versions.midnight(self.cleaned_data.get("effective_date"))


class GpuResourceForm(EffectiveDateForm):
    """A GPU resource version. A new one may not overlap a version of the same resource_id in
    force (edit that one from a date instead); an existing one keeps its resource_id (the admin
    shows it read-only), which names the chain its versions and mappings share."""

    class Meta:
        widgets = {"resource_id": forms.TextInput(attrs={"size": 60})}

    def clean(self) -> dict:
        cleaned = super().clean()
        resource_id = cleaned.get("resource_id")
        if self.instance.pk is None and resource_id and "effective_date" not in self.errors:
            start = versions.effective_for(self.instance, self.effective_from())
            other = versions.clash(self._meta.model, {"resource_id": resource_id}, start, None)
            if other is not None:
                self.add_error(
                    "resource_id",
                    f"{resource_id} already has a version in force {other.version_label}:"
                    " open it and edit it from the date the change applies",
                )
        return cleaned


class GpuMappingForm(EffectiveDateForm):
    """A telemetry mapping version: it names a billed resource by its resource_id, which must
    be in the GPU inventory (in some version)."""

    class Meta:
        widgets = {"resource_id": forms.TextInput(attrs={"size": 60})}

    def clean_resource_id(self) -> str:
        value = self.cleaned_data["resource_id"].strip()
        if not GpuResource.objects.filter(resource_id=value).exists():
            raise forms.ValidationError(f"no GPU resource {value!r} in the inventory")
        return value


class CostRuleForm(EffectiveDateForm):
    """The admin's base form for CostRule (the admin supplies the model and its fields)."""

    team = forms.ChoiceField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = team_choices(self.instance.team if self.instance else "")
        self.fields["team"].help_text = "Add teams under Teams and access → Teams."
