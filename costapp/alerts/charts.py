"""The budget page's plotly figure: cumulative actual spend over the period, the forecast to the
period's end with its band, and the budget line (thresholds as faint lines under it).

The band is drawn as the forecast method states it (costapp.alerts.forecast): at r days from
now, spent + m x r -/+ K x s x sqrt(r), its low end never below what is spent; so at the
period's end it meets the forecast the alerts use. Amounts become floats only here, rounded to
the cent. plotly.js reads a subset of HTML in trace names, hover text and axis labels: every
string that could come from data goes through `_text` (as in costapp/dashboard/charts.py),
and hover templates name the trace with %{fullData.name}.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import plotly.graph_objects as go

from costapp.money import affixes, written_in
from costapp.plotting import FONT
from costapp.plotting import cents as _cents
from costapp.plotting import text as _text

from .forecast import K
from .spend import DailySpend, midnight
from .status import BudgetStatus

ACTUAL = "#2563eb"
FORECAST = "#9333ea"
BUDGET = "#b91c1c"
THRESHOLD = "#d1d5db"
DAY_SECONDS = Decimal(86400)

SERIES_ACTUAL = "Actual (cumulative)"
SERIES_FORECAST = "Forecast"
SERIES_BAND = "Forecast band"
SERIES_BUDGET = "Budget"


def _moment(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def _cumulative(status: BudgetStatus, daily: DailySpend) -> tuple[list[str], list[float]]:
    """Spend through the end of each complete day of the period, then up to now."""
    xs, ys = [_moment(midnight(status.start))], [0.0]
    total = Decimal(0)
    today = status.now.date()
    day: date = status.start
    while day < today:
        total += daily.amounts.get(day, Decimal(0))
        xs.append(_moment(midnight(day + timedelta(days=1))))
        ys.append(_cents(total))
        day += timedelta(days=1)
    xs.append(_moment(status.now))
    ys.append(_cents(status.spent))
    return xs, ys


def _forecast_points(status: BudgetStatus) -> tuple[list[str], list[Decimal], list, list]:
    """From now to the period's end (each midnight between): point, low and high."""
    predicted = status.forecast
    assert predicted is not None
    end = midnight(status.end)
    moments = [status.now]
    step = midnight(status.now.date() + timedelta(days=1))
    while step < end:
        moments.append(step)
        step += timedelta(days=1)
    moments.append(end)
    xs, points, lows, highs = [], [], [], []
    for moment in moments:
        days = max(Decimal(str((moment - status.now).total_seconds())) / DAY_SECONDS, Decimal(0))
        point = status.spent + predicted.mean_daily * days
        spread = K * predicted.std_daily * days.sqrt()
        xs.append(_moment(moment))
        points.append(point)
        lows.append(max(point - spread, status.spent))
        highs.append(point + spread)
    # The method's own rounding at the end, so the chart ends on the page's figures.
    points[-1], lows[-1], highs[-1] = predicted.point, predicted.low, predicted.high
    return xs, points, lows, highs


def budget_chart(status: BudgetStatus, daily: DailySpend) -> dict:
    budget = status.budget
    currency = budget.currency
    amount = _text(written_in("%{y:,.2f}", currency))
    hover = "%{x}<br>%{fullData.name}: " + amount + "<extra></extra>"
    start, end = _moment(midnight(status.start)), _moment(midnight(status.end))
    fig = go.Figure()
    if status.forecast is not None:
        xs, points, lows, highs = _forecast_points(status)
        fig.add_scatter(
            name=SERIES_BAND,
            x=xs + xs[::-1],
            y=[_cents(v) for v in highs] + [_cents(v) for v in lows[::-1]],
            mode="lines",
            fill="toself",
            fillcolor="rgba(147, 51, 234, 0.15)",
            line=dict(width=0),
            hoverinfo="skip",
        )
        fig.add_scatter(
            name=SERIES_FORECAST,
            x=xs,
            y=[_cents(v) for v in points],
            mode="lines",
            line=dict(color=FORECAST, dash="dash"),
            hovertemplate=hover,
        )
    xs, ys = _cumulative(status, daily)
    fig.add_scatter(
        name=SERIES_ACTUAL,
        x=xs,
        y=ys,
        mode="lines+markers",
        marker=dict(size=4),
        line=dict(color=ACTUAL, width=2.5),
        hovertemplate=hover,
    )
    fig.add_scatter(
        name=SERIES_BUDGET,
        x=[start, end],
        y=[_cents(budget.amount)] * 2,
        mode="lines",
        line=dict(color=BUDGET, width=1.5),
        hovertemplate="%{fullData.name}: " + amount + "<extra></extra>",
    )
    for threshold in sorted(set(budget.thresholds)):
        if threshold != 100:
            level = _cents(budget.amount * threshold / 100)
            fig.add_shape(
                type="line", x0=start, x1=end, y0=level, y1=level,
                line=dict(color=THRESHOLD, width=1, dash="dot"), layer="below",
            )  # fmt: skip
    prefix, suffix = affixes(currency)
    fig.update_layout(
        template="none",
        font=dict(family=FONT, size=12, color="#1f2937"),
        margin=dict(l=64, r=16, t=8, b=40),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        hoverlabel=dict(font=dict(family=FONT)),
        height=340,
        legend=dict(orientation="h", y=-0.15),
        xaxis=dict(type="date", range=[start, end]),
        yaxis=dict(
            tickprefix=_text(prefix),
            ticksuffix=_text(suffix),
            separatethousands=True,
            rangemode="tozero",
        ),
    )
    # Through plotly's own encoder, then back to plain data for json_script.
    return json.loads(fig.to_json())
