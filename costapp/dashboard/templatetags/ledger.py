"""Display filters: money rounded for reading (stored amounts stay exact), counts, percents; and
`is_finance`, so the nav offers the finance pages to the users their views let in."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from django import template

from costapp.core.access import is_finance

register = template.Library()
register.filter("is_finance", is_finance)
CENT = Decimal("0.01")


@register.filter
def money(amount: Decimal | None) -> str:
    """$1,234.57: two decimals, half-even, as finance rounds."""
    if amount is None:
        return "—"
    text = amount_2dp(amount)
    return f"-${text[1:]}" if text.startswith("-") else f"${text}"


@register.filter
def amount_2dp(amount: Decimal | None) -> str:
    """1,234.57 with no currency sign (for amounts in any currency): two decimals, half-even."""
    if amount is None:
        return "—"
    rounded = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_EVEN)
    sign = "-" if rounded < 0 else ""  # never "-0.00" for a tiny refund
    return f"{sign}{abs(rounded):,.2f}"


@register.filter
def unit_money(amount: Decimal | None) -> str:
    """A unit price: cents when it is at least a cent, else four significant digits."""
    if amount is None:
        return "—"
    amount = Decimal(amount)
    if amount == 0 or abs(amount) >= CENT:
        return money(amount)
    digits = f"{abs(amount):.3e}"  # 4 significant digits, then back to plain notation
    return f"{'-' if amount < 0 else ''}${Decimal(digits):f}"


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
