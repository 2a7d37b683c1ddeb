"""Plotly figure builders for the dashboard: selector results in, figure JSON out.

Figures are rendered in the browser by the plotly.js bundled with the plotly package and served
from our own static files (no CDN). Amounts become floats only here, rounded to the cent, since
a chart draws pixels, not ledgers. Every figure is in one currency, named on its axis and in its
hover text as the page's money filter writes it ("$1,234.57", "1,234.57 CHF").

plotly.js reads a subset of HTML (<a href>, <b>, <br>...) in trace names, hover texts and axis
labels, and team, model and endpoint names come from pushed or ingested data: every such string
goes through `_text`, and hover templates name the trace with %{fullData.name} rather than
pasting the name in, so a name can be neither markup nor a %{...} placeholder.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import plotly.graph_objects as go

from costapp.money import affixes, written_in

from .selectors import UNOWNED, UnitCost

# Team colours, then fixed greys/ambers for the lines no team owns, so idle reads as "waste".
PALETTE = ("#2563eb", "#0d9488", "#9333ea", "#db2777", "#ea580c", "#65a30d", "#0891b2", "#4f46e5")
UNOWNED_COLOURS = {"Idle": "#9ca3af", "Unmeasured": "#d1d5db", "Unallocated": "#fbbf24"}
FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"


def _layout(**extra) -> dict:
    return dict(
        template="none",
        font=dict(family=FONT, size=12, color="#1f2937"),
        margin=dict(l=56, r=16, t=8, b=40),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        hoverlabel=dict(font=dict(family=FONT)),
        **extra,
    )


def _text(value: str) -> str:
    """`value` as plotly text: shown literally, whatever tags or entities it contains."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cents(amount: Decimal) -> float:
    return float(round(amount, 2))


def _money_axis(currency: str, **extra) -> dict:
    """An axis of amounts in `currency`: "$" before the ticks, or " CHF" after them."""
    prefix, suffix = affixes(currency)
    return dict(tickprefix=_text(prefix), ticksuffix=_text(suffix), separatethousands=True, **extra)


def daily_cost(daily: dict[str, dict[date, Decimal]], currency: str) -> dict:
    """Stacked daily cost: one bar segment per team, then idle / unmeasured / unallocated."""
    days = sorted({day for series in daily.values() for day in series})
    teams = sorted(name for name in daily if name not in UNOWNED_COLOURS)
    order = teams + [name for name in UNOWNED.values() if name in daily]
    amount = _text(written_in("%{y:,.2f}", currency))
    fig = go.Figure()
    for index, name in enumerate(order):
        colour = UNOWNED_COLOURS.get(name) or PALETTE[index % len(PALETTE)]
        fig.add_bar(
            name=_text(name),
            x=[day.isoformat() for day in days],
            y=[_cents(daily[name].get(day, Decimal(0))) for day in days],
            marker_color=colour,
            hovertemplate="%{x}<br>%{fullData.name}: " + amount + "<extra></extra>",
        )
    fig.update_layout(
        _layout(
            barmode="stack",
            bargap=0.15,
            legend=dict(orientation="h", y=-0.15),
            yaxis=_money_axis(currency, gridcolor="#e5e7eb"),
            xaxis=dict(type="date", tickformat="%b %d"),
            height=360,
        )
    )
    return _as_data(fig)


def cost_per_million(rows: list[UnitCost], label: str, currency: str) -> dict:
    """Horizontal bars: cost per 1M tokens (input + output) of each row that has tokens."""
    priced = sorted(
        (row for row in rows if row.per_million_tokens is not None),
        key=lambda row: row.per_million_tokens,
    )
    amount = _text(written_in("%{x:,.2f}", currency))
    fig = go.Figure(
        go.Bar(
            orientation="h",
            x=[_cents(row.per_million_tokens) for row in priced],
            y=[_text(row.key) for row in priced],
            marker_color=PALETTE[0],
            hovertemplate="%{y}: " + amount + " per 1M tokens<extra></extra>",
        )
    )
    fig.update_layout(
        _layout(
            height=max(200, 34 * len(priced) + 60),
            xaxis=_money_axis(
                currency, title=_text(f"{currency} per 1M tokens, by {label}"), gridcolor="#e5e7eb"
            ),
            yaxis=dict(automargin=True),
        )
    )
    return _as_data(fig)


_TICKS = {"hour": "%b %d %H:%M", "day": "%b %d", "month": "%b %Y"}
# One tick per period for short windows, so three days do not repeat "Oct 01" at 6-hour
# ticks; longer windows keep plotly's own spacing.
_MIN_DTICK = {"day": 86_400_000, "month": "M1"}


def unit_cost_over_time(periods: list[dict], label: str, grain: str, currency: str) -> dict:
    """One line per team (or model, endpoint: `label`): blended cost per 1M tokens (input +
    output) in each period."""
    series: dict[str, list[dict]] = {}
    for row in periods:
        if row["cost_per_1m_tokens"] is not None:
            series.setdefault(row[label] or "(shared costs)", []).append(row)
    periods_shown = {row["period"] for rows in series.values() for row in rows}
    dtick = _MIN_DTICK.get(grain) if len(periods_shown) <= 14 else None
    amount = _text(written_in("%{y:,.4f}", currency))
    fig = go.Figure()
    for index, (name, rows) in enumerate(sorted(series.items())):
        fig.add_scatter(
            name=_text(name),
            mode="lines+markers" if len(rows) < 60 else "lines",
            x=[row["period"].isoformat() for row in rows],
            # Unit prices can be fractions of a cent: keep four decimals, not two.
            y=[float(round(row["cost_per_1m_tokens"], 4)) for row in rows],
            line=dict(color=PALETTE[index % len(PALETTE)], width=2),
            hovertemplate="%{x}<br>%{fullData.name}: " + amount + " per 1M tokens<extra></extra>",
        )
    fig.update_layout(
        _layout(
            height=360,
            legend=dict(orientation="h", y=-0.15),
            yaxis=_money_axis(
                currency, title=_text(f"{currency} per 1M tokens"), gridcolor="#e5e7eb"
            ),
            xaxis=dict(type="date", tickformat=_TICKS.get(grain), dtick=dtick),
        )
    )
    return _as_data(fig)


def _as_data(fig: go.Figure) -> dict:
    # Through plotly's own encoder (dates, numpy), then back to plain data for json_script.
    return json.loads(fig.to_json())
