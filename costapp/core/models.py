"""Teams, memberships and roles: who exists, and who may see whose costs."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Team(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    # Monthly budget and alert wiring belong to costapp.alerts; the team is the anchor.
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    FINANCE = "finance", "Finance (whole company)"
    LEAD = "lead", "Team lead"
    MEMBER = "member", "Team member"


class OrgRole(models.Model):
    """An organisation-wide role: finance sees every team."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="org_role"
    )
    role = models.CharField(max_length=20, choices=[(Role.FINANCE, Role.FINANCE.label)])

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(
        max_length=20,
        choices=[(Role.LEAD, Role.LEAD.label), (Role.MEMBER, Role.MEMBER.label)],
        default=Role.MEMBER,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="membership_unique_user_team")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"
