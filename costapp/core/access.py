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
