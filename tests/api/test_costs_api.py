"""GET /api/v1/costs, /units, /idle, /allocations, /teams, /models, /endpoints, /pools: the
pages' figures as exact decimal strings, with the pages' filters, paging and access rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from costapp.api import tokens
from costapp.attribution.costs import cost_report
from costapp.attribution.models import Allocation, LineKind
from costapp.attribution.query import parse_query
from costapp.attribution.units import unit_report
from costapp.core.access import Scope
from tests.dashboard.builders import allocation, finance_user, gpu_resource, team_lead

pytestmark = pytest.mark.django_db
FINANCE = Scope(teams=None, finance=True)


@pytest.fixture
def ledger():
    gpu_resource()
    for day in ("2026-10-01", "2026-10-02"):
        allocation(
            f"{day}T10:00", team="search", model="llama-70b", endpoint="/search/answer",
            amortized="40.1234567891", billed="55", input_tokens=900_000, output_tokens=100_000,
            requests=1200, gpu_hours="3.2", pool="h100-east", rule="tokens",
            weight=Decimal(1_000_000), weight_total=Decimal(1_350_000),
        )  # fmt: skip
        allocation(
            f"{day}T10:00", team="bravo", model="bravo-secret-model", endpoint="/bravo/secret",
            amortized="20.0000000009", billed="30", input_tokens=300_000, output_tokens=50_000,
            requests=400, gpu_hours="1.6", pool="h100-east", rule="tokens",
            weight=Decimal(350_000), weight_total=Decimal(1_350_000),
        )  # fmt: skip
        allocation(f"{day}T10:00", LineKind.IDLE, amortized="38.2", pool="h100-east")
        allocation(f"{day}T10:00", LineKind.UNALLOCATED, amortized="0.0000001234")


def _api(user) -> Client:
    return Client(headers={"Authorization": f"Bearer {tokens.issue(user, 'test').secret}"})


def test_costs_by_team_are_the_overview_figures_exactly(ledger):
    body = _api(finance_user()).get("/api/v1/costs?idle=share").json()
    report = cost_report(FINANCE, parse_query({"idle": "share"}))
    assert body["currency"] == "USD" and body["idle"] == "share"
    assert {row["key"]: row["cost"] for row in body["rows"]} == {
        row.key: format(row.cost, "f") for row in report.teams
    }
    assert Decimal(body["total"]) == report.total
    assert Decimal(body["carried"]) + sum(Decimal(r["cost"]) for r in body["company"]) == (
        report.total
    )


@pytest.mark.parametrize("by", ["model", "endpoint", "pool", "day"])
def test_every_grouping_adds_up_to_what_the_teams_carry(ledger, by):
    for idle in ("separate", "share"):
        body = _api(finance_user(f"fin-{idle}")).get(f"/api/v1/costs?by={by}&idle={idle}").json()
        assert body["by"] == by
        assert sum(Decimal(row["cost"]) for row in body["rows"]) == Decimal(body["carried"])


def test_day_rows_and_the_date_filter(ledger):
    body = _api(finance_user()).get("/api/v1/costs?by=day&start=2026-10-02").json()
    assert [row["key"] for row in body["rows"]] == ["2026-10-02"]


def test_units_summary_and_paginated_periods(ledger):
    client = _api(finance_user())
    body = client.get("/api/v1/units?grain=day&limit=1&offset=1").json()
    report = unit_report(FINANCE, parse_query({"grain": "day"}))
    assert body["count"] == len(report.periods) == 4
    assert body["results"][0]["key"] == report.periods[1].key
    assert body["next"] and body["previous"] is not None
    assert {row["key"] for row in body["summary"]} == {"search", "bravo"}


def test_idle_is_by_team_for_a_lead_and_by_pool_and_company_for_finance(ledger):
    finance = _api(finance_user()).get("/api/v1/idle").json()
    assert finance["company"]["idle_cost"] == "76.4000000000"
    assert [pool["key"] for pool in finance["pools"]] == ["h100-east"]
    lead = _api(team_lead("search")).get("/api/v1/idle").json()
    assert lead["company"] is None and lead["pools"] == []
    assert [row["key"] for row in lead["teams"]] == ["search"]


def test_allocations_are_paginated_and_a_lead_gets_only_their_rows(ledger):
    finance = _api(finance_user()).get("/api/v1/allocations?limit=3").json()
    assert finance["count"] == Allocation.objects.count() == 8
    assert len(finance["results"]) == 3 and "utilization" in finance["results"][0]
    lead = _api(team_lead("search")).get("/api/v1/allocations").json()
    assert lead["count"] == 2
    assert {row["team"] for row in lead["results"]} == {"search"}
    assert "weight_total" not in lead["results"][0]
    assert lead["results"][0]["cost"] == "40.1234567891"


def test_lists_of_teams_models_endpoints_and_pools_follow_the_scope(ledger):
    lead = _api(team_lead("search"))
    assert [t["slug"] for t in lead.get("/api/v1/teams").json()["results"]] == ["search"]
    for path, name in (("models", "llama-70b"), ("endpoints", "/search/answer"),
                       ("pools", "h100-east")):  # fmt: skip
        body = lead.get(f"/api/v1/{path}").json()
        assert [row["key"] for row in body["results"]] == [name]
        assert "bravo" not in str(body)
    finance = _api(finance_user())
    models = {row["key"] for row in finance.get("/api/v1/models").json()["results"]}
    assert models == {"llama-70b", "bravo-secret-model"}


def test_another_team_is_404_and_a_bad_parameter_400_naming_it(ledger):
    lead = _api(team_lead("search"))
    for path in ("costs", "units", "idle", "allocations", "models", "endpoints", "pools"):
        response = lead.get(f"/api/v1/{path}?team=bravo")
        assert response.status_code == 404 and "bravo" not in response.content.decode()
    for query, field in (("by=color", "by"), ("start=2026-02-30", "start"),
                         ("basis=cash", "basis"), ("limit=0", "limit")):  # fmt: skip
        response = lead.get(f"/api/v1/costs?{query}" if field != "limit" else "/api/v1/teams?"
                            + query)  # fmt: skip
        assert response.status_code == 400 and response.json()["field"] == field


def test_anonymous_callers_get_401(ledger):
    for path in ("costs", "units", "idle", "allocations", "teams", "models", "endpoints", "pools"):
        response = Client().get(f"/api/v1/{path}")
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
