"""Alert rules: validation naming the field, unit cost over a ceiling and week over week, a pool
idle for N hours, once per window across evaluations, re-armed by the next window, one message
per evaluation delivered through real loopback servers, and the admin that configures them."""

from __future__ import annotations

import hmac
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse

from costapp.alerts import rules, services
from costapp.alerts.channels.webhook.transport import SIGNATURE_HEADER, sign
from costapp.alerts.delivery import deliver_due
from costapp.alerts.evaluate import evaluate_all
from costapp.alerts.models import Alert, AlertRule, Delivery
from costapp.attribution.models import Allocation

pytestmark = pytest.mark.django_db

POOL = "aws/us-east-1/H100"
NOW = datetime(2026, 11, 20, 12, 5, tzinfo=UTC)  # last complete hour: 11:00


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def usage(when, cost, tokens, *, model="llama-70b", gpu_hours="1", pool=POOL) -> None:
    Allocation.objects.create(
        hour=when,
        resource_id="i-gpu",
        pool=pool,
        kind="usage",
        team="search",
        model=model,
        endpoint="chat",
        amortized_cost=Decimal(cost),
        billed_cost=Decimal(cost),
        currency="USD",
        input_tokens=tokens,
        gpu_hours=Decimal(gpu_hours),
    )


def idle(when, cost, gpu_hours="1", pool=POOL) -> None:
    Allocation.objects.create(
        hour=when,
        resource_id="i-gpu",
        pool=pool,
        kind="idle",
        amortized_cost=Decimal(cost),
        billed_cost=Decimal(cost),
        currency="USD",
        gpu_hours=Decimal(gpu_hours),
    )


def day_of_use(day: int, cost_per_hour: str, model: str = "llama-70b", hours=range(12)) -> None:
    """1M tokens an hour at `cost_per_hour`: the cost per 1M tokens is that cost."""
    for hour in hours:
        usage(at(day, hour), cost_per_hour, 1_000_000, model=model)


def unit_rule(channels=(), **parameters) -> AlertRule:
    return rules.create_rule(
        name="Unit cost",
        kind="unit_cost",
        scope={"model": "*"},
        parameters=parameters,
        channels=[c.pk for c in channels],
    )


def idle_rule(channels=(), **parameters) -> AlertRule:
    return rules.create_rule(
        name="Idle H100",
        kind="idle",
        scope={"pool": POOL},
        parameters=parameters,
        channels=[c.pk for c in channels],
    )


# --- validation ---------------------------------------------------------------------------


def test_bad_input_names_each_field_and_stores_nothing():
    with pytest.raises(ValidationError) as caught:
        rules.create_rule(
            name="",
            kind="unit_cost",
            scope={"pool": "x"},
            parameters={"ceiling": "-1", "window": "year", "min_tokens": True, "colour": 1},
            channels=[999],
        )
    errors = caught.value.message_dict
    assert set(errors) == {
        "name",
        "scope",
        "parameters.ceiling",
        "parameters.window",
        "parameters.min_tokens",
        "parameters.colour",
        "channels",
    }
    assert "out of range" in errors["parameters.ceiling"][0]
    assert AlertRule.objects.count() == 0


@pytest.mark.parametrize(
    ("kind", "scope", "parameters", "field"),
    [
        ("unit_cost", {"model": "*"}, {}, "parameters.ceiling"),  # neither ceiling nor increase
        ("idle", {"pool": "*"}, {"hours": 6}, "parameters.level"),
        ("idle", {"pool": "*"}, {"level": 40, "hours": 500}, "parameters.hours"),
        ("anomaly", {"team": "*"}, {"threshold": "x"}, "parameters.threshold"),
        ("anomaly", {"team": "*"}, {"floor": -5}, "parameters.floor"),
        ("anomaly", {"endpoint": "*"}, {}, "scope"),
        ("anomaly", {"team": ""}, {}, "scope.team"),
        ("budget", {"team": "*"}, {}, "kind"),
    ],
)
def test_each_kind_checks_its_parameters(kind, scope, parameters, field):
    with pytest.raises(ValidationError) as caught:
        rules.create_rule(name="r", kind=kind, scope=scope, parameters=parameters)
    assert field in caught.value.message_dict


