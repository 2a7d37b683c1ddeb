"""The /budgets/ pages: finance creates and edits budgets and channels through forms whose errors
show on the field; a lead sees their own teams' budgets and alerts and gets 404 for anyone
else's; the budget chart carries the hand-computed series; a test-send reaches a real loopback
server once and the page says how it went."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from werkzeug import Response

from costapp.alerts import services
from costapp.alerts.charts import budget_chart
from costapp.alerts.evaluate import evaluate_budget
from costapp.alerts.models import Alert, Budget, Channel, Delivery
from costapp.alerts.spend import daily_spend
from costapp.alerts.status import budget_status
from tests.dashboard.builders import PASSWORD, finance_user, team_lead

from .conftest import NOW, budget, day, spend

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def figure_json(html: str) -> dict:
    match = re.search(r'<script id="budget-figure" type="application/json">(.*?)</script>', html)
    assert match, "the budget figure's JSON is not on the page"
    return json.loads(match.group(1))


def field_errors(html: str, name: str) -> str:
    match = re.search(rf'data-field="{name}">(.*?)</div>', html, re.S)
    assert match, f"field {name} not on the page"
    errors = re.search(r'<ul class="errorlist"[^>]*>(.*?)</ul>', match.group(1), re.S)
    return errors.group(1) if errors else ""


FORM = {
    "name": "Search inference",
    "scope_kind": "team",
    "scope_value": "search",
    "period": "month",
    "amount": "1000.00",
    "currency": "USD",
    "basis": "amortized",
    "idle": "fully_loaded",
    "thresholds": "50, 80, 100",
    "forecast": "on",
}


def recent_spend(team: str = "search", daily: str = "10") -> Decimal:
    """`daily` at 00:00 UTC on each of the last 14 days and in the current hour: what the
    current month has of it (the month's first hours included) is returned."""
    now = timezone.now()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    hours = [now.replace(minute=0, second=0, microsecond=0)]
    hours += [(now - timedelta(days=n)).replace(hour=0, minute=0, second=0, microsecond=0)
              for n in range(1, 15)]  # fmt: skip
    for hour in hours:
        spend(hour, daily, team=team)
    return sum((Decimal(daily) for hour in hours if hour >= month_start), Decimal(0))


def test_finance_creates_a_budget_through_the_form_and_sees_its_spend_and_forecast(client):
    spent = recent_spend()
    login(client, finance_user())
    assert client.get("/budgets/new/").status_code == 200
    response = client.post("/budgets/new/", FORM)
    created = Budget.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/budgets/{created.pk}/"
    assert (created.scope_kind, created.scope_value, created.amount) == ("team", "search", 1000)
    assert created.thresholds == [50, 80, 100] and created.forecast

    html = client.get("/budgets/").content.decode()
    card = re.search(rf'data-budget="{created.pk}">(.*?)</article>', html, re.S).group(1)
    assert "Search inference" in card
    assert f"${spent:,.2f} of $1,000.00" in card
    # Fourteen days of $10 a day: the forecast is spent + $10 x the days left, never "no data".
    forecast = re.search(r'class="forecast-figure">([^<]*)<', card).group(1)
    assert forecast.startswith("$") and "%" in forecast

    page = client.get(f"/budgets/{created.pk}/").content.decode()
    names = [trace["name"] for trace in figure_json(page)["data"]]
    assert names == ["Forecast band", "Forecast", "Actual (cumulative)", "Budget"]


def test_the_chart_has_cumulative_actual_forecast_band_and_budget_line_hand_computed():
    # Nov 17, 18, 19: 90, 100, 110. At NOW (Nov 20 12:00) $300 is spent; 10.5 days are left;
    # mean 100, sample sd 10: point 300 + 1050 = 1350, band 1350 -/+ 2 x 10 x sqrt(10.5).
    for n, amount in ((17, "90"), (18, "100"), (19, "110")):
        spend(day(n), amount)
    subject = budget(amount="1000", forecast=True)
    status = budget_status(subject, NOW)
    chart = budget_chart(status, daily_spend(subject, status.start, NOW))
    traces = {trace["name"]: trace for trace in chart["data"]}

    actual = traces["Actual (cumulative)"]
    assert actual["x"][0] == "2026-11-01 00:00" and actual["y"][0] == 0
    assert dict(zip(actual["x"], actual["y"], strict=True))["2026-11-18 00:00"] == 90
    assert actual["x"][-3:] == ["2026-11-19 00:00", "2026-11-20 00:00", "2026-11-20 12:00"]
    assert actual["y"][-3:] == [190, 300, 300]

    forecast = traces["Forecast"]
    assert forecast["x"][0] == "2026-11-20 12:00" and forecast["y"][0] == 300
    assert forecast["x"][-1] == "2026-12-01 00:00" and forecast["y"][-1] == 1350

    band = traces["Forecast band"]["y"]
    spread = 2 * 10 * Decimal("10.5").sqrt()
    assert max(band) == float(round(1350 + spread, 2)) == 1414.81
    assert min(band) == 300 and float(round(1350 - spread, 2)) in band

    assert traces["Budget"]["y"] == [1000, 1000]
    assert traces["Budget"]["x"] == ["2026-11-01 00:00", "2026-12-01 00:00"]
    # The 50 % and 80 % thresholds are faint lines at $500 and $800.
    assert sorted(shape["y0"] for shape in chart["layout"]["shapes"]) == [500, 800]


def test_a_budget_without_enough_data_draws_actual_and_budget_only():
    spend(day(19), "50")
    subject = budget(forecast=True)
    status = budget_status(subject, NOW)
    chart = budget_chart(status, daily_spend(subject, status.start, NOW))
    assert [trace["name"] for trace in chart["data"]] == ["Actual (cumulative)", "Budget"]


def test_budget_names_from_data_are_escaped_on_the_pages(client):
    budget(name="<script>alert(1)</script>", scope={"team": "<b>x</b>"})
    login(client, finance_user())
    html = client.get("/budgets/").content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_bad_form_input_shows_the_field_error_and_creates_nothing(client):
    login(client, finance_user())
    response = client.post("/budgets/new/", {**FORM, "amount": "12abc"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "is not an amount" in field_errors(html, "amount")
    assert field_errors(html, "name") == ""

    # Errors found by the service land on the field that holds them, the item named.
    html = client.post("/budgets/new/", {**FORM, "thresholds": "50, 0"}).content.decode()
    assert "thresholds[1]: 0 is not a percentage" in field_errors(html, "thresholds")
    html = client.post("/budgets/new/", {**FORM, "thresholds": "50, lots"}).content.decode()
    assert "item 2 (&#x27;lots&#x27;) is not a whole number" in field_errors(html, "thresholds")
    html = client.post("/budgets/new/", {**FORM, "scope_value": " "}).content.decode()
    assert "scope.team: is required" in field_errors(html, "scope_value")
    html = client.post("/budgets/new/", {**FORM, "currency": "usd"}).content.decode()
    assert "is not a currency code" in field_errors(html, "currency")
    assert Budget.objects.count() == 0


def test_finance_edits_a_budget_and_a_bad_edit_changes_nothing(client):
    subject = budget(name="Search", scope={"team": "search"}, thresholds=[80, 100])
    login(client, finance_user())
    html = client.get(f"/budgets/{subject.pk}/edit/").content.decode()
    assert 'value="80, 100"' in html and 'value="1000"' in html

    bad = client.post(f"/budgets/{subject.pk}/edit/", {**FORM, "amount": "-3"})
    assert bad.status_code == 400 and "is not positive" in bad.content.decode()
    subject.refresh_from_db()
    assert (subject.name, subject.amount) == ("Search", 1000)

    assert (
        client.post(f"/budgets/{subject.pk}/edit/", {**FORM, "amount": "2500"}).status_code == 302
    )
    subject.refresh_from_db()
    assert (subject.name, subject.amount, subject.thresholds) == (
        "Search inference",
        2500,
        [50, 80, 100],
    )


@pytest.fixture
def two_teams():
    """A budget for search, one for ads and one for the whole org, each with a fired alert."""
    spend(day(10), "900", team="search")
    spend(day(10), "900", team="ads", model="mistral")
    budgets = {
        "search": budget(name="Search budget", scope={"team": "search"}),
        "ads": budget(name="Ads budget", scope={"team": "ads"}),
        "org": budget(name="Company budget"),
    }
    for subject in budgets.values():
        evaluate_budget(subject, NOW)
    alerts = {key: Alert.objects.filter(budget=b, lead=None).get() for key, b in budgets.items()}
    return budgets, alerts


def test_a_lead_sees_only_their_teams_budgets_and_alerts(client, two_teams):
    budgets, alerts = two_teams
    login(client, team_lead("search"))
    html = client.get("/budgets/").content.decode()
    assert "Search budget" in html
    assert "Ads budget" not in html and "Company budget" not in html
    assert "New budget" not in html and "Channels" not in html

    page = client.get(f"/budgets/{budgets['search'].pk}/")
    assert page.status_code == 200 and f'id="alert-{alerts["search"].pk}"' in page.content.decode()
    for other in ("ads", "org"):
        assert client.get(f"/budgets/{budgets[other].pk}/").status_code == 404
        assert client.get(f"/budgets/{budgets[other].pk}/edit/").status_code == 403
        acknowledge = client.post(f"/budgets/alerts/{alerts[other].pk}/acknowledge/")
        assert acknowledge.status_code == 404
        snooze = client.post(f"/budgets/alerts/{alerts[other].pk}/snooze/", {"hours": "24"})
        assert snooze.status_code == 404
    assert not Alert.objects.filter(acknowledged_at__isnull=False).exists()
    assert not Alert.objects.filter(snoozed_until__isnull=False).exists()
    # Creating budgets and the channels are finance's.
    assert client.get("/budgets/new/").status_code == 403
    assert client.get("/budgets/channels/").status_code == 403


def test_a_lead_acknowledges_and_snoozes_their_own_alert(client, two_teams):
    _, alerts = two_teams
    lead = team_lead("search")
    login(client, lead)
    alert = alerts["search"]
    assert client.get(f"/budgets/alerts/{alert.pk}/acknowledge/").status_code == 405
    response = client.post(f"/budgets/alerts/{alert.pk}/acknowledge/")
    assert response["Location"] == f"/budgets/{alert.budget_id}/#alert-{alert.pk}"
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None and alert.acknowledged_by == lead

    before = timezone.now()
    assert client.post(f"/budgets/alerts/{alert.pk}/snooze/", {"hours": "24"}).status_code == 302
    alert.refresh_from_db()
    assert (
        timedelta(hours=23, minutes=59)
        < alert.snoozed_until - before
        < timedelta(hours=24, minutes=1)
    )
    bad = client.post(f"/budgets/alerts/{alert.pk}/snooze/", {"hours": "9999"})
    assert bad.status_code == 400 and "hours" in bad.content.decode()


def test_the_alert_history_shows_each_channels_delivery_with_its_error_masked(client):
    url = "https://hooks.slack.com/services/T0/B0/very-secret"
    slack = services.create_channel("eng-slack", "slack", url)
    mail = services.create_channel("finops", "email", "finops@example.com")
    spend(day(10), "900")
    subject = budget(name="Org", channels=[slack.pk, mail.pk])
    evaluate_budget(subject, NOW)
    Delivery.objects.filter(channel=slack).update(
        status="failed", attempts=3, last_error=f"HTTP 500 from {url}"
    )
    Delivery.objects.filter(channel=mail).update(status="sent", attempts=1, sent_at=NOW)
    login(client, finance_user())
    html = client.get(f"/budgets/{subject.pk}/").content.decode()
    slack_row = re.search(r'data-channel="eng-slack">(.*?)</div>', html, re.S).group(1)
    assert "Failed, retrying" in slack_row and "3 attempts" in slack_row
    assert "HTTP 500 from ***" in slack_row
    mail_row = re.search(r'data-channel="finops">(.*?)</div>', html, re.S).group(1)
    assert "Sent" in mail_row and "1 attempt," in mail_row
    assert "very-secret" not in html and "finops@example.com" not in html


def test_finance_creates_a_channel_sees_it_masked_and_re_enters_a_broken_target(client):
    login(client, finance_user())
    url = "https://hooks.slack.com/services/T0/B0/very-secret"
    response = client.post(
        "/budgets/channels/", {"name": "eng", "kind": "slack", "target": url, "secret": ""}
    )
    assert response.status_code == 302
    channel = Channel.objects.get()
    assert channel.target == url

    bad = client.post("/budgets/channels/", {"name": "x", "kind": "slack", "target": "nope"})
    assert bad.status_code == 400
    assert "is not a URL" in field_errors(bad.content.decode(), "target")
    assert Channel.objects.count() == 1

    Channel.objects.filter(pk=channel.pk).update(
        broken_at=datetime(2026, 11, 20, tzinfo=UTC), broken_reason="Slack answered 404"
    )
    html = client.get("/budgets/channels/").content.decode()
    row = re.search(rf'id="channel-{channel.pk}"(.*?)</tr>', html, re.S).group(1)
    assert "https://hooks.slack.com/***" in row and "broken" in row and "Slack answered 404" in row
    assert "very-secret" not in html

    field = f"c{channel.pk}-target"
    assert (
        client.post(f"/budgets/channels/{channel.pk}/target/", {field: "nope"}).status_code == 400
    )
    new = "https://hooks.slack.com/services/T0/B0/new-secret"
    assert client.post(f"/budgets/channels/{channel.pk}/target/", {field: new}).status_code == 302
    channel.refresh_from_db()
    assert channel.target == new and not channel.is_broken


def test_test_send_reaches_a_loopback_server_once_and_shows_the_result(client, httpserver):
    httpserver.expect_request("/services/T0/B0/ok", method="POST").respond_with_data("ok")
    httpserver.expect_request("/services/T0/B0/busy").respond_with_response(
        Response("busy", status=500)
    )
    ok = services.create_channel("good", "slack", httpserver.url_for("/services/T0/B0/ok"))
    busy = services.create_channel("flaky", "slack", httpserver.url_for("/services/T0/B0/busy"))
    login(client, finance_user())

    html = client.post(f"/budgets/channels/{ok.pk}/test/").content.decode()
    row = re.search(rf'id="channel-{ok.pk}"(.*?)</tr>', html, re.S).group(1)
    assert "Test message sent." in row
    ((request, _),) = httpserver.log
    assert request.get_json()["text"].startswith("Test notification")

    html = client.post(f"/budgets/channels/{busy.pk}/test/").content.decode()
    row = re.search(rf'id="channel-{busy.pk}"(.*?)</tr>', html, re.S).group(1)
    assert "Test failed" in row and "500" in row
    assert "/services/T0/B0/busy" not in html
    # One request each: a test does not retry, and leaves no outbox row behind.
    assert [r.path for r, _ in httpserver.log] == ["/services/T0/B0/ok", "/services/T0/B0/busy"]
    assert not Delivery.objects.exists()
