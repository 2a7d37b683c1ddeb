"""Which budgets and alerts a user may see: finance every one; anyone else the budgets scoped
to one of their own teams (an org, model, endpoint, pool or provider budget is whole-company)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from costapp.core.access import is_finance, visible_teams

from .models import Alert, Budget, Delivery, ScopeKind


def visible_budgets(user) -> QuerySet[Budget]:
    budgets = Budget.objects.prefetch_related("channels")
    if is_finance(user):
        return budgets
    teams = visible_teams(user).values("slug")
    return budgets.filter(scope_kind=ScopeKind.TEAM, scope_value__in=teams)


def visible_alerts(user) -> QuerySet[Alert]:
    deliveries = Delivery.objects.select_related("channel").order_by("id")
    return (
        Alert.objects.filter(budget__in=visible_budgets(user).values("pk"))
        .select_related("budget")
        .prefetch_related(Prefetch("deliveries", queryset=deliveries))
    )
