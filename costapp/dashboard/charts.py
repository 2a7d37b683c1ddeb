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
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import plotly.graph_objects as go
import plotly.io as pio

from costapp.attribution.costs import CostRow
from costapp.attribution.explorer import SliceRow
from costapp.attribution.fleet import Heatmap
from costapp.attribution.units import UnitCosts, UnitFigures
from costapp.money import affixes, written_in
from costapp.plotting import FONT
from costapp.plotting import cents as _cents
from costapp.plotting import text as _text

# Team colours, then fixed greys/ambers for the lines no team owns, so idle reads as "waste".
PALETTE = ("#2563eb", "#0d9488", "#9333ea", "#db2777", "#ea580c", "#65a30d", "#0891b2", "#4f46e5")
UNOWNED_COLOURS = {
    "Idle": "#9ca3af",
    "Idle (pools unused)": "#9ca3af",
    "Unmeasured": "#d1d5db",
    "Unallocated": "#fbbf24",
}
BUSY_ONLY = "#93c5fd"
OTHER_COLOUR = "#6b7280"
# Beyond this many series a chart draws the biggest and one "other" series for the rest: a
# dozen lines or stacks in eight colours cannot be told apart (issue 16).
TOP_SERIES = 8
TOP_BARS = 12


def _layout(**extra) -> dict:
    return dict(
        # The template object, not its name: plotly validates a named template on every figure
        # (16 ms each, two or three per page); the same figure JSON either way.
        template=pio.templates["none"],
        font=dict(family=FONT, size=12, color="#1f2937"),
        margin=dict(l=56, r=16, t=8, b=40),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        hoverlabel=dict(font=dict(family=FONT)),
        **extra,
    )


_TEMPLATE: dict | None = None


def _template() -> dict:
    """The "none" template as plotly writes it into a figure's layout, computed once."""
    global _TEMPLATE
    if _TEMPLATE is None:
        _TEMPLATE = json.loads(pio.to_json(go.Figure(layout=dict(template=pio.templates["none"]))))[
            "layout"
        ]["template"]
    return _TEMPLATE


def _figure(data: list[dict], **layout) -> dict:
    """Figure JSON built as plain data, the same plotly's encoder writes for go.Figure(data,
    _layout(**layout)): the hot charts skip plotly's property validation (tens of ms a page).
    Only plain str, float, int, list and dict values go in; every name still through `_text`."""
    return {"data": data, "layout": {**_layout(**layout), "template": _template()}}


def _money_axis(currency: str, **extra) -> dict:
    """An axis of amounts in `currency`: "$" before the ticks, or " CHF" after them."""
    prefix, suffix = affixes(currency)
    return dict(tickprefix=_text(prefix), ticksuffix=_text(suffix), separatethousands=True, **extra)


def daily_cost(
    daily: dict[str, dict[date, Decimal]], currency: str, other: str | None = None
) -> dict:
    """Stacked daily cost: one bar segment per team (with its idle share under share-idle),
    then the company's idle / unmeasured / unallocated. `other`: the series already summing
    the smaller teams (cost_report's `top_series`), else they are summed here."""
    days = sorted({day for series in daily.values() for day in series})
    if other is None:
        daily, other = _top_series(daily)
    teams = sorted(name for name in daily if name not in UNOWNED_COLOURS and name != other)
    order = teams + ([other] if other else []) + [n for n in UNOWNED_COLOURS if n in daily]
    amount = _text(written_in("%{y:,.2f}", currency))
    x = [day.isoformat() for day in days]
    bars = []
    for index, name in enumerate(order):
        colour = UNOWNED_COLOURS.get(name) or PALETTE[index % len(PALETTE)]
        if name == other:
            colour = OTHER_COLOUR
        bars.append(
            {
                "hovertemplate": "%{x}<br>%{fullData.name}: " + amount + "<extra></extra>",
                "marker": {"color": colour},
                "name": _text(name),
                "x": x,
                "y": [_cents(daily[name].get(day, Decimal(0))) for day in days],
                "type": "bar",
            }
        )
    return _figure(
        bars,
        barmode="stack",
        bargap=0.15,
        legend=dict(orientation="h", y=-0.15),
        yaxis=_money_axis(currency, gridcolor="#e5e7eb"),
        xaxis=dict(type="date", tickformat="%b %d"),
        height=360,
    )


