"""The cost rule form: a rule's team is chosen from the teams that exist, never typed.

The engine writes a rule's `team` into Allocation.team, which the access rule matches against
Team.slug (costapp.core.access), so the choice's value is the slug and its label the name. A
rule saved before this form (free text) keeps its value, marked, until someone picks a team.
"""

from __future__ import annotations

from django import forms

from costapp.core import limits
from costapp.core.models import Team

from . import versions

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


class CostRuleForm(EffectiveDateForm):
    """The admin's base form for CostRule (the admin supplies the model and its fields)."""

    team = forms.ChoiceField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = team_choices(self.instance.team if self.instance else "")
        self.fields["team"].help_text = "Add teams under Teams and access → Teams."
