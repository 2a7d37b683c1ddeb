"""What an alert rule found, fired once and announced: the claim, outbox and message of rule
alerts (costapp.alerts.rules and costapp.alerts.anomaly find; this module fires).

Once: like a budget's, a rule's alert is claimed by INSERT ... ON CONFLICT DO NOTHING against a
partial unique index, here over (rule, scope, window start, kind) of the alerts not cleared, so
two workers, a restart or a re-run never fire it twice, and a new window (the next day or week,
a new idle streak) is a new key: it re-arms. The alerts and their deliveries commit together.
One evaluation of one rule sends one message: the most severe finding leads, the others are
covered by it and listed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction

from costapp.money import written_in

from .message import Message, site_url
from .models import Alert, AlertRule
from .outbox import announce

HOUR = timedelta(hours=1)

_CLAIM = """
INSERT INTO alerts_alert (rule_id, budget_id, scope, period_start, period_end, threshold, kind,
    fired_at, budget_amount, currency, spent, drivers, suppressed, window_start, window_end,
    details)
VALUES (%(rule)s, NULL, %(scope)s, %(period_start)s, %(period_end)s, 0, %(kind)s, %(now)s,
    %(reference)s, %(currency)s, %(observed)s, %(drivers)s::jsonb, '', %(window_start)s,
    %(window_end)s, %(details)s::jsonb)
ON CONFLICT DO NOTHING
RETURNING id"""


@dataclass(frozen=True)
class Finding:
    """One scope of one rule over one window that is past the rule's limit."""

    scope: str  # "model=llama-70b", "pool=aws/us-east-1/H100", "team=search"
    kind: str  # AlertKind: ceiling | increase | idle | anomaly
    window_start: datetime
    window_end: datetime  # exclusive
    summary: str  # one line, listed under "also" when another finding leads
    headline: str
    currency: str
    observed: Decimal  # stored as Alert.spent: the unit cost, the day's spend, the idle cost
    reference: Decimal  # stored as Alert.budget_amount: the ceiling, last week's, the median
    severity: Decimal  # orders one evaluation's findings: the largest leads the message
    lines: list[tuple[str, str]] = field(default_factory=list)  # label, text, for channels
    values: dict[str, str] = field(default_factory=dict)  # the figures, for the API and webhooks
    drivers: list[tuple[str, Decimal]] = field(default_factory=list)
    url: str = ""


@dataclass
class RuleEvaluation:
    rule: AlertRule
    findings: list[Finding] = field(default_factory=list)
    fired: list[Alert] = field(default_factory=list)
    deliveries: int = 0


def money(amount: Decimal, currency: str) -> str:
    return written_in(f"{amount:,.2f}", currency)


def fire(rule: AlertRule, findings: list[Finding], now: datetime) -> RuleEvaluation:
    """Claim each finding not already fired for its window, and write one message's outbox
    rows for what was claimed."""
    result = RuleEvaluation(rule, findings)
    if not findings:
        return result
    with transaction.atomic():
        active = set(
            Alert.objects.filter(rule=rule, cleared_at__isnull=True).values_list(
                "scope", "window_start", "kind"
            )
        )
        fresh = [f for f in findings if (f.scope, f.window_start, f.kind) not in active]
        ids: list[int] = []
        with connection.cursor() as cursor:
            for found in fresh:
                cursor.execute(_CLAIM, _row(rule, found, now))
                ids.extend(row[0] for row in cursor.fetchall())
        result.fired = list(Alert.objects.filter(pk__in=ids))
        if result.fired:
            severity = {(f.scope, f.window_start, f.kind): f.severity for f in fresh}
            result.deliveries = _announce(rule, result.fired, severity, now)
    return result


def _row(rule: AlertRule, found: Finding, now: datetime) -> dict:
    details = {
        "summary": found.summary,
        "headline": found.headline,
        "lines": [list(line) for line in found.lines],
        "values": found.values,
        "url": found.url,
    }
    # The UTC days the window touches, end exclusive, as a budget's period is written.
    last_day = (found.window_end - timedelta(microseconds=1)).date() + timedelta(days=1)
    return {
        "rule": rule.pk,
        "scope": found.scope[:220],
        "period_start": found.window_start.date(),
        "period_end": last_day,
        "kind": found.kind,
        "now": now,
        "reference": found.reference,
        "currency": found.currency,
        "observed": found.observed,
        "drivers": json.dumps([{"name": n, "amount": str(a)} for n, a in found.drivers]),
        "window_start": found.window_start,
        "window_end": found.window_end,
        "details": json.dumps(details),
    }


def _announce(rule: AlertRule, fired: list[Alert], severity: dict, now: datetime) -> int:
    lead = max(fired, key=lambda a: (severity.get((a.scope, a.window_start, a.kind), 0), -a.pk))
    owned = Alert.objects.filter(rule=rule)
    return announce(lead, fired, owned, list(rule.channels.all()), now)


def message(alert: Alert, delivery_id: str = "") -> Message:
    """The message of a rule's alert, from what it recorded when it fired."""
    details = alert.details or {}
    rule = alert.rule
    headline = details.get("headline") or f"{rule.name}: {alert.kind} {alert.scope}"
    start, end = alert.window_start, alert.window_end
    window = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC" if start and end else ""
    lines = [tuple(line) for line in details.get("lines", [])]
    return Message(
        subject=f"[Inference Ledger] {headline}",
        headline=headline,
        budget="",
        rule=rule.name,
        scope=alert.scope,
        period=window,
        kind=str(alert.kind),
        threshold=None,
        currency=alert.currency,
        amount=alert.budget_amount,
        spent=alert.spent,
        drivers=[(d["name"], Decimal(d["amount"])) for d in alert.drivers],
        also=[a.details.get("summary", a.scope) for a in alert.covered.order_by("id")],
        facts=lines,
        values=details.get("values", {}),
        url=details.get("url", ""),
        link_text="Open the report",
        delivery_id=delivery_id,
    )


def last_hour(now: datetime) -> datetime:
    """The start of the last complete UTC hour before `now`."""
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - HOUR


def span(start: datetime, end: datetime) -> str:
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"


def report_url(by: str, start: datetime, end: datetime, grain: str) -> str:
    """The /units/ page over the window's days, where the figures a rule read are shown."""
    last_day = (end - timedelta(microseconds=1)).date()
    return f"{site_url()}/units/?start={start.date()}&end={last_day}&by={by}&grain={grain}"
