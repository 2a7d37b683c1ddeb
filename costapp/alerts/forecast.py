"""Forecast of a budget period's spend at its end, with a band, from daily spend.

Method (docs/ARCHITECTURE.md, "Budgets and alerts"): take the last WINDOW_DAYS complete UTC days
before today (zero-filled from the first day with any spend; fewer when the data is younger,
at least MIN_DAYS), their mean m and sample standard deviation s. With R the days left in the
period (today's unfinished day counted as a fraction of a day left):

    point = spent so far + m x R
    band  = point -/+ K x s x sqrt(R)     (the low end never below what is already spent)

i.e. a linear extrapolation of the cumulative spend at the recent daily rate, and a band that
treats days as independent draws around it. All arithmetic is Decimal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from costapp.money import ZERO, quantize

WINDOW_DAYS = 14
MIN_DAYS = 3
K = Decimal(2)


@dataclass(frozen=True)
class Forecast:
    point: Decimal
    low: Decimal
    high: Decimal
    mean_daily: Decimal
    std_daily: Decimal
    days_used: int


def mean_and_std(values: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """Mean and sample standard deviation (n - 1); the deviation of one value is zero."""
    n = len(values)
    mean = sum(values, ZERO) / n
    if n < 2:
        return mean, ZERO
    variance = sum(((v - mean) ** 2 for v in values), ZERO) / (n - 1)
    return mean, variance.sqrt()


def forecast(
    daily: Sequence[Decimal], spent: Decimal, days_left: Decimal, window: int = WINDOW_DAYS
) -> Forecast | None:
    """The forecast at the period's end from the complete days `daily` (oldest first), or None
    with fewer than MIN_DAYS of them."""
    recent = list(daily)[-window:]
    if len(recent) < MIN_DAYS:
        return None
    days_left = max(days_left, ZERO)
    mean, std = mean_and_std(recent)
    point = spent + mean * days_left
    spread = K * std * days_left.sqrt()
    return Forecast(
        point=quantize(point),
        low=quantize(max(point - spread, spent)),
        high=quantize(point + spread),
        mean_daily=quantize(mean),
        std_daily=quantize(std),
        days_used=len(recent),
    )
