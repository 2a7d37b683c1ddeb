"""The demo's budgets, alert channel and alert rules, as a finance team would set them up, and
one evaluation so /budgets/ shows spend, forecast and whatever fired.

Everything is matched by name and put back as shipped, so re-running the demo creates nothing
twice. The one channel is email to a local mailbox (`alerts@localhost`): nothing the demo fires
can reach anyone outside the machine. No delivery pass runs here; with a worker and an SMTP
server on localhost (EMAIL_URL) the outbox would be sent there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from costapp.alerts.evaluate import evaluate_all
from costapp.alerts.models import AlertRule, Budget, Channel, ChannelKind
from costapp.alerts.rules import create_rule, update_rule
from costapp.alerts.services import (
    create_budget,
    create_channel,
    set_channel_target,
    update_budget,
)

CHANNEL_NAME = "Finance alerts (local mailbox)"
# A local address: Django's email validator accepts the bare "localhost" domain, and mail to it
# never leaves the machine.
CHANNEL_TARGET = "alerts@localhost"

# Monthly amounts sized against the demo's run rate, fully loaded (about $123k a month in all,
# Search about $31k, Assistant about $57k, llama-3.1-70b about $74k): the org and Search budgets
# hold, Assistant runs at about 95% of its budget and llama-3.1-70b over its own, so their
# forecasts cross a threshold at any point of the month.
DEMO_BUDGETS = (
    dict(name="Organisation: monthly GPU spend", scope={}, amount="150000.00"),
    dict(name="Search team: monthly", scope={"team": "search"}, amount="40000.00"),
    dict(name="Assistant team: monthly", scope={"team": "assistant"}, amount="60000.00"),
    dict(
        name="llama-3.1-70b-instruct: monthly",
        scope={"model": "llama-3.1-70b-instruct"},
        amount="70000.00",
    ),
)
# The budgets whose alerts are sent to the channel; the others record theirs on the page only.
NOTIFIED_BUDGETS = frozenset({"Organisation: monthly GPU spend", "Assistant team: monthly"})

DEMO_ALERT_RULES = (
    dict(
        name="Unit cost: any model above $15 per 1M tokens",
        kind="unit_cost",
        scope={"model": "*"},
        parameters={"ceiling": "15.00", "max_increase_pct": "50"},
    ),
    # Nights idle every pool for a few hours; a half day at 80% is worth a message.
    dict(
        name="Idle: a GPU pool over 80% idle for 12 hours",
        kind="idle",
        scope={"pool": "*"},
        parameters={"level": "80", "hours": 12},
    ),
    dict(
        name="Anomaly: a team's daily spend off its baseline",
        kind="anomaly",
        scope={"team": "*"},
        parameters={},
    ),
)


@dataclass
class DemoAlerts:
    budgets: list[Budget] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    rules: list[AlertRule] = field(default_factory=list)
    fired: int = 0


def demo_channel() -> Channel:
    channel = Channel.objects.filter(name=CHANNEL_NAME).first()
    if channel is None:
        return create_channel(CHANNEL_NAME, ChannelKind.EMAIL, CHANNEL_TARGET)
    if channel.kind != ChannelKind.EMAIL:
        channel.kind = ChannelKind.EMAIL
        channel.save(update_fields=["kind"])
    if channel.target != CHANNEL_TARGET or channel.is_broken:
        set_channel_target(channel, CHANNEL_TARGET)
    return channel


def demo_budgets(channel: Channel) -> list[Budget]:
    budgets = []
    for spec in DEMO_BUDGETS:
        data = {**spec, "channels": [channel.pk] if spec["name"] in NOTIFIED_BUDGETS else []}
        current = Budget.objects.filter(name=spec["name"]).order_by("id").first()
        if current is None:
            budgets.append(create_budget(**data))
        else:
            budgets.append(update_budget(current, **data))
    return budgets


def demo_alert_rules(channel: Channel) -> list[AlertRule]:
    rules = []
    for spec in DEMO_ALERT_RULES:
        data = {**spec, "channels": [channel.pk], "enabled": True}
        current = AlertRule.objects.filter(name=spec["name"]).order_by("id").first()
        if current is None:
            rules.append(create_rule(**data))
        else:
            rules.append(update_rule(current, **data))
    return rules


def set_up_alerts(now: datetime) -> DemoAlerts:
    """Create or restore the demo's channel, budgets and rules, then evaluate them once as of
    `now` (the end of the demo's data). An alert fires once per threshold and window, so a
    second run fires nothing new for the same data."""
    channel = demo_channel()
    result = DemoAlerts(
        budgets=demo_budgets(channel), channels=[channel], rules=demo_alert_rules(channel)
    )
    result.fired = sum(len(evaluation.fired) for evaluation in evaluate_all(now))
    return result
