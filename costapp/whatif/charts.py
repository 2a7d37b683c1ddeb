"""The waterfall of a simulation: today's monthly cost, each lever's saving, the projection.

Amounts become floats only here (a chart draws pixels). Lever names are ours, but the currency
code and scope come from data and requests: every string plotly shows goes through `_text`,
so it is shown literally (plotly reads a subset of HTML in texts)."""

from __future__ import annotations

import json

import plotly.graph_objects as go

from costapp.money import affixes, written_in
from costapp.plotting import FONT
from costapp.plotting import cents as _cents
from costapp.plotting import text as _text

from .scenario import Simulation

LABELS = {
    "routing": "Routing",
    "caching": "Caching",
    "quantization": "Quantization",
    "consolidation": "Consolidation",
    "right_sizing": "Right-sizing",
    "pricing": "Pricing",
}


def waterfall(sim: Simulation) -> dict:
    currency = sim.baseline.currency
    steps = [lever for lever in sim.levers if lever.applied]
    names = ["Today", *(LABELS[lever.name] for lever in steps), "Projected"]
    values = [
        _cents(sim.current.monthly_cost),
        *(-_cents(lever.saving) for lever in steps),
        _cents(sim.projected.monthly_cost),
    ]
    prefix, suffix = affixes(currency)
    fig = go.Figure(
        go.Waterfall(
            x=[_text(name) for name in names],
            y=values,
            measure=["absolute", *("relative" for _ in steps), "total"],
            connector=dict(line=dict(color="#9ca3af")),
            decreasing=dict(marker=dict(color="#0d9488")),
            increasing=dict(marker=dict(color="#dc2626")),
            totals=dict(marker=dict(color="#2563eb")),
            hovertemplate=_text(written_in("%{y:,.2f}", currency)) + "<extra></extra>",
        )
    )
    fig.update_layout(
        template="none",
        font=dict(family=FONT, size=12, color="#1f2937"),
        margin=dict(l=64, r=16, t=8, b=40),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        showlegend=False,
        yaxis=dict(
            title=_text(f"{currency} per month"),
            tickprefix=_text(prefix),
            ticksuffix=_text(suffix),
            separatethousands=True,
            gridcolor="#e5e7eb",
        ),
    )
    return json.loads(fig.to_json())
