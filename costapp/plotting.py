"""What every chart module shares: the font, plotly text escaping and amounts as floats.

Names and labels reach plotly through `text` only: plotly renders a subset of HTML in trace
names, tick labels and hover text, so a team or model named `<b>x</b>` must be escaped before it
goes in. Amounts become floats only here, rounded to the cent, for drawing; figures stay Decimal
everywhere else.
"""

from __future__ import annotations

from decimal import Decimal

FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"


def text(value: str) -> str:
    """`value` as plotly text: shown literally, whatever tags or entities it contains."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cents(amount: Decimal) -> float:
    return float(round(amount, 2))
