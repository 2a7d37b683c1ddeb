"""Evaluate budgets: compare spend and forecast with each threshold, fire each crossing once,
clear what is no longer crossed, and write the outbox rows of the message to send.

Once: an alert is claimed by INSERT ... ON CONFLICT DO NOTHING against a partial unique index
over (budget, scope, period start, threshold, kind) of the alerts not cleared. Two workers
evaluating at once both try; the second waits on the index until the first commits and then
inserts nothing, so only the first writes deliveries. The alert and its deliveries commit in
one transaction, so a message is never lost between them.

Re-arming: a new period is a new key. An active alert whose value has fallen below
CLEAR_BELOW of its threshold (a raised budget, a restated bill, a lower forecast) is cleared,
and the threshold fires again when crossed again; the 5 % margin keeps a value wobbling around
a threshold from firing on every evaluation.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from .findings import RuleEvaluation
from .forecast import WINDOW_DAYS, Forecast, forecast
from .models import Alert, AlertKind, Budget
from .outbox import announce
from .rules import evaluate_rules
from .spend import daily_spend, midnight, period_bounds, top_drivers

logger = logging.getLogger(__name__)

CLEAR_BELOW = Decimal("0.95")
DAY_SECONDS = Decimal(86400)

_CLAIM = """
INSERT INTO alerts_alert (budget_id, scope, period_start, period_end, threshold, kind, fired_at,
    budget_amount, currency, spent, forecast, forecast_low, forecast_high, drivers, suppressed)
VALUES (%(budget)s, %(scope)s, %(period_start)s, %(period_end)s, %(threshold)s, %(kind)s,
    %(now)s, %(amount)s, %(currency)s, %(spent)s, %(forecast)s, %(low)s, %(high)s,
    %(drivers)s::jsonb, '')
ON CONFLICT DO NOTHING
RETURNING id"""


@dataclass
class Evaluation:
    budget: Budget
    period_start: object
    spent: Decimal
    forecast: Forecast | None
    crossed: list[tuple[int, str]] = field(default_factory=list)
    fired: list[Alert] = field(default_factory=list)
    cleared: int = 0
    deliveries: int = 0


def evaluate_all(now: datetime | None = None) -> list[Evaluation | RuleEvaluation]:
    """Evaluate every budget, then every enabled alert rule (costapp.alerts.rules); one that
    fails is logged and the others go on."""
    results: list[Evaluation | RuleEvaluation] = []
    for budget in Budget.objects.prefetch_related("channels").order_by("id"):
        try:
            results.append(evaluate_budget(budget, now))
        except Exception:
            logger.exception("evaluating budget %s failed", budget.pk)
    results.extend(evaluate_rules(now))
    return results


def budget_forecast(
    budget: Budget, now: datetime, viewer: Collection[str] | None = None
) -> tuple[Decimal, Forecast | None, tuple]:
    """Spent so far in the period holding `now`, its forecast (None when off or too little
    data) and the period's bounds; evaluation reads finance's figures, a lead's page passes
    `viewer` (costapp.alerts.spend)."""
    start, end = period_bounds(budget.period, now)
    today = now.date()
    history = daily_spend(budget, min(start, today - timedelta(days=WINDOW_DAYS)), now, viewer)
    spent = history.total(since=start)
    predicted = None
    if budget.forecast and history.first_day is not None:
        since = max(history.first_day, today - timedelta(days=WINDOW_DAYS))
        days_left = Decimal(str((midnight(end) - now).total_seconds())) / DAY_SECONDS
        predicted = forecast(history.series(since, today), spent, days_left)
    return spent, predicted, (start, end)


def _crossed(budget: Budget, spent: Decimal, predicted: Forecast | None) -> list[tuple[int, str]]:
    if budget.amount <= 0:
        return []
    thresholds = sorted(set(budget.thresholds))
    actual = [t for t in thresholds if spent * 100 >= budget.amount * t]
    ahead = []
    if predicted is not None:
        # A threshold actual spend has reached says all a forecast of it would.
        ahead = [
            t for t in thresholds if t not in actual and predicted.point * 100 >= budget.amount * t
        ]
    return [(t, AlertKind.ACTUAL) for t in actual] + [(t, AlertKind.FORECAST) for t in ahead]


def _clear(budget: Budget, start, spent: Decimal, predicted: Forecast | None, now) -> int:
    cleared = 0
    active = Alert.objects.filter(budget=budget, period_start=start, cleared_at__isnull=True)
    for alert in active.only("id", "threshold", "kind"):
        value = spent if alert.kind == AlertKind.ACTUAL else getattr(predicted, "point", None)
        if value is None:
            continue  # forecast off or too little data: keep what fired
        if value * 100 < budget.amount * alert.threshold * CLEAR_BELOW:
            cleared += Alert.objects.filter(pk=alert.pk, cleared_at__isnull=True).update(
                cleared_at=now
            )
    return cleared


def evaluate_budget(budget: Budget, now: datetime | None = None) -> Evaluation:
    now = now or timezone.now()
    spent, predicted, (start, end) = budget_forecast(budget, now)
    result = Evaluation(budget, start, spent, predicted, _crossed(budget, spent, predicted))
    with transaction.atomic():
        result.cleared = _clear(budget, start, spent, predicted, now)
        active = set(
            Alert.objects.filter(
                budget=budget, scope=budget.scope_label, period_start=start, cleared_at__isnull=True
            ).values_list("threshold", "kind")
        )
        candidates = [c for c in result.crossed if c not in active]
        if not candidates:
            return result
        drivers = [
            {"name": d.name, "amount": str(d.amount)} for d in top_drivers(budget, start, now)
        ]
        ids = []
        with connection.cursor() as cursor:
            for threshold, kind in candidates:
                cursor.execute(
                    _CLAIM,
                    {
                        "budget": budget.pk,
                        "scope": budget.scope_label,
                        "period_start": start,
                        "period_end": end,
                        "threshold": threshold,
                        "kind": str(kind),
                        "now": now,
                        "amount": budget.amount,
                        "currency": budget.currency,
                        "spent": spent,
                        "forecast": getattr(predicted, "point", None),
                        "low": getattr(predicted, "low", None),
                        "high": getattr(predicted, "high", None),
                        "drivers": json.dumps(drivers),
                    },
                )
                ids.extend(row[0] for row in cursor.fetchall())
        result.fired = list(Alert.objects.filter(pk__in=ids))
        if result.fired:
            result.deliveries = _announce(budget, result.fired, now)
    return result


def _announce(budget: Budget, fired: list[Alert], now: datetime) -> int:
    """One message for what one evaluation fired: the highest threshold leads (actual before
    forecast at the same threshold), the others are covered by it."""
    lead = max(fired, key=lambda a: (a.threshold, a.kind == AlertKind.ACTUAL))
    owned = Alert.objects.filter(budget=budget)
    return announce(lead, fired, owned, list(budget.channels.all()), now)
