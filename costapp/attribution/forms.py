"""The cost rule form: a rule's team is chosen from the teams that exist, never typed.

The engine writes a rule's `team` into Allocation.team, which the access rule matches against
Team.slug (costapp.core.access), so the choice's value is the slug and its label the name. A
rule saved before this form (free text) keeps its value, marked, until someone picks a team.
"""

from __future__ import annotations

from django import forms

from costapp.core.models import Team

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


class CostRuleForm(forms.ModelForm):
    """The admin's base form for CostRule (the admin supplies the model and its fields)."""

    team = forms.ChoiceField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = team_choices(self.instance.team if self.instance else "")
        self.fields["team"].help_text = "Add teams under Teams and access → Teams."
