"""Display filters: money rounded for reading (stored amounts stay exact) in the page's currency
(`{{ amount|money:currency }}`, USD when none is given), counts, percents; and
`is_finance`, so the nav offers the finance pages to the users their views let in."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from django import template

from costapp.core.access import is_finance
from costapp.money import DEFAULT_CURRENCY, written_in

register = template.Library()
register.filter("is_finance", is_finance)
CENT = Decimal("0.01")


@register.filter
def money(amount: Decimal | None, currency: str = DEFAULT_CURRENCY) -> str:
    """$1,234.57, €1,234.57 or 1,234.57 CHF: two decimals, half-even, as finance rounds.

    Two decimals for every currency, yen included: allocations are exact shares of a bill, not
    amounts anyone paid, so a team's ¥333.33 of a ¥1,000 line is a true figure, and the rows
    of a table then add up to its total the same way in every currency.
    """
    if amount is None:
        return "—"
    return written_in(amount_2dp(amount), currency)


@register.filter
def amount_2dp(amount: Decimal | None) -> str:
    """1,234.57 with no currency sign (for amounts in any currency): two decimals, half-even."""
    if amount is None:
        return "—"
    rounded = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_EVEN)
    sign = "-" if rounded < 0 else ""  # never "-0.00" for a tiny refund
    return f"{sign}{abs(rounded):,.2f}"


@register.filter
def unit_money(amount: Decimal | None, currency: str = DEFAULT_CURRENCY) -> str:
    """A unit price: cents when it is at least a cent, else four significant digits."""
    if amount is None:
        return "—"
    amount = Decimal(amount)
    if amount == 0 or abs(amount) >= CENT:
        return money(amount, currency)
    digits = f"{abs(amount):.3e}"  # 4 significant digits, then back to plain notation
    return written_in(f"{'-' if amount < 0 else ''}{Decimal(digits):f}", currency)


@register.filter
def count(value: int | None) -> str:
    return "—" if value is None else f"{int(value):,}"


@register.filter
def percent(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return f"{Decimal(value).quantize(Decimal('0.1'), rounding=ROUND_HALF_EVEN)}%"


@register.filter
def decimal4(value: Decimal | None) -> str:
    """A quantity (GPU-hours) to four decimals, with separators."""
    if value is None:
        return "—"
    return f"{Decimal(value).quantize(Decimal('0.0001'), rounding=ROUND_HALF_EVEN):,}"


@register.filter
def exact(value: Decimal | None) -> str:
    """A stored number with no padding zeros and nothing rounded away: 190757.0000000000 is
    190757, 0.4200000000 is 0.42 (for the weights of a split, shown to be redone by hand)."""
    if value is None:
        return "—"
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@register.filter
def item(mapping: dict | None, key: str) -> object:
    """mapping[key], or "" when absent (a template cannot index a dict by a variable)."""
    return (mapping or {}).get(key, "")
