"""Explain: one team's hour shows the lines, utilization, share and rule behind each row."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from costapp.attribution.engine import run_attribution
from costapp.attribution.explain import explain

from . import builders as b

pytestmark = pytest.mark.django_db


def test_explain_traces_a_usage_row_back_to_its_cost_line_and_share():
    b.gpu_resource(gpus=8)
    line = b.cost_line(cost="196.64", hours=2)
    b.samples("i-gpu", b.hour(), ["0.75"], gpus=8)
    b.usage("search", input_tokens=600, output_tokens=300)
    b.usage("ads", input_tokens=100, output_tokens=0)
    run_attribution()
    [entry] = explain("search", b.hour() + timedelta(minutes=20))
    assert entry["rule"] == "tokens"
    assert entry["share"]["numerator"] == 900 and entry["share"]["denominator"] == 1000
    assert entry["utilization"] == Decimal("0.75")
    assert entry["utilization_source"] == "telemetry"
    [cost] = entry["cost_lines"]
    assert cost["cost_line_id"] == line.pk
    assert (cost["hours_spread_over"], cost["amortized_in_hour"]) == (2, Decimal("98.32"))
    context = entry["resource_hour"]
    assert context["idle_amortized"] == Decimal("24.58")
    assert context["busy_amortized"] == Decimal("73.74")
    assert entry["amortized_cost"] == Decimal("66.366")
    assert "73.74" in entry["formula"]


def test_explain_of_a_team_without_rows_is_empty():
    assert explain("nobody", b.hour()) == []
