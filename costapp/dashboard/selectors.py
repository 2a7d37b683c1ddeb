"""What the explain read (costapp.dashboard.explanation) still takes from the dashboard: the
cost bases and the currency choice of one team's hour. Every other read lives under the pages,
in costapp.attribution (costs, units, idle), with the scope from costapp.core.access."""

from __future__ import annotations

from costapp.attribution.query import BASES, Basis
from costapp.core.access import scope_for
from costapp.money import DEFAULT_CURRENCY

__all__ = ["BASES", "Basis", "currency_param", "scope_for"]


def currency_param(value: str | None, present: list[str]) -> str:
    """The currency a query parameter asks for when it is among those present, else the first
    (the biggest), else the default when there is no data at all."""
    code = (value or "").strip().upper()
    if code in present:
        return code
    return present[0] if present else DEFAULT_CURRENCY
