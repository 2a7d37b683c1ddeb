"""The one place that answers "may this user see that team's costs, and whole-company totals".

Every read that pages, the JSON API, exports, budgets and what-if share takes a `Scope` from
`scope_for`, never a user: the rule is applied here once, and the reads below only filter by it.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Scope:
    """What a reader may see: every row (teams=None, finance), or the attributed rows (usage and
    shared lines) of some teams, with idle shares withheld where they would reveal one other
    team (`total_reveals_one_team`)."""

    teams: tuple[str, ...] | None
    # Finance reads every team's use, so nothing is withheld from it even in a one-team report.
    finance: bool = False

    @property
    def whole_company(self) -> bool:
        return self.teams is None

    @property
    def team_list(self) -> list[str] | None:
        """The form the attribution reads take: None for every team."""
        return None if self.teams is None else list(self.teams)

    def may_see(self, team: str) -> bool:
        return self.teams is None or team in self.teams

    def narrowed(self, team: str | None) -> Scope | None:
        """The scope of one of its teams (a report on that team alone), or None when the reader
        may not see it. Finance narrowed to a team sees that team as its lead would: no
        whole-company lines, though nothing is withheld (finance reads every team's use)."""
        if not team:
            return self
        return Scope((team,), self.finance) if self.may_see(team) else None

    @property
    def viewer(self) -> list[str] | None:
        """The reader's teams, for the idle-share rule (see total_reveals_one_team); None for
        finance, from whom nothing is withheld."""
        return None if self.finance or self.teams is None else list(self.teams)


def scope_for(user) -> Scope:
    if sees_whole_company(user):
        return Scope(teams=None, finance=True)
    return Scope(teams=tuple(visible_teams(user).values_list("slug", flat=True)))


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
