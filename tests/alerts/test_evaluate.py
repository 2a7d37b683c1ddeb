"""Evaluation: each crossing fires once, one message names the highest, thresholds re-arm on a
new period and after a budget is raised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from costapp.alerts import services
from costapp.alerts.delivery import deliver_due
from costapp.alerts.evaluate import evaluate_all, evaluate_budget
from costapp.alerts.models import Alert, Delivery

from .conftest import NOW, budget, day, spend

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel():
    return services.create_channel("finops", "email", "finops@example.com")


def test_one_message_names_the_highest_threshold_crossed(channel):
    spend(day(10), "850")
    target = budget(channels=[channel.pk])
    result = evaluate_budget(target, NOW)
    assert sorted(a.threshold for a in result.fired) == [50, 80]
    delivery = Delivery.objects.get()
    assert delivery.alert.threshold == 80
    assert Alert.objects.get(threshold=50).lead == delivery.alert


def test_three_evaluations_in_a_row_deliver_one_message_per_channel(channel, smtp, httpserver):
    httpserver.expect_request("/slack").respond_with_data("ok")
    slack = services.create_channel("eng", "slack", httpserver.url_for("/slack"))
    spend(day(10), "850")
    target = budget(channels=[channel.pk, slack.pk])
    for _ in range(3):
        evaluate_budget(target, NOW)
        deliver_due(NOW)
    assert Alert.objects.count() == 2
    assert Delivery.objects.filter(status="sent").count() == 2
    assert len(smtp.messages) == 1 and len(httpserver.log) == 1


def test_a_new_period_rearms_every_threshold(channel):
    spend(day(10), "850")
    spend(datetime(2026, 12, 3, tzinfo=UTC), "900")
    target = budget(channels=[channel.pk])
    evaluate_budget(target, NOW)
    december = evaluate_budget(target, datetime(2026, 12, 5, tzinfo=UTC))
    assert sorted(a.threshold for a in december.fired) == [50, 80]
    assert december.fired[0].period_start.isoformat() == "2026-12-01"
    assert Delivery.objects.count() == 2


def test_raising_the_budget_rearms_thresholds_no_longer_crossed(channel):
    spend(day(10), "850")
    target = budget(channels=[channel.pk])
    evaluate_budget(target, NOW)
    services.update_budget(target, amount="1600")  # 850 is 53 %: 80 % is no longer crossed
    after_raise = evaluate_budget(target, NOW)
    assert after_raise.fired == [] and after_raise.cleared == 1
    assert Alert.objects.get(threshold=50).cleared_at is None  # still crossed: not re-fired
    spend(day(11), "500")  # 1350 of 1600 = 84 %
    again = evaluate_budget(target, NOW)
    assert [a.threshold for a in again.fired] == [80]
    assert Delivery.objects.count() == 2


def test_a_value_just_below_the_threshold_does_not_rearm_it(channel):
    spend(day(10), "800")
    target = budget(channels=[channel.pk])
    evaluate_budget(target, NOW)
    services.update_budget(target, amount="1020")  # 78 %: within the 5 % margin of 80 %
    assert evaluate_budget(target, NOW).cleared == 0


def test_forecast_crossing_fires_its_own_alert(channel):
    for n, amount in ((1, "10"), (2, "20"), (3, "30")):
        spend(day(n), amount)
    target = budget(channels=[channel.pk], forecast=True)
    result = evaluate_budget(target, day(4, hour=0))  # forecast 600 of 1000
    assert [(a.threshold, a.kind) for a in result.fired] == [(50, "forecast")]
    assert result.fired[0].forecast == 600


def test_a_snoozed_budget_records_alerts_without_messages(channel):
    spend(day(10), "600")
    target = budget(channels=[channel.pk])
    first = evaluate_budget(target, NOW).fired[0]
    services.snooze(first, NOW + timedelta(days=3650))
    spend(day(11), "300")
    result = evaluate_budget(target, NOW)
    assert [a.threshold for a in result.fired] == [80]
    assert Alert.objects.get(threshold=80).suppressed.startswith("snoozed until")
    assert Delivery.objects.count() == 1


def test_evaluate_command_runs_an_evaluation_and_a_delivery_pass(smtp, capsys):
    spend(datetime.now(UTC).replace(day=1, hour=0), "900")
    channel = services.create_channel("finops", "email", "finops@example.com")
    budget(channels=[channel.pk])
    call_command("evaluate_alerts")
    assert "2 alert(s) fired; 1 message(s) sent" in capsys.readouterr().out
    assert len(smtp.messages) == 1


def test_one_broken_budget_does_not_stop_the_others(channel):
    spend(day(10), "900")
    bad = budget(name="bad", channels=[channel.pk])
    good = budget(name="good", channels=[channel.pk])
    type(bad).objects.filter(pk=bad.pk).update(basis="nonsense")
    results = evaluate_all(NOW)
    assert [r.budget.pk for r in results] == [good.pk]
