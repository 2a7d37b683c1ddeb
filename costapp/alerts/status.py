"""Where a budget stands now, for its pages: spent so far in the current period, the forecast
to the period's end, and the positions of those and of each threshold on a bar.

The numbers are the evaluation's own (costapp.alerts.evaluate.budget_forecast), so finance's
page never shows a figure the alerts would not have fired on. A team lead's are computed the
same way with their teams as `viewer` (`Scope.viewer`): the idle share of every pool-hour shared
with exactly one other team is left out of the spent, the forecast, the chart and the amounts
of the alerts they are shown, as on every page a lead gets (docs/ARCHITECTURE.md, "Budgets and
alerts"). Percentages for drawing are rounded here, for pixels only; amounts stay Decimal.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from django.utils import timezone

from costapp.money import ZERO

from .evaluate import budget_forecast
from .forecast import WINDOW_DAYS, Forecast
from .models import Alert, Budget
from .spend import daily_spend, period_bounds, top_drivers, withheld_pool_hours

HUNDRED = Decimal(100)
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Mark:
    """A threshold on the bar: its percent of the budget, where it sits, whether it is passed."""

    threshold: int
    amount: Decimal
    at: Decimal  # percent of the bar's width
    reached: bool
    forecast_reached: bool


@dataclass(frozen=True)
class BudgetStatus:
    budget: Budget
    now: datetime
    start: date
    end: date  # exclusive
    spent: Decimal
    forecast: Forecast | None
    # Pool-hours whose idle share is left out of these figures (a lead's; 0 for finance).
    withheld: int = 0

    @property
    def percent_spent(self) -> Decimal:
        return self.spent * HUNDRED / self.budget.amount

    @property
    def percent_forecast(self) -> Decimal | None:
        if self.forecast is None:
            return None
        return self.forecast.point * HUNDRED / self.budget.amount

    @property
    def state(self) -> str:
        """over (spent beyond the amount), risk (forecast beyond it) or ok."""
        if self.spent >= self.budget.amount:
            return "over"
        if self.forecast is not None and self.forecast.point >= self.budget.amount:
            return "risk"
        return "ok"

    @property
    def scale(self) -> Decimal:
        """The amount at the bar's right end: whatever is largest of the budget, its highest
        threshold, the spend and the forecast band's top, so every mark fits."""
        candidates = [self.budget.amount, self.spent]
        candidates += [self.budget.amount * t / HUNDRED for t in self.budget.thresholds]
        if self.forecast is not None:
            candidates.append(self.forecast.high)
        return max(max(candidates), Decimal("0.01"))

    def at(self, amount: Decimal) -> Decimal:
        """`amount` as a percent of the bar's width, to a tenth."""
        share = max(amount, ZERO) * HUNDRED / self.scale
        return min(share, HUNDRED).quantize(TENTH, rounding=ROUND_HALF_EVEN)

    @property
    def bar_spent(self) -> Decimal:
        return self.at(self.spent)

    @property
    def bar_budget(self) -> Decimal:
        return self.at(self.budget.amount)

    @property
    def bar_band(self) -> tuple[Decimal, Decimal, Decimal] | None:
        """Where the forecast band starts, its width and where its point sits."""
        if self.forecast is None:
            return None
        low, high = self.at(self.forecast.low), self.at(self.forecast.high)
        return low, max(high - low, TENTH), self.at(self.forecast.point)

    @property
    def marks(self) -> list[Mark]:
        result = []
        for threshold in sorted(set(self.budget.thresholds)):
            amount = self.budget.amount * threshold / HUNDRED
            ahead = self.forecast is not None and self.forecast.point >= amount
            result.append(Mark(threshold, amount, self.at(amount), self.spent >= amount, ahead))
        return result


def budget_status(
    budget: Budget, now: datetime | None = None, viewer: Collection[str] | None = None
) -> BudgetStatus:
    """Where `budget` stands at `now`, as `viewer` may see it (None: finance)."""
    now = now or timezone.now()
    spent, predicted, (start, end) = budget_forecast(budget, now, viewer)
    withheld = 0
    if viewer is not None:
        # Every day the figures read: the period's, and the forecast's window before it.
        since = min(start, now.date() - timedelta(days=WINDOW_DAYS)) if budget.forecast else start
        withheld = withheld_pool_hours(budget, since, now, viewer)
    return BudgetStatus(budget, now, start, end, spent, predicted, withheld)


@dataclass(frozen=True)
class AlertFigures:
    """The amounts an alert shows a reader."""

    spent: Decimal
    forecast: Decimal | None
    forecast_low: Decimal | None
    forecast_high: Decimal | None
    drivers: list[dict[str, str]] = field(default_factory=list)
    withheld: int = 0  # pool-hours left out of them (a lead's; 0 for finance)


def alert_figures(
    alert: Alert, viewer: Collection[str] | None, drivers: bool = False
) -> AlertFigures:
    """What a budget alert says its spent, forecast and drivers were.

    Finance (`viewer` None) gets what the evaluation recorded. The alert fired on those full
    figures, which for a lead include idle shares withheld from them, so a lead gets the same
    figures recomputed as of the moment it fired with the withheld shares left out (from the
    allocations as they are now): the threshold it crossed, never the raw amount beside it.
    `drivers` computes the top drivers too (the API shows them; the page does not)."""
    if viewer is None:
        return AlertFigures(
            alert.spent, alert.forecast, alert.forecast_low, alert.forecast_high, alert.drivers
        )
    budget, moment = alert.budget, alert.fired_at
    if period_bounds(budget.period, moment) == (alert.period_start, alert.period_end):
        status = budget_status(budget, moment, viewer)
        spent, predicted, withheld = status.spent, status.forecast, status.withheld
    else:  # the budget's period was changed since: no forecast of a period it no longer has
        spent = daily_spend(budget, alert.period_start, moment, viewer).total()
        predicted = None
        withheld = withheld_pool_hours(budget, alert.period_start, moment, viewer)
    if alert.forecast is None:
        predicted = None  # the alert had none (forecast off then, or too little data)
    top = []
    if drivers:
        found = top_drivers(budget, alert.period_start, moment, viewer=viewer)
        top = [{"name": d.name, "amount": str(d.amount)} for d in found]
    return AlertFigures(
        spent,
        getattr(predicted, "point", None),
        getattr(predicted, "low", None),
        getattr(predicted, "high", None),
        top,
        withheld,
    )