def test_parameters_are_stored_with_their_defaults_and_updates_are_checked_again():
    rule = rules.create_rule(name="a", kind="anomaly", scope={"team": "search"})
    assert (rule.scope_kind, rule.scope_value) == ("team", "search")
    assert rule.parameters == {
        "threshold": "3.5",
        "floor": "50",
        "baseline_days": 28,
        "direction": "up",
        "basis": "amortized",
        "idle": "fully_loaded",
        "currency": "USD",
    }
    with pytest.raises(ValidationError) as caught:
        rules.update_rule(rule, kind="idle")  # the anomaly's parameters are not an idle rule's
    assert "scope" in caught.value.message_dict
    rule.refresh_from_db()
    assert rule.kind == "anomaly"
    rules.update_rule(rule, parameters={"threshold": 5}, enabled=False)
    rule.refresh_from_db()
    assert (rule.parameters["threshold"], rule.enabled) == ("5", False)


# --- unit cost ----------------------------------------------------------------------------


def unit_alerts(kind: str) -> list[Alert]:
    return list(Alert.objects.filter(kind=kind).order_by("scope", "window_start"))


def test_a_model_above_its_ceiling_fires_and_one_below_does_not():
    day_of_use(20, "5")  # $5 per 1M tokens
    day_of_use(20, "2", model="mistral-7b")
    unit_rule(ceiling="4")
    evaluate_all(NOW)
    (alert,) = unit_alerts("ceiling")
    assert alert.scope == "model=llama-70b"
    assert (alert.spent, alert.budget_amount) == (Decimal(5), Decimal(4))
    assert (alert.window_start, alert.window_end) == (at(20, 0), at(20, 12))
    assert "is $5.00, above its ceiling of $4.00 (fully loaded)" in alert.details["headline"]


def test_the_ceiling_is_on_the_fully_loaded_cost_unless_busy_only():
    for hour in range(12):
        usage(at(20, hour), "3", 1_000_000)
        idle(at(20, hour), "2")  # fully loaded: $5 per 1M tokens
    unit_rule(ceiling="4")
    rules.create_rule(
        name="busy",
        kind="unit_cost",
        scope={"model": "llama-70b"},
        parameters={"ceiling": "4", "idle": "busy_only"},
    )
    evaluate_all(NOW)
    (alert,) = unit_alerts("ceiling")
    assert alert.rule.name == "Unit cost" and alert.spent == Decimal(5)


def test_too_few_tokens_are_not_judged():
    usage(at(20, 3), "50", 10_000)  # $5000 per 1M, from 10k tokens
    unit_rule(ceiling="4", min_tokens=100_000)
    evaluate_all(NOW)
    assert unit_alerts("ceiling") == []


def test_up_more_than_x_percent_on_the_same_hours_of_the_previous_week():
    day_of_use(20, "4")
    day_of_use(13, "3")  # same weekday, same hours: $3
    day_of_use(13, "100", hours=range(12, 24))  # later that day: not in the compared window
    unit_rule(max_increase_pct=20)
    evaluate_all(NOW)
    (alert,) = unit_alerts("increase")
    values = alert.details["values"]
    assert Decimal(values["previous"]) == 3
    assert Decimal(values["increase_pct"]).quantize(Decimal("0.01")) == Decimal("33.33")
    assert "up 33.3% on the previous week: $4.00 against $3.00" in alert.details["headline"]


def test_an_increase_within_the_limit_does_not_fire():
    day_of_use(20, "3.5")
    day_of_use(13, "3")  # +16.7 %
    unit_rule(max_increase_pct=20)
    evaluate_all(NOW)
    assert unit_alerts("increase") == []


