"""/api/v1/channels, /budgets and /alerts: finance creates, a lead sees only their own teams'
budgets and alerts (404 for another's), bad input is a 400 naming the field with nothing
created, and a channel's target is masked in every answer."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from costapp.alerts import services
from costapp.alerts.delivery import deliver_due
from costapp.alerts.evaluate import evaluate_budget
from costapp.alerts.models import Alert, Budget, Channel
from costapp.api import tokens
from tests.alerts.conftest import NOW, day, spend
from tests.dashboard.builders import finance_user, team_lead

pytestmark = pytest.mark.django_db

ADDRESS = "finops-oncall@example.com"


def _api(user) -> Client:
    """A client sending `user`'s bearer token (no session, no CSRF)."""
    secret = tokens.issue(user, "test").secret
    return Client(headers={"Authorization": f"Bearer {secret}"}, enforce_csrf_checks=True)


def _post(client: Client, path: str, body) -> object:
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(f"/api/v1/{path}", data, content_type="application/json")


@pytest.fixture
def fin() -> Client:
    return _api(finance_user())


@pytest.fixture
def two_teams():
    """A budget for search, one for ads and one for the whole organisation, each alerted."""
    channel = services.create_channel("finops", "email", ADDRESS)
    for team in ("search", "ads"):
        spend(day(10), "850", team=team)
    budgets = {}
    for name in ("search", "ads", "org"):
        scope = {} if name == "org" else {"team": name}
        budgets[name] = services.create_budget(
            name=name, amount="1000", forecast=False, channels=[channel.pk], scope=scope
        )
    for budget in budgets.values():
        evaluate_budget(budget, NOW)
    return budgets


def test_finance_creates_a_channel_and_its_target_is_masked_in_every_answer(fin):
    created = _post(fin, "channels", {"name": "finops", "kind": "email", "target": ADDRESS})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["target"] == "f***@example.com" and body["kind"] == "email"
    listed = fin.get("/api/v1/channels")
    assert listed.json()["results"] == [body]
    assert Channel.objects.get(pk=body["id"]).target == ADDRESS
    for response in (created, listed):
        assert "finops-oncall" not in response.content.decode()


def test_a_webhook_url_and_its_secret_are_never_in_an_answer(fin):
    url = "https://hooks.example.com/T000/B000/s3cr3tpath"
    body = {"name": "hook", "kind": "webhook", "target": url, "secret": "hmac-key-123"}
    created = _post(fin, "channels", body)
    assert created.status_code == 201, created.content
    text = created.content.decode() + fin.get("/api/v1/channels").content.decode()
    assert "s3cr3tpath" not in text and "hmac-key-123" not in text
    assert created.json()["target"] == "https://hooks.example.com/***"


def test_finance_creates_a_budget_with_its_channels(fin):
    channel = services.create_channel("finops", "email", ADDRESS)
    request = {
        "name": "Search GPUs", "scope": {"team": "search"}, "period": "quarter",
        "amount": "1000.00", "currency": "EUR", "thresholds": [100, 50], "forecast": True,
        "channels": [channel.pk],
    }  # fmt: skip
    created = _post(fin, "budgets", request)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["scope"] == {"team": "search"} and body["period"] == "quarter"
    assert body["amount"] == "1000.0000000000" and body["currency"] == "EUR"
    assert body["thresholds"] == [50, 100] and body["channels"] == [channel.pk]
    assert fin.get(f"/api/v1/budgets/{body['id']}").json() == body
    assert fin.get("/api/v1/budgets").json()["results"] == [body]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"thresholds": [50, "x"]}, "thresholds[1]"),
        ({"amount": "lots"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"scope": {"team": ""}}, "scope.team"),
        ({"scope": {"galaxy": "x"}}, "scope"),
        ({"period": "decade"}, "period"),
        ({"currency": "usd"}, "currency"),
        ({"channels": [999999]}, "channels"),
        ({"forecast": "yes"}, "forecast"),
        ({"colour": "red"}, "colour"),
        ({"name": None}, "name"),
    ],
)
def test_a_bad_budget_is_400_naming_the_field_and_nothing_is_created(fin, change, field):
    channel = services.create_channel("finops", "email", ADDRESS)
    request = {"name": "b", "amount": "10", "channels": [channel.pk], **change}
    response = _post(fin, "budgets", request)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert field in response.json()["error"]
    assert not Budget.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "kind": "pager", "target": ADDRESS}, "kind"),
        ({"name": "x", "kind": "email", "target": ""}, "target"),
        ({"name": "x", "kind": "slack", "target": "not a url"}, "target"),
        ({"name": "", "kind": "email", "target": ADDRESS}, "name"),
        ({"name": "x", "kind": "email", "target": ADDRESS, "targets": "y"}, "targets"),
        (["not", "an", "object"], "body"),
    ],
)
def test_a_bad_channel_is_400_naming_the_field_and_nothing_is_created(fin, body, field):
    response = _post(fin, "channels", body)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert not Channel.objects.exists()


