"""The hot charts build their figure JSON as plain data (no plotly property validation): it is
the JSON plotly's own figure objects write for the same chart, with hostile names still
escaped. The references below are the go.Figure builders the plain ones replaced."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import plotly.graph_objects as go
import pytest

from costapp.attribution.costs import CostRow
from costapp.dashboard import charts
from costapp.dashboard.charts import (
    BUSY_ONLY,
    OTHER_COLOUR,
    PALETTE,
    UNOWNED_COLOURS,
    _cents,
    _layout,
    _money_axis,
    _text,
    _top_series,
)
from costapp.money import written_in

HOSTILE = '<img src=x onerror=alert(1)> & %{x} "q"'


def _reference_daily_cost(daily, currency, other=None) -> dict:
    days = sorted({day for series in daily.values() for day in series})
    if other is None:
        daily, other = _top_series(daily)
    teams = sorted(name for name in daily if name not in UNOWNED_COLOURS and name != other)
    order = teams + ([other] if other else []) + [n for n in UNOWNED_COLOURS if n in daily]
    amount = _text(written_in("%{y:,.2f}", currency))
    fig = go.Figure()
    for index, name in enumerate(order):
        colour = UNOWNED_COLOURS.get(name) or PALETTE[index % len(PALETTE)]
        if name == other:
            colour = OTHER_COLOUR
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
    return json.loads(fig.to_json())


def _reference_cost_per_million(priced, label, currency) -> dict:
    amount = _text(written_in("%{x:,.2f}", currency))
    fig = go.Figure()
    for name, colour, price in (
        ("busy only", BUSY_ONLY, lambda row: row.per_million_busy),
        ("fully loaded", PALETTE[0], lambda row: row.per_million_loaded),
    ):
        fig.add_bar(
            name=name,
            orientation="h",
            x=[_cents(price(row)) for row in priced],
            y=[_text(row.key or "(shared costs)") for row in priced],
            marker_color=colour,
            hovertemplate="%{y}: " + amount + " per 1M tokens, %{fullData.name}<extra></extra>",
        )
    fig.update_layout(
        _layout(
            barmode="group",
            height=max(200, 48 * len(priced) + 80),
            legend=dict(orientation="h", y=-0.25),
            xaxis=_money_axis(
                currency, title=_text(f"{currency} per 1M tokens, by {label}"), gridcolor="#e5e7eb"
            ),
            yaxis=dict(automargin=True),
        )
    )
    return json.loads(fig.to_json())


def _same(plain: dict, reference: dict) -> None:
    assert plain == reference
    # What the page embeds (json_script): the same document, key order aside.
    assert json.loads(json.dumps(plain)) == reference


@pytest.mark.parametrize("currency", ["USD", "CHF"])
@pytest.mark.parametrize("teams", [3, 12])
def test_daily_cost_is_the_json_plotly_writes(currency, teams):
    days = [date(2026, 10, 1) + timedelta(days=i) for i in range(5)]
    daily = {
        (HOSTILE if i == 0 else f"team-{i}"): {
            day: Decimal(i * 7 + n) / 3 for n, day in enumerate(days) if (i + n) % 4
        }
        for i in range(teams)
    }
    daily["Idle"] = {days[0]: Decimal("12.345")}
    daily["Unallocated"] = {days[2]: Decimal("-1.005")}
    plain = charts.daily_cost(daily, currency)
    _same(plain, _reference_daily_cost(daily, currency))
    assert "<img" not in json.dumps(plain)
    assert ("&lt;img" in json.dumps(plain)) == (teams <= charts.TOP_SERIES)  # else in "others"


@pytest.mark.parametrize("currency", ["USD", "CHF"])
@pytest.mark.parametrize("rows", [2, 15])
def test_cost_per_million_is_the_json_plotly_writes(currency, rows):
    table = [
        CostRow(
            key=HOSTILE if i == 0 else ("" if i == 1 else f"model-{i}"),
            busy=Decimal(i + 1) * Decimal("10.3"),
            idle=Decimal(i) / 7,
            requests=i + 1,
            input_tokens=1000 * (i + 1),
            output_tokens=37 * i,
        )
        for i in range(rows)
    ]
    plain = charts.cost_per_million(table, HOSTILE, currency)
    # The reference takes the rows the builder picked (top bars and the rest summed).
    _same(plain, _reference_cost_per_million(_picked(table), HOSTILE, currency))
    assert "<img" not in json.dumps(plain)


def _picked(rows):
    priced = [row for row in rows if row.per_million_loaded is not None]
    if len(priced) > charts.TOP_BARS:
        by_cost = sorted(priced, key=lambda row: (-row.loaded, row.key))
        rest = by_cost[charts.TOP_BARS - 1 :]
        priced = [
            *by_cost[: charts.TOP_BARS - 1],
            charts._summed(rest, key=f"({len(rest)} others)"),
        ]
    priced.sort(key=lambda row: row.per_million_loaded)
    return priced