def test_a_weekly_window_compares_week_to_date_with_the_previous_weeks_same_hours():
    # Nov 16 2026 is a Monday: the week to date is Nov 16 00:00 to Nov 20 12:00.
    day_of_use(16, "6")
    day_of_use(20, "2")
    day_of_use(9, "3")
    day_of_use(13, "3")
    unit_rule(max_increase_pct=20, window="week")
    evaluate_all(NOW)
    (alert,) = unit_alerts("increase")
    assert alert.window_start == at(16, 0)
    assert Decimal(alert.details["values"]["unit_cost"]) == 4  # (6 + 2) / 2 over 24M tokens


def test_fires_once_across_three_evaluations_and_rearms_the_next_day(smtp):
    mail = services.create_channel("finops", "email", "finops@example.com")
    day_of_use(20, "5")
    unit_rule(channels=[mail], ceiling="4")
    for minutes in (0, 15, 30):
        evaluate_all(NOW + timedelta(minutes=minutes))
        deliver_due(NOW + timedelta(minutes=minutes))
    assert len(unit_alerts("ceiling")) == 1
    assert len(smtp.messages) == 1
    day_of_use(21, "5")
    evaluate_all(NOW + timedelta(days=1))
    deliver_due(NOW + timedelta(days=1))
    assert [a.window_start for a in unit_alerts("ceiling")] == [at(20, 0), at(21, 0)]
    assert len(smtp.messages) == 2
    text = smtp.messages[0].get_body(("plain",)).get_content()
    assert "Cost per 1M tokens: $5.00 (fully loaded)" in text
    assert "Ceiling: $4.00" in text
    assert "Budget:" not in text


def test_several_scopes_in_one_evaluation_send_one_message_led_by_the_worst(httpserver):
    httpserver.expect_request("/slack").respond_with_data("ok")
    slack = services.create_channel("eng", "slack", httpserver.url_for("/slack"))
    day_of_use(20, "5")
    day_of_use(20, "8", model="mistral-7b")
    unit_rule(channels=[slack], ceiling="4")
    result = next(e for e in evaluate_all(NOW) if hasattr(e, "rule"))
    assert len(result.fired) == 2 and result.deliveries == 1
    lead = Delivery.objects.get().alert
    assert lead.scope == "model=mistral-7b"
    assert deliver_due(NOW).sent
    (request, _), *_ = httpserver.log
    payload = json.loads(request.get_data())
    assert payload["blocks"][0]["text"]["text"] == "Unit cost"
    fields = [f["text"] for f in payload["blocks"][2]["fields"]]
    assert "*Cost per 1M tokens:* $8.00 (fully loaded)" in fields
    context = payload["blocks"][-2]["elements"]
    assert any("model=llama-70b $5.00 per 1M tokens" in e["text"] for e in context)


# --- idle -----------------------------------------------------------------------------------


def idle_hours(day: int, hours, busy: str, idle_gpu: str) -> None:
    for hour in hours:
        usage(at(day, hour), "10", 1000, gpu_hours=busy)
        idle(at(day, hour), "7", gpu_hours=idle_gpu)


def test_a_pool_idle_above_its_level_for_n_hours_fires_once_per_streak():
    idle_hours(20, [3], busy="9", idle_gpu="1")  # 10 % idle
    idle_hours(20, range(4, 10), busy="1", idle_gpu="3")  # 75 % idle, 6 hours
    idle_hours(20, [10, 11], busy="9", idle_gpu="1")
    idle_rule(level=50, hours=6)
    idle_rule(level=50, hours=7)
    for minutes in (0, 15, 30):
        evaluate_all(NOW + timedelta(minutes=minutes))
    (alert,) = Alert.objects.filter(kind="idle")
    assert alert.rule.parameters["hours"] == 6
    assert (alert.window_start, alert.window_end) == (at(20, 4), at(20, 10))
    assert alert.spent == Decimal(42)  # 6 hours x $7 of idle
    assert Decimal(alert.details["values"]["idle_pct"]) == 75
    assert (
        "more than 50% idle for 6 hours in a row since 2026-11-20 04:00"
        in (alert.details["headline"])
    )


