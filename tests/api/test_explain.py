"""GET /api/v1/explain: who may ask about which team, and exact figures as decimal strings."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from costapp.api.views import LedgerEncoder
from costapp.attribution.models import Allocation, LineKind
from tests.dashboard.builders import PASSWORD, explained_hour, finance_user, team_lead

pytestmark = pytest.mark.django_db

URL = "/api/v1/explain"


@pytest.fixture
def hour():
    explained_hour()


def _get(client, user, **params):
    if user is not None:
        assert client.login(username=user.username, password=PASSWORD)
    return client.get(URL, {"team": "search", "hour": "2026-10-01T10:00Z", **params})


def _leaves(value) -> list:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def test_finance_gets_every_allocation_of_the_team_in_that_hour(client, hour):
    response = _get(client, finance_user())
    assert response.status_code == 200
    body = response.json()
    assert body["team"] == "search" and body["hour"] == "2026-10-01T10:00:00Z"
    rows = Allocation.objects.filter(team="search").order_by("resource_id")
    assert [a["amortized_cost"] for a in body["allocations"]] == [
        format(row.amortized_cost, "f") for row in rows
    ]
    assert body["totals"]["amortized_cost"] == format(sum(r.amortized_cost for r in rows), "f")
    assert body["totals"]["billed_cost"] == "57.5000000000"


def test_the_usage_line_carries_cost_line_utilization_share_and_rule(client, hour):
    usage = next(
        a for a in _get(client, finance_user()).json()["allocations"] if a["kind"] == "usage"
    )
    assert (usage["rule"], usage["utilization"], usage["utilization_source"]) == (
        "tokens", "0.750000", "telemetry",
    )  # fmt: skip
    assert usage["share"]["numerator"] == "600.0000000000"
    assert usage["share"]["denominator"] == "1000.0000000000"
    assert Decimal(usage["share"]["fraction"]) == Decimal("0.6")
    (line,) = usage["cost_lines"]
    # The two-hour line's first hour takes the odd quantum (largest remainder, even weights).
    assert (line["effective_cost"], line["hours_spread_over"]) == ("200.0000000001", 2)
    assert (line["amortized_in_hour"], line["billed_in_hour"]) == (
        "100.0000000001",
        "120.0000000000",
    )
    context = usage["resource_hour"]
    stored = Allocation.objects.filter(resource_id="i-0aaaaaaaaaaaaaaa1")
    assert Decimal(context["amortized_cost"]) == sum(a.amortized_cost for a in stored)
    assert context["idle_amortized"] == "25.0000000000"
    assert context["busy_amortized"] == "75.0000000001"
    assert Decimal(context["gpu_hours"]) == 8


def test_money_is_never_a_float(client, hour):
    leaves = _leaves(_get(client, finance_user()).json())
    assert not [leaf for leaf in leaves if isinstance(leaf, float)]
    # Plain notation: a zero stored at 10 places is "0.0000000000", never "0E-10".
    scientific = re.compile(r"^-?\d+(\.\d+)?E[-+]?\d+$")
    assert not [leaf for leaf in leaves if isinstance(leaf, str) and scientific.match(leaf)]
    assert json.dumps(Decimal("0E-10"), cls=LedgerEncoder) == '"0.0000000000"'


def test_the_idle_the_team_would_carry_is_its_share_of_the_pool_idle(client, hour):
    totals = _get(client, finance_user()).json()["totals"]
    usage = {a.team: a.amortized_cost for a in Allocation.objects.filter(kind=LineKind.USAGE)}
    expected = Decimal("25") * usage["search"] / sum(usage.values())
    assert abs(Decimal(totals["idle_shared_amortized"]) - expected) <= Decimal("1E-10")


def test_a_team_lead_may_explain_their_own_team(client, hour):
    assert _get(client, team_lead("search")).status_code == 200


def test_a_team_lead_gets_404_for_another_team_as_for_one_that_does_not_exist(client, hour):
    lead = team_lead("ads")
    other, missing = _get(client, lead), _get(client, None, team="no-such-team")
    assert (other.status_code, missing.status_code) == (404, 404)
    assert other.json() == missing.json()
    assert "search" not in other.content.decode()


def test_a_user_without_teams_sees_nothing(client, hour):
    user = get_user_model().objects.create_user("nobody", password=PASSWORD)
    assert _get(client, user).status_code == 404


def test_anonymous_callers_get_401_not_a_login_redirect(client, hour):
    response = _get(client, None)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


def test_bad_parameters_name_the_field(client, hour):
    user = finance_user()
    assert _get(client, user, hour="yesterday").json()["field"] == "hour"
    assert _get(client, user, team="").json()["field"] == "team"
    assert _get(client, user, hour="").status_code == 400


def test_any_iso_8601_form_of_the_same_hour_explains_that_hour(client, hour):
    user = finance_user()
    for form in ("2026-10-01T10:00", "2026-10-01T10:59:59+00:00", "2026-10-01T12:30+02:00"):
        body = _get(client, user, hour=form).json()
        assert body["hour"] == "2026-10-01T10:00:00Z", form
        assert len(body["allocations"]) == 2


def test_an_hour_without_allocations_is_an_empty_answer(client, hour):
    body = _get(client, finance_user(), hour="2026-10-01T11:00Z").json()
    assert body["allocations"] == [] and body["totals"]["amortized_cost"] == "0"


def test_only_get_is_allowed(client, hour):
    assert client.login(username=finance_user().username, password=PASSWORD)
    assert client.post(URL, {"team": "search"}).status_code == 405