def test_a_body_that_is_not_json_is_400(fin):
    response = _post(fin, "budgets", "{nope")
    assert response.status_code == 400 and "error" in response.json()
    assert not Budget.objects.exists()


def test_a_lead_sees_only_their_own_teams_budgets_and_alerts(two_teams):
    lead = _api(team_lead("search"))
    budgets = lead.get("/api/v1/budgets").json()
    assert [b["name"] for b in budgets["results"]] == ["search"] and budgets["count"] == 1
    alerts = lead.get("/api/v1/alerts").json()["results"]
    assert alerts and {a["budget_name"] for a in alerts} == {"search"}
    text = json.dumps(budgets) + json.dumps(alerts)
    assert "ads" not in text and '"org"' not in text


def test_another_teams_budget_or_alert_is_404_like_one_that_does_not_exist(two_teams):
    lead = _api(team_lead("search"))
    missing = lead.get("/api/v1/budgets/999999")
    for budget in (two_teams["ads"], two_teams["org"]):
        other = lead.get(f"/api/v1/budgets/{budget.pk}")
        assert other.status_code == 404 and other.json() == missing.json()
        alert = Alert.objects.filter(budget=budget).first()
        response = lead.get(f"/api/v1/alerts/{alert.pk}")
        assert response.status_code == 404
        assert response.json() == lead.get("/api/v1/alerts/999999").json()
        assert lead.get(f"/api/v1/alerts?budget={budget.pk}").json()["results"] == []
    own = Alert.objects.filter(budget=two_teams["search"]).first()
    assert lead.get(f"/api/v1/alerts/{own.pk}").status_code == 200


def test_a_lead_may_not_create_budgets_or_see_channels(two_teams):
    lead = _api(team_lead("search"))
    before = Budget.objects.count()
    response = _post(lead, "budgets", {"name": "mine", "amount": "5", "scope": {"team": "search"}})
    assert response.status_code == 403 and Budget.objects.count() == before
    assert lead.get("/api/v1/channels").status_code == 403
    response = _post(lead, "channels", {"name": "x", "kind": "email", "target": ADDRESS})
    assert response.status_code == 403 and Channel.objects.count() == 1


def test_each_alert_lists_its_deliveries_with_status_attempts_and_a_masked_error(fin, httpserver):
    httpserver.expect_request("/hook/s3cr3t").respond_with_data("down", status=500)
    slack = services.create_channel("eng", "slack", httpserver.url_for("/hook/s3cr3t"))
    spend(day(10), "850", team="search")
    budget = services.create_budget(
        name="search", amount="1000", forecast=False, scope={"team": "search"},
        channels=[slack.pk],
    )  # fmt: skip
    evaluate_budget(budget, NOW)
    deliver_due(NOW)
    response = fin.get(f"/api/v1/alerts?budget={budget.pk}")
    assert response.status_code == 200
    alerts = response.json()["results"]
    announced = next(a for a in alerts if a["deliveries"])
    assert announced["threshold"] == 80 and announced["spent"] == "850.0000000000"
    (delivery,) = announced["deliveries"]
    assert delivery["channel"] == {"id": slack.pk, "name": "eng", "kind": "slack"}
    assert (delivery["status"], delivery["attempts"]) == ("failed", 1)
    assert delivery["last_error"]
    assert "s3cr3t" not in response.content.decode()


def test_anonymous_callers_get_401_everywhere(two_teams):
    for path in ("channels", "budgets", "alerts", f"budgets/{two_teams['ads'].pk}"):
        response = Client().get(f"/api/v1/{path}")
        assert response.status_code == 401, path
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert "ads" not in response.content.decode()
    assert _post(Client(), "budgets", {"name": "x", "amount": "1"}).status_code == 401


def test_bad_paging_or_filter_parameters_are_400_naming_them(fin, two_teams):
    for query, field in (
        ("limit=abc", "limit"), ("limit=0", "limit"), ("limit=100000", "limit"),
        ("offset=-1", "offset"),
    ):  # fmt: skip
        response = fin.get(f"/api/v1/budgets?{query}")
        assert response.status_code == 400 and response.json()["field"] == field, query
    assert fin.get("/api/v1/alerts?budget=x").json()["field"] == "budget"
    page = fin.get("/api/v1/budgets?limit=1&offset=1").json()
    assert page["count"] == 3 and len(page["results"]) == 1 and page["next"] and page["previous"]


def test_the_session_works_too_but_a_write_needs_csrf(two_teams):
    user = finance_user()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/v1/budgets").status_code == 200
    response = _post(client, "budgets", {"name": "x", "amount": "1"})
    assert response.status_code == 403 and "CSRF" in response.json()["error"]
    assert Budget.objects.count() == 3