def test_a_streak_still_going_fires_once_and_a_new_streak_rearms():
    idle_hours(20, range(2, 12), busy="1", idle_gpu="3")
    idle_rule(level=50, hours=6)
    evaluate_all(NOW)
    idle_hours(20, range(12, 16), busy="1", idle_gpu="3")  # the same streak, longer
    evaluate_all(NOW + timedelta(hours=4))
    assert Alert.objects.filter(kind="idle").count() == 1
    idle_hours(20, [16], busy="9", idle_gpu="1")  # broken
    idle_hours(20, range(17, 23), busy="1", idle_gpu="3")
    evaluate_all(at(20, 23) + timedelta(minutes=5))
    starts = list(Alert.objects.filter(kind="idle").values_list("window_start", flat=True))
    assert sorted(starts) == [at(20, 2), at(20, 17)]


def test_an_hour_without_data_breaks_a_streak():
    idle_hours(20, range(2, 5), busy="1", idle_gpu="3")
    idle_hours(20, range(6, 9), busy="1", idle_gpu="3")  # 05:00 missing
    idle_rule(level=50, hours=6)
    evaluate_all(NOW)
    assert not Alert.objects.filter(kind="idle").exists()


def test_an_idle_alert_is_delivered_to_a_signed_webhook(httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    hook = services.create_channel("hook", "webhook", httpserver.url_for("/hook"), secret="s3")
    idle_hours(20, range(4, 12), busy="1", idle_gpu="3")
    idle_rule(channels=[hook], level=50, hours=6)
    evaluate_all(NOW)
    assert deliver_due(NOW).sent
    ((request, _),) = httpserver.log
    body = request.get_data()
    assert hmac.compare_digest(request.headers[SIGNATURE_HEADER], sign("s3", body))
    payload = json.loads(body)
    assert (payload["kind"], payload["rule"], payload["scope"]) == (
        "idle",
        "Idle H100",
        f"pool={POOL}",
    )
    assert payload["values"]["hours"] == "8"
    assert {"label": "Idle cost", "text": "$56.00"} in payload["facts"]
    assert payload["url"].endswith("/units/?start=2026-11-20&end=2026-11-20&by=team&grain=hour")


def test_a_disabled_rule_or_one_without_a_channel_sends_nothing():
    idle_hours(20, range(4, 12), busy="1", idle_gpu="3")
    rule = idle_rule(level=50, hours=6)
    rules.update_rule(rule, enabled=False)
    evaluate_all(NOW)
    assert not Alert.objects.exists()
    rules.update_rule(rule, enabled=True)
    evaluate_all(NOW)
    assert Alert.objects.get().suppressed == "the rule has no channel"
    assert not Delivery.objects.exists()


# --- admin ----------------------------------------------------------------------------------


def test_finance_configures_rules_in_the_admin(client):
    admin = get_user_model().objects.create_superuser("fin", "fin@example.com", "pw")
    client.force_login(admin)
    url = reverse("admin:alerts_alertrule_add")
    form = {
        "name": "Idle",
        "kind": "idle",
        "scope_kind": "pool",
        "scope_value": "",
        "parameters": '{"level": 250}',
        "enabled": "on",
    }
    page = client.post(url, form)
    assert page.status_code == 200 and "level: " in page.content.decode()
    assert not AlertRule.objects.exists()
    page = client.post(url, {**form, "parameters": '{"level": 40}'})
    assert page.status_code == 302
    rule = AlertRule.objects.get()
    assert rule.parameters == {"level": "40", "hours": 6, "currency": "USD"}
    assert client.get(reverse("admin:alerts_alertrule_changelist")).status_code == 200