def cost_per_million(rows: list[CostRow], label: str, currency: str) -> dict:
    """Horizontal bars per row that has tokens: cost per 1M tokens (input + output) fully
    loaded (with the idle share of its pools) beside busy only."""
    priced = [row for row in rows if row.per_million_loaded is not None]
    if len(priced) > TOP_BARS:
        by_cost = sorted(priced, key=lambda row: (-row.loaded, row.key))
        rest = by_cost[TOP_BARS - 1 :]
        priced = [*by_cost[: TOP_BARS - 1], _summed(rest, key=f"({len(rest)} others)")]
    priced.sort(key=lambda row: row.per_million_loaded)
    amount = _text(written_in("%{x:,.2f}", currency))
    names = [_text(row.key or "(shared costs)") for row in priced]
    bars = [
        {
            "hovertemplate": "%{y}: " + amount + " per 1M tokens, %{fullData.name}<extra></extra>",
            "marker": {"color": colour},
            "name": name,
            "orientation": "h",
            "x": [_cents(price(row)) for row in priced],
            "y": names,
            "type": "bar",
        }
        for name, colour, price in (
            ("busy only", BUSY_ONLY, lambda row: row.per_million_busy),
            ("fully loaded", PALETTE[0], lambda row: row.per_million_loaded),
        )
    ]
    return _figure(
        bars,
        barmode="group",
        height=max(200, 48 * len(priced) + 80),
        legend=dict(orientation="h", y=-0.25),
        # A plotly title is an object: the string form is its text (as go.Figure writes it).
        xaxis=_money_axis(
            currency,
            title={"text": _text(f"{currency} per 1M tokens, by {label}")},
            gridcolor="#e5e7eb",
        ),
        yaxis=dict(automargin=True),
    )


_TICKS = {"hour": "%b %d %H:%M", "day": "%b %d", "month": "%b %Y"}
# One tick per period for short windows, so three days do not repeat "Oct 01" at 6-hour
# ticks; longer windows keep plotly's own spacing.
_MIN_DTICK = {"day": 86_400_000, "month": "M1"}


