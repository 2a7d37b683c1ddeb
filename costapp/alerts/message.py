"""The message an alert sends, built once from what the alert recorded when it fired, so every
channel (and every retry) says the same thing."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from costapp.money import written_in

from .models import Alert, AlertKind


@dataclass(frozen=True)
class Message:
    subject: str
    headline: str
    budget: str
    scope: str
    period: str
    kind: str  # actual | forecast | test
    threshold: int | None
    currency: str
    amount: Decimal
    spent: Decimal
    forecast: Decimal | None = None
    forecast_low: Decimal | None = None
    forecast_high: Decimal | None = None
    drivers: list[tuple[str, Decimal]] = field(default_factory=list)
    also: list[str] = field(default_factory=list)  # the other thresholds this message covers
    url: str = ""
    # Stable across retries of one delivery: a receiver can drop a repeat it has seen.
    delivery_id: str = ""
    # An alert rule's message (costapp.alerts.findings) names the rule instead of a budget and
    # shows its own figures (label, text) in place of budget and spent.
    rule: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    link_text: str = "Open the budget"

    @property
    def title(self) -> str:
        return self.rule or self.budget

    def money(self, value: Decimal | None) -> str:
        return "" if value is None else written_in(f"{value:,.2f}", self.currency)

    @property
    def percent_spent(self) -> str:
        return f"{self.spent * 100 / self.amount:.0f}%" if self.amount else ""

    def formatted(self) -> dict:
        """The figures written in the currency, for templates."""
        return {
            "amount": self.money(self.amount),
            "spent": self.money(self.spent),
            "forecast": self.money(self.forecast),
            "forecast_low": self.money(self.forecast_low),
            "forecast_high": self.money(self.forecast_high),
            "drivers": [(name, self.money(amount)) for name, amount in self.drivers],
        }

    def as_json(self) -> dict:
        def text(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "delivery_id": self.delivery_id,
            "kind": self.kind,
            "budget": self.budget,
            "scope": self.scope,
            "period": self.period,
            "threshold": self.threshold,
            "currency": self.currency,
            "amount": text(self.amount),
            "spent": text(self.spent),
            "forecast": text(self.forecast),
            "forecast_low": text(self.forecast_low),
            "forecast_high": text(self.forecast_high),
            "drivers": [{"name": n, "amount": text(a)} for n, a in self.drivers],
            "also_crossed": self.also,
            "summary": self.headline,
            "url": self.url,
            "rule": self.rule or None,
            "facts": [{"label": label, "text": text} for label, text in self.facts],
            "values": self.values,
        }


def site_url() -> str:
    return (getattr(settings, "SITE_URL", "") or os.environ.get("SITE_URL", "")).rstrip("/") or (
        "http://localhost:8000"
    )


def _label(alert: Alert) -> str:
    return f"{alert.threshold}% {'forecast' if alert.kind == AlertKind.FORECAST else 'actual'}"


def build(alert: Alert, delivery_id: str = "") -> Message:
    if alert.rule_id is not None:
        from .findings import message  # findings builds on this module

        return message(alert, delivery_id)
    budget = alert.budget
    limit = written_in(f"{alert.budget_amount:,.2f}", alert.currency)
    if alert.kind == AlertKind.ACTUAL:
        spent = written_in(f"{alert.spent:,.2f}", alert.currency)
        headline = f"{budget.name} reached {alert.threshold}% of its {limit} budget: {spent} spent"
    else:
        forecast = written_in(f"{alert.forecast:,.2f}", alert.currency)
        headline = (
            f"{budget.name} is forecast to reach {alert.threshold}% of its {limit} budget: "
            f"{forecast} by the end of the period"
        )
    period = f"{alert.period_start:%Y-%m-%d} to {alert.period_end:%Y-%m-%d} (UTC, end exclusive)"
    return Message(
        subject=f"[Inference Ledger] {headline}",
        headline=headline,
        budget=budget.name,
        scope=alert.scope,
        period=period,
        kind=str(alert.kind),
        threshold=alert.threshold,
        currency=alert.currency,
        amount=alert.budget_amount,
        spent=alert.spent,
        forecast=alert.forecast,
        forecast_low=alert.forecast_low,
        forecast_high=alert.forecast_high,
        drivers=[(d["name"], Decimal(d["amount"])) for d in alert.drivers],
        also=[_label(a) for a in alert.covered.order_by("-threshold", "kind")],
        url=f"{site_url()}/budgets/{budget.pk}/",
        delivery_id=delivery_id,
    )


def test_message(budget_name: str = "Test budget") -> Message:
    """What the test-send button sends: clearly a test, shaped like a real alert."""
    return Message(
        subject="[Inference Ledger] Test notification",
        headline="Test notification from Inference Ledger: this channel works.",
        budget=budget_name,
        scope="org",
        period="",
        kind="test",
        threshold=None,
        currency="USD",
        amount=Decimal("1000"),
        spent=Decimal("0"),
        url=f"{site_url()}/budgets/",
        delivery_id="test",
    )
