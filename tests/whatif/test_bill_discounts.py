"""The pricing lever's suggested discounts come from the bill where it carries committed or spot
lines with their list price (finance); otherwise, and for a lead, from the published figures."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from costapp.ingest.models import CostLine
from costapp.whatif import service
from tests.attribution.builders import cost_line
from tests.dashboard.builders import finance_user, team_lead

from .builders import PARAMS, worked_example

pytestmark = pytest.mark.django_db
RESOURCE = "i-0aaaaaaaaaaaaaaa1"  # the worked example's p5.48xlarge


def _priced(resource: str, effective: str, list_price: str, pricing: str, day: int = 1) -> None:
    line = cost_line(resource, effective, pricing=pricing,
                     start=datetime(2026, 10, day, 10, tzinfo=UTC))  # fmt: skip
    CostLine.objects.filter(pk=line.pk).update(list_cost=D(list_price))


def _suggested(user) -> dict:
    return service.as_data(service.run(user, PARAMS))["suggestions"]


def test_the_bills_committed_and_spot_lines_give_the_discounts_finance_starts_from():
    worked_example()
    _priced(RESOURCE, "60", "98.32", "Committed")
    _priced(RESOURCE, "38.32", "98.32", "Committed")
    _priced(RESOURCE, "30", "100", "Dynamic")
    _priced("i-elsewhere", "1", "100", "Committed")  # not a resource of the scope
    _priced(RESOURCE, "1", "100", "Committed", day=31)  # after the period

    suggested = _suggested(finance_user())
    # 1 - 98.32 / 196.64; 1 - 30 / 100
    assert suggested["commitment_discount"]["value"] == D("0.5")
    assert suggested["commitment_discount"]["measured"] is True
    assert "2 usage lines" in suggested["commitment_discount"]["source"]
    assert suggested["spot_discount"]["value"] == D("0.7")
    assert suggested["spot_overhead"]["measured"] is False


def test_without_list_prices_or_for_a_lead_the_published_discounts_stand():
    worked_example()
    cost_line(RESOURCE, "60", pricing="Committed", start=datetime(2026, 10, 1, 10, tzinfo=UTC))
    published = _suggested(finance_user())["commitment_discount"]
    assert (published["value"], published["measured"]) == (D("0.35"), False)
    assert published["source"].startswith("published:")
    _priced(RESOURCE, "50", "100", "Committed")
    # The bill's lines are the provider's, not a team's: a lead keeps the published figure.
    lead_view = _suggested(team_lead("search", username="lead"))
    assert lead_view["commitment_discount"]["value"] == D("0.35")
    assert lead_view["commitment_discount"]["measured"] is False
