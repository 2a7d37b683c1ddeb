"""Creating channels and budgets: bad input names the field and stores nothing; evaluation runs
after an attribution task succeeds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from costapp.alerts import services
from costapp.alerts.models import Alert, Budget, Channel
from costapp.attribution.tasks import recompute_from

from .conftest import spend

pytestmark = pytest.mark.django_db


def errors_of(call, *args, **kwargs) -> dict:
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    return caught.value.message_dict


def test_bad_budget_input_names_each_field_and_creates_nothing():
    errors = errors_of(
        services.create_budget,
        name="x",
        amount="-5",
        scope={"squad": "a"},
        thresholds=[50, "80", 0],
        currency="usd",
        channels=[999],
        colour="red",
    )
    assert set(errors) == {
        "amount", "scope", "thresholds[1]", "thresholds[2]", "currency", "channels", "colour",
    }  # fmt: skip
    assert "999" in errors["channels"][0]
    assert Budget.objects.count() == 0


def test_budget_defaults_follow_the_issue():
    budget = services.create_budget(name="All", amount="1000.00")
    assert (budget.scope_label, budget.period, budget.currency) == ("org", "month", "USD")
    assert (budget.basis, budget.idle, budget.thresholds, budget.forecast) == (
        "amortized", "fully_loaded", [50, 80, 100], True,
    )  # fmt: skip
    team = services.create_budget(name="Search", amount=500, scope={"team": "search"})
    assert team.scope_label == "team=search"


def test_bad_channel_input_names_the_field():
    assert set(errors_of(services.create_channel, "", "fax", "x")) == {"name", "kind"}
    assert "target" in errors_of(services.create_channel, "m", "email", "not-an-address")
    assert "target" in errors_of(services.create_channel, "s", "slack", "hooks.slack.com/x")
    assert Channel.objects.count() == 0


def test_a_webhook_gets_a_random_secret_when_none_is_given():
    channel = services.create_channel("w", "webhook", "https://example.com/hook")
    assert len(channel.secret) >= 32


def test_an_attribution_task_that_succeeds_triggers_an_evaluation():
    now = datetime.now(UTC)
    spend(now.replace(day=1, hour=0), "900")
    services.create_budget(name="All", amount="1000")
    # An empty window ahead: the engine stores nothing, and the task succeeds.
    start = (now + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    recompute_from.delay(start.isoformat(), (start + timedelta(hours=1)).isoformat())
    assert sorted(Alert.objects.values_list("threshold", flat=True)) == [50, 80]
