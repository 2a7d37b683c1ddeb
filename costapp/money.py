"""Money: one quantum, one field type, one exact split, and how a currency is written.

Costs keep the provider's precision (CUR and FOCUS carry up to 10 decimals), so every amount
is stored as NUMERIC(28, 10) and only rounded for display. Amounts carry their FOCUS
BillingCurrency; nothing converts between currencies, so sums are taken per currency.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal

from django.db import models

DECIMAL_PLACES = 10
MAX_DIGITS = 28
QUANTUM = Decimal(1).scaleb(-DECIMAL_PLACES)  # 1E-10, the stored quantum
ZERO = Decimal(0)
# What a page shows before any data says otherwise (and what the display filters assume).
DEFAULT_CURRENCY = "USD"
# Signs readers know; any other ISO 4217 code is written after the amount ("12.00 CHF").
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def MoneyField(**kwargs) -> models.DecimalField:
    kwargs.setdefault("default", ZERO)
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


def affixes(currency: str) -> tuple[str, str]:
    """What goes before and after an amount in `currency`: ("$", "") or ("", " CHF")."""
    symbol = SYMBOLS.get(currency)
    return (symbol, "") if symbol else ("", f" {currency}")


def written_in(text: str, currency: str) -> str:
    """An amount already formatted ("-12.34", or a chart's "%{y:,.2f}") written in `currency`,
    the sign first: "-$12.34", "-12.34 CHF", "$%{y:,.2f}"."""
    prefix, suffix = affixes(currency or DEFAULT_CURRENCY)
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    return f"{sign}{prefix}{digits}{suffix}"


def quantize(amount: Decimal) -> Decimal:
    return amount.quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


def split(
    total: Decimal, weights: Sequence[Decimal | int], quantum: Decimal = QUANTUM
) -> list[Decimal]:
    """Split `total` in proportion to `weights`, exactly, at `quantum`.

    Largest-remainder (Hamilton) method: floor every share to the quantum, then hand the
    leftover quanta one each to the largest remainders (ties to the earlier weight). The parts
    always sum to `total` (which must already be a multiple of `quantum`). Works for negative
    totals (credits) by splitting the magnitude. All-zero weights raise ValueError: the caller
    must decide where such money goes.
    """
    if not weights:
        raise ValueError("cannot split over no weights")
    if any(Decimal(w) < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    weight_sum = sum(Decimal(w) for w in weights)
    if weight_sum == 0:
        raise ValueError("cannot split over all-zero weights")
    if total < 0:
        return [-part for part in split(-total, weights, quantum)]
    units = int((total / quantum).to_integral_value())
    if Decimal(units) * quantum != total:
        raise ValueError(f"{total} is not a multiple of the quantum {quantum}")
    # Integer arithmetic on units avoids any rounding in the shares themselves.
    scaled = [Decimal(w) * units for w in weights]
    floors = [int(s // weight_sum) for s in scaled]
    remainders = [s - f * weight_sum for s, f in zip(scaled, floors, strict=True)]
    leftover = units - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        floors[i] += 1
    return [Decimal(f) * quantum for f in floors]
