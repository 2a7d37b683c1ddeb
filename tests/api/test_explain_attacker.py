"""GET /api/v1/explain as an attacker: a team lead subtracts and divides every figure they are
given and never reaches another team's cost, tokens, requests, weight or GPU-hours; nobody
sees a server path. Finance still gets the whole breakdown."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.dashboard import shared_hours as s
from tests.dashboard.builders import PASSWORD, finance_user, team_lead

pytestmark = pytest.mark.django_db

URL = "/api/v1/explain"


@pytest.fixture
def shared():
    s.build()


def _get(client, user, team: str, hour, **params):
    assert client.login(username=user.username, password=PASSWORD)
    response = client.get(URL, {"team": team, "hour": hour.isoformat(), **params})
    assert response.status_code == 200
    return response


def _by_resource(body: dict) -> dict[str, dict]:
    return {a["resource_id"]: a for a in body["allocations"]}


@pytest.mark.parametrize("hour", [s.H0, s.H1], ids=["H0", "H1"])
def test_a_lead_derives_no_figure_of_the_one_team_sharing_their_resource(client, shared, hour):
    secret = s.secrets("bravo", hour)
    text = _get(client, team_lead("alpha"), "alpha", hour).content.decode()
    assert s.leaks(text, secret) == []


def test_with_two_other_teams_the_totals_hold_only_their_sum(client, shared):
    body = _get(client, team_lead("alpha"), "alpha", s.H0).json()
    trio = _by_resource(body)["i-trio"]
    # The trio's totals are shown: they reveal bravo + charlie, never one of them.
    assert trio["withheld"] is None and trio["share"]["denominator"] is not None
    secret = {**s.secrets("bravo", s.H0), **s.secrets("charlie", s.H0)}
    assert s.leaks(_get(client, team_lead("alpha", "lead2"), "alpha", s.H0).content.decode(),
                   secret) == []  # fmt: skip


def test_the_withheld_entry_keeps_own_figures_and_the_method_and_says_why(client, shared):
    body = _get(client, team_lead("alpha"), "alpha", s.H0).json()
    pair = _by_resource(body)["i-pair"]
    assert pair["withheld"].startswith("Withheld: one other team used this resource")
    assert (pair["input_tokens"], pair["output_tokens"], pair["requests"]) == (1187, 203, 3701)
    assert pair["share"]["numerator"] == "1390.0000000000"
    assert pair["rule"] == "tokens" and "1187 + 1 x 203 = 1390" in pair["weight_rule"]
    assert pair["share"]["denominator"] is None and pair["share"]["fraction"] is None
    assert pair["utilization"] is None and pair["resource_hour"] is None
    assert pair["gpu_count"] is None
    [line] = pair["cost_lines"]
    assert line["effective_cost"] is None and line["amortized_in_hour"] is None
    assert line["hours_spread_over"] == 2
    assert "/ the weight of every team" in pair["formula"]
    storage = _by_resource(body)[s.STORAGE]
    assert storage["withheld"].startswith("Withheld: in an hour this cost is spread over")
    assert body["totals"]["idle_shared_amortized"] is None
    assert body["idle_shared_withheld"].startswith("Withheld: one other team used one of your")
    assert Decimal(body["totals"]["amortized_cost"]) > 0


def test_a_lead_of_both_teams_sees_everything_of_both(client, shared):
    lead = team_lead("alpha")
    from costapp.core.models import Membership, Role, Team

    Membership.objects.create(user=lead, team=Team.objects.create(slug="bravo"), role=Role.LEAD)
    pair = _by_resource(_get(client, lead, "alpha", s.H1).json())["i-pair"]
    assert pair["withheld"] is None and pair["resource_hour"] is not None


def test_finance_still_sees_the_full_breakdown(client, shared):
    body = _get(client, finance_user(), "alpha", s.H0).json()
    pair = _by_resource(body)["i-pair"]
    assert pair["withheld"] is None
    assert pair["share"]["denominator"] == "4552.0000000000"  # 1390 + 3162
    assert pair["utilization"] == "0.620000" and pair["gpu_count"] == 8
    assert pair["resource_hour"]["amortized_cost"] == "86.6459000000"
    [line] = pair["cost_lines"]
    assert line["effective_cost"] == "173.2918000000"
    assert body["totals"]["idle_shared_amortized"] is not None
    assert body["idle_shared_withheld"] is None


def test_nobody_sees_a_server_path_and_finance_sees_the_file_name(client, shared):
    lead_text = _get(client, team_lead("alpha"), "alpha", s.H0).content.decode()
    finance = _get(client, finance_user(), "alpha", s.H0)
    assert "/srv/" not in lead_text and "secret-bill" not in lead_text
    assert "/srv/" not in finance.content.decode()
    lines = [line for a in finance.json()["allocations"] for line in a["cost_lines"]]
    assert {line["source_file"] for line in lines} == {"secret-bill-2026-11.csv"}
