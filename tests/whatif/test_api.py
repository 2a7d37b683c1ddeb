"""GET /api/v1/whatif: the worked example over a bearer token, 400 naming the parameter for
bad input, 404 for a team a lead may not see, and every parameter in the OpenAPI schema."""

from __future__ import annotations

import pytest
from django.test import Client

from costapp.api import tokens
from costapp.whatif import params
from tests.dashboard.builders import finance_user, team_lead

from .builders import PARAMS, worked_example

pytestmark = pytest.mark.django_db


def _api(user) -> Client:
    secret = tokens.issue(user, "test").secret
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_the_answer_holds_baseline_projected_and_each_lever_saving():
    worked_example()
    query = {**PARAMS, "caching_hit_rate": "0.2", "utilization_target": "0.8",
             "commitment_share": "0.5", "commitment_discount": "0.4"}  # fmt: skip
    response = _api(finance_user()).get("/api/v1/whatif", query)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["baseline"]["monthly_cost"] == "196.6400000000"
    assert body["baseline"]["gpu_hours"] == "16.0000000000"
    assert body["baseline"]["cost_per_1m_tokens"].startswith("19.664")
    assert body["projected"]["monthly_cost"] == "98.3200000000"
    assert body["total_saving"] == "98.3200000000"
    assert [lever["name"] for lever in body["levers"]] == [
        "routing", "caching", "quantization", "scale_to_zero", "consolidation", "right_sizing",
        "pricing",
    ]  # fmt: skip
    assert body["levers"][1]["saving"] == "39.3280000000"
    assert body["suggestions"]["utilization_target"]["value"] == "0.7500"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"caching_hit_rate": "1.5"}, "caching_hit_rate"),
        ({"utilization_target": "lots"}, "utilization_target"),
        ({"utilization_target": "NaN"}, "utilization_target"),
        ({"quantization": "fp2"}, "quantization"),
        ({"start": "2026-13-01"}, "start"),
        ({"start": "2026-10-30", "end": "2026-10-01"}, "end"),
        ({"commitment_share": "0.7", "spot_share": "0.5"}, "spot_share"),
        ({"routing_share": "0.3"}, "routing_to"),
        ({"routing_share": "0.3", "routing_api": "no-such-model"}, "routing_api"),
        ({"rightsize_gpu": "Z9000"}, "rightsize_gpu"),
        ({"quantization_speedup": "0"}, "quantization_speedup"),
        ({"currency": "dollars"}, "currency"),
    ],
)
def test_a_bad_parameter_answers_400_naming_it(query, field):
    worked_example()
    response = _api(finance_user()).get("/api/v1/whatif", {**PARAMS, **query})
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert response.json()["error"].startswith(f"{field}: ")


def test_a_lead_asking_for_another_team_gets_404_as_for_no_team():
    worked_example()
    lead = _api(team_lead("ads"))
    for team in ("search", "no-such-team"):
        response = lead.get("/api/v1/whatif", {**PARAMS, "team": team})
        assert response.status_code == 404
        assert "search" not in response.content.decode()


def test_a_lead_simulates_their_own_team_without_idle():
    worked_example()
    response = _api(team_lead("search")).get("/api/v1/whatif", PARAMS)
    body = response.json()
    assert response.status_code == 200
    # 49.16 + 73.74 of usage; the pool's idle is not the lead's to see.
    assert body["baseline"]["monthly_cost"] == "122.9000000000"
    assert body["baseline"]["idle_cost"] == "0"


def test_no_token_answers_401():
    assert Client().get("/api/v1/whatif").status_code == 401


def test_routing_to_a_hosted_model_uses_its_list_price():
    worked_example()
    query = {**PARAMS, "routing_share": "0.3", "routing_api": "gpt-4o-mini"}
    body = _api(finance_user()).get("/api/v1/whatif", query).json()
    routing = body["levers"][0]
    # Kept 196.64 x 0.7 = 137.648; moved 0.3 x (7.5 x 0.15 + 2.5 x 0.60) = 0.7875.
    assert routing["saving"] == "58.2045000000"
    assert body["projected"]["routed_cost"] == "0.7875000000"


def test_right_sizing_h100_to_l40s_uses_the_price_and_throughput_tables():
    worked_example()
    query = {**PARAMS, "rightsize_gpu": "L40S", "rightsize_throughput": "0.5",
             "rightsize_price": "6.145"}  # fmt: skip
    body = _api(finance_user()).get("/api/v1/whatif", query).json()
    # Today's H100: the cheapest listed per GPU-hour is OCI's 80 / 8 = 10. Price ratio 0.6145,
    # half the throughput: 196.64 x 0.6145 / 0.5 = 241.67056 (a negative saving).
    by_name = {lever["name"]: lever for lever in body["levers"]}
    assert by_name["right_sizing"]["saving"] == "-45.0305600000"


def test_every_parameter_is_in_the_openapi_schema():
    response = _api(finance_user()).get("/api/schema/", HTTP_ACCEPT="application/json")
    text = response.content.decode()
    assert response.status_code == 200
    for name in (*params.SCOPE, "start", "end", "currency", *params.LEVER_PARAMS):
        assert f"name: {name}" in text or f'"name": "{name}"' in text, name


def test_routing_a_model_to_itself_at_its_measured_cost_saves_nothing():
    worked_example()
    query = {**PARAMS, "routing_share": "0.5", "routing_to": "llama-70b"}
    body = _api(finance_user()).get("/api/v1/whatif", query).json()
    # Kept 196.64 x 0.5 = 98.32; llama-70b with its idle: 49.16 / 0.5 + 73.74 / 0.75 = 196.64,
    # 19.664 per 1M; moved 0.5 x 10M tokens x 19.664 per 1M = 98.32.
    assert body["levers"][0]["saving"] == "0.0000000000"
    assert body["projected"]["routed_cost"] == "98.3200000000"
