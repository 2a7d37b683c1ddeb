"""The one place that answers "may this user see that team's costs"."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import OrgRole, Role, Team


def is_finance(user) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return OrgRole.objects.filter(user=user, role=Role.FINANCE).exists()


def visible_teams(user) -> QuerySet[Team]:
    """Finance and superusers see every team; everyone else only the teams they belong to."""
    if is_finance(user):
        return Team.objects.all()
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user).distinct()


def sees_whole_company(user) -> bool:
    """Whole-company figures (idle, unallocated, other teams) are for finance only."""
    return is_finance(user)


def total_reveals_one_team(other_teams: int) -> bool:
    """Whether a total is one other team's figure in disguise.

    A total over a resource-hour (its cost, idle, busy, weight total, utilization), minus the
    reader's own figures, leaves the sum of the other teams on it. With no other team that is
    company overhead (idle, unallocated); with two or more it is a sum no single team can be
    read from; with exactly one it *is* that team's cost, tokens or GPU time. Readers who are
    not finance are shown a total only when this is False (docs/ARCHITECTURE.md, "What a team
    lead may see").
    """
    return other_teams == 1