def unit_cost_over_time(periods: list[UnitCosts], grain: str, currency: str) -> dict:
    """One line per team (or model, endpoint): cost per 1M tokens (input + output) in each
    period, fully loaded, with a dotted line of the same colour for busy only."""
    series: dict[str, list[UnitCosts]] = {}
    for row in periods:
        if row.per_million_loaded is not None:
            series.setdefault(row.key or "(shared costs)", []).append(row)
    series = _top_unit_series(series)
    periods_shown = {row.period for rows in series.values() for row in rows}
    dtick = _MIN_DTICK.get(grain) if len(periods_shown) <= 14 else None
    amount = _text(written_in("%{y:,.4f}", currency))
    fig = go.Figure()
    for index, (name, rows) in enumerate(sorted(series.items())):
        colour = PALETTE[index % len(PALETTE)]
        for suffix, dash, price in (
            ("", "solid", lambda row: row.per_million_loaded),
            (" (busy only)", "dot", lambda row: row.per_million_busy),
        ):
            fig.add_scatter(
                name=_text(name + suffix),
                mode="lines+markers" if len(rows) < 60 else "lines",
                x=[row.period.isoformat() for row in rows],
                # Unit prices can be fractions of a cent: keep four decimals, not two.
                y=[float(round(price(row), 4)) for row in rows],
                line=dict(color=colour, width=2, dash=dash),
                hovertemplate="%{x}<br>%{fullData.name}: "
                + amount
                + " per 1M tokens<extra></extra>",
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


def _summed(rows: list, key: str):
    """One row standing for `rows`: their costs, idle and counts added up, so its unit prices
    are the group's own (total cost / total tokens), not an average of prices."""
    return replace(
        rows[0],
        key=key,
        busy=sum((row.busy for row in rows), Decimal(0)),
        idle=sum((row.idle for row in rows), Decimal(0)),
        requests=sum(row.requests for row in rows),
        input_tokens=sum(row.input_tokens for row in rows),
        output_tokens=sum(row.output_tokens for row in rows),
    )


def _top_series(daily: dict[str, dict]) -> tuple[dict[str, dict], str | None]:
    """The biggest TOP_SERIES - 1 series by total and one "other" series summing the rest
    (the company's own lines always kept); the other series' name, or None."""
    named = [name for name in daily if name not in UNOWNED_COLOURS]
    if len(named) <= TOP_SERIES:
        return daily, None
    totals = {name: sum(daily[name].values(), Decimal(0)) for name in named}
    ranked = sorted(named, key=lambda name: (-totals[name], name))
    rest = ranked[TOP_SERIES - 1 :]
    other = f"({len(rest)} others)"
    summed: dict = defaultdict(lambda: Decimal(0))
    for name in rest:
        for day, amount in daily[name].items():
            summed[day] += amount
    kept = {name: daily[name] for name in daily if name not in rest}
    kept[other] = dict(summed)
    return kept, other


def _top_unit_series(series: dict[str, list]) -> dict[str, list]:
    """The TOP_SERIES - 1 series with the biggest fully loaded cost, and per period one row for
    the rest."""
    if len(series) <= TOP_SERIES:
        return series
    totals = {name: sum((row.loaded for row in rows), Decimal(0)) for name, rows in series.items()}
    ranked = sorted(series, key=lambda name: (-totals[name], name))
    rest = ranked[TOP_SERIES - 1 :]
    per_period: dict = defaultdict(list)
    for name in rest:
        for row in series[name]:
            per_period[row.period].append(row)
    other = f"({len(rest)} others)"
    kept = {name: series[name] for name in ranked[: TOP_SERIES - 1]}
    kept[other] = [_summed(per_period[period], other) for period in sorted(per_period)]
    return kept


def daily_by(rows: list[SliceRow], dimension: str, currency: str) -> dict:
    """Stacked daily cost of slice rows (per day and `dimension`), one segment per value."""
    daily: dict[str, dict[date, Decimal]] = defaultdict(dict)
    for row in rows:
        day = row.period.date() if isinstance(row.period, datetime) else row.period
        name = getattr(row, dimension) or "(shared costs)"
        daily[name][day] = daily[name].get(day, Decimal(0)) + row.cost
    return daily_cost(dict(daily), currency)


def volume_over_time(periods: list[UnitFigures], grain: str) -> dict:
    """Requests (bars, left axis) and tokens (line, right axis) per period."""
    x = [row.period.isoformat() for row in periods]
    fig = go.Figure()
    fig.add_bar(
        name="requests",
        x=x,
        y=[row.requests for row in periods],
        marker_color=BUSY_ONLY,
        hovertemplate="%{x}<br>%{y:,} requests<extra></extra>",
    )
    fig.add_scatter(
        name="tokens",
        x=x,
        y=[row.tokens for row in periods],
        yaxis="y2",
        mode="lines+markers" if len(periods) < 60 else "lines",
        line=dict(color=PALETTE[2], width=2),
        hovertemplate="%{x}<br>%{y:,} tokens<extra></extra>",
    )
    fig.update_layout(_layout(height=300, legend=dict(orientation="h", y=-0.2)))
    fig.update_layout(
        dict(
            margin=dict(l=56, r=56, t=8, b=40),  # room for the tokens axis on the right
            yaxis=dict(title="requests", separatethousands=True, gridcolor="#e5e7eb"),
            yaxis2=dict(title="tokens", overlaying="y", side="right", separatethousands=True),
            xaxis=dict(type="date", tickformat=_TICKS.get(grain)),
        )
    )
    return _as_data(fig)


def utilization_heatmap(grid: Heatmap) -> dict:
    """Utilization % by UTC day (x) and hour of day (y); blank where nothing was measured."""
    fig = go.Figure(
        go.Heatmap(
            x=[day.isoformat() for day in grid.days],
            y=list(range(24)),
            z=[[None if v is None else float(round(v, 1)) for v in hour] for hour in grid.cells],
            zmin=0,
            zmax=100,
            colorscale="Blues",
            colorbar=dict(title="% busy", ticksuffix="%"),
            hovertemplate="%{x} %{y}:00 UTC<br>%{z:.1f}% busy<extra></extra>",
            xgap=1,
            ygap=1,
        )
    )
    fig.update_layout(
        _layout(
            height=420,
            xaxis=dict(type="date", tickformat="%b %d"),
            yaxis=dict(title="hour of day (UTC)", dtick=3, autorange="reversed"),
        )
    )
    return _as_data(fig)


def billed_vs_list(series: dict[str, dict[date, Decimal]], currency: str) -> dict:
    """Hosted models (costapp.attribution.reconcile): per day, what the bill charged beside what
    the logged tokens cost at list price, every model together."""
    days = sorted({day for amounts in series.values() for day in amounts})
    amount = _text(written_in("%{y:,.2f}", currency))
    fig = go.Figure()
    for index, name in enumerate(("billed", "list price")):
        fig.add_bar(
            name=name,
            x=[day.isoformat() for day in days],
            y=[_cents(series.get(name, {}).get(day, Decimal(0))) for day in days],
            marker_color=PALETTE[index],
            hovertemplate="%{x}<br>%{fullData.name}: " + amount + "<extra></extra>",
        )
    fig.update_layout(
        _layout(
            barmode="group",
            bargap=0.2,
            height=300,
            legend=dict(orientation="h", y=-0.2),
            yaxis=_money_axis(currency, gridcolor="#e5e7eb"),
            xaxis=dict(type="date", tickformat="%b %d"),
        )
    )
    return _as_data(fig)


def _as_data(fig: go.Figure) -> dict:
    # Through plotly's own encoder (dates, numpy), then back to plain data for json_script.
    return json.loads(fig.to_json())
