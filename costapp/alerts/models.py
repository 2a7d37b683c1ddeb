"""Budgets, the channels alerts go to, the alerts fired and their outbox of deliveries.

An alert fires once per (budget, scope, period, threshold, actual|forecast) while it is active:
a partial unique constraint claims it (INSERT ... ON CONFLICT DO NOTHING in
costapp.alerts.evaluate), so two workers, a restart or a re-run never fire it twice. An alert
whose threshold is no longer crossed (a raised budget, a restated bill) is cleared, which
re-arms that threshold. Each message to each channel is a Delivery row written in the same
transaction as the alert (a transactional outbox) and sent by costapp.alerts.delivery.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import JSONField, Q, Value

from costapp.money import MoneyField

from . import secrets


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack"
    WEBHOOK = "webhook", "Webhook"


class Channel(models.Model):
    """Where alert messages go. The target (addresses or URL) and the webhook's signing secret
    are stored encrypted (costapp.alerts.secrets) and only ever shown masked."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    target_encrypted = models.TextField()
    secret_encrypted = models.TextField(blank=True)
    # Set by a permanent failure (a dead webhook, a refused address); cleared when the target
    # is entered again. A broken channel's pending deliveries wait instead of being dropped.
    broken_at = models.DateTimeField(null=True, blank=True)
    broken_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}: {self.masked_target})"

    __repr__ = __str__

    @property
    def target(self) -> str:
        return secrets.decrypt(self.target_encrypted)

    @target.setter
    def target(self, value: str) -> None:
        self.target_encrypted = secrets.encrypt(value)

    @property
    def secret(self) -> str:
        return secrets.decrypt(self.secret_encrypted)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = secrets.encrypt(value)

    @property
    def masked_target(self) -> str:
        try:
            target = self.target
        except secrets.SecretUnreadable:
            return secrets.MASK
        if self.kind == ChannelKind.EMAIL:
            return secrets.mask_addresses(target)
        return secrets.mask_url(target)

    @property
    def is_broken(self) -> bool:
        return self.broken_at is not None


class ScopeKind(models.TextChoices):
    ORG = "org", "Whole organisation"
    TEAM = "team", "Team"
    MODEL = "model", "Model"
    ENDPOINT = "endpoint", "Endpoint"
    POOL = "pool", "GPU pool"
    PROVIDER = "provider", "Provider"


class Period(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"


class Basis(models.TextChoices):
    AMORTIZED = "amortized", "Amortized (FOCUS EffectiveCost)"
    BILLED = "billed", "Billed (FOCUS BilledCost)"


class Idle(models.TextChoices):
    FULLY_LOADED = "fully_loaded", "Fully loaded (with the share of idle)"
    BUSY_ONLY = "busy_only", "Busy only"


def default_thresholds() -> list[int]:
    return [50, 80, 100]


class Budget(models.Model):
    """A spending limit for a scope over each month or quarter (UTC), in one currency."""

    name = models.CharField(max_length=200)
    scope_kind = models.CharField(max_length=16, choices=ScopeKind.choices, default=ScopeKind.ORG)
    scope_value = models.CharField(max_length=200, blank=True)
    period = models.CharField(max_length=8, choices=Period.choices, default=Period.MONTH)
    amount = MoneyField()
    currency = models.CharField(max_length=3, default="USD")
    basis = models.CharField(max_length=16, choices=Basis.choices, default=Basis.AMORTIZED)
    idle = models.CharField(max_length=16, choices=Idle.choices, default=Idle.FULLY_LOADED)
    # Percent of the amount, ascending, each fired once per period on actual spend and (when
    # `forecast`) once on the forecast to the period's end.
    thresholds = models.JSONField(default=default_thresholds)
    forecast = models.BooleanField(default=True)
    channels = models.ManyToManyField(Channel, blank=True, related_name="budgets")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.scope_label}, {self.amount:.2f} {self.currency}/{self.period})"

    @property
    def scope_label(self) -> str:
        if self.scope_kind == ScopeKind.ORG:
            return "org"
        return f"{self.scope_kind}={self.scope_value}"


class AlertKind(models.TextChoices):
    ACTUAL = "actual", "Actual spend"
    FORECAST = "forecast", "Forecast spend"
    # What an AlertRule found (costapp.alerts.rules, costapp.alerts.anomaly).
    CEILING = "ceiling", "Unit cost above its ceiling"
    INCREASE = "increase", "Unit cost up on the previous week"
    IDLE = "idle", "Idle capacity above its level"
    ANOMALY = "anomaly", "Spend outside its baseline"


class RuleKind(models.TextChoices):
    UNIT_COST = "unit_cost", "Unit cost (per 1M tokens)"
    IDLE = "idle", "Idle capacity of a GPU pool"
    ANOMALY = "anomaly", "Spend anomaly"


class AlertRule(models.Model):
    """An alert on something other than a budget: a model's or endpoint's cost per 1M tokens,
    a pool's idle capacity, or a day's spend far outside its baseline. `parameters` holds the
    kind's settings, validated and completed with their defaults by costapp.alerts.rules; a
    blank scope_value means every value of scope_kind (every model, every pool...)."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=RuleKind.choices)
    scope_kind = models.CharField(max_length=16, choices=ScopeKind.choices)
    scope_value = models.CharField(max_length=200, blank=True, help_text="blank: every one")
    parameters = models.JSONField(default=dict, blank=True)
    channels = models.ManyToManyField(Channel, blank=True, related_name="rules")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}, {self.scope_label})"

    @property
    def scope_label(self) -> str:
        return f"{self.scope_kind}={self.scope_value or '*'}"


class Alert(models.Model):
    """A threshold crossed, with what was known when it fired (the message is built from it).

    Fired by a budget or by an AlertRule, never both. A rule's alert keys on its window
    (window_start: the day, the week or the idle streak) instead of threshold and period, and
    keeps its figures in `details`; period_start/period_end then hold the window's UTC days."""

    budget = models.ForeignKey(
        Budget, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    rule = models.ForeignKey(
        AlertRule, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)  # exclusive, as seen when it fired
    # A rule's figures: {"summary", "headline", "lines": [[label, text]], "values": {...}}.
    # db_default: the budget evaluation's raw INSERT does not name the column.
    details = models.JSONField(default=dict, db_default=Value({}, JSONField()), blank=True)
    scope = models.CharField(max_length=220)  # Budget.scope_label when it fired
    period_start = models.DateField()
    period_end = models.DateField()  # exclusive
    threshold = models.PositiveIntegerField()  # percent
    kind = models.CharField(max_length=8, choices=AlertKind.choices)
    fired_at = models.DateTimeField()
    budget_amount = MoneyField()
    currency = models.CharField(max_length=3)
    spent = MoneyField()
    forecast = MoneyField(null=True, blank=True)
    forecast_low = MoneyField(null=True, blank=True)
    forecast_high = MoneyField(null=True, blank=True)
    drivers = models.JSONField(default=list)  # [{"name": ..., "amount": "12.34"}], largest first
    # The alert whose message announced this one: an evaluation crossing several thresholds of
    # one budget sends one message, naming the highest (itself: lead is None).
    lead = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="covered"
    )
    # Why no message was sent for it ("snoozed until ..."), blank when one was.
    suppressed = models.CharField(max_length=200, blank=True)
    # Set when the threshold is no longer crossed; a cleared alert no longer blocks a new one.
    cleared_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Until then, later alerts of the same budget are recorded but send no message.
    snoozed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-fired_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["budget", "scope", "period_start", "threshold", "kind"],
                condition=Q(cleared_at__isnull=True),
                name="alerts_alert_fires_once",
            ),
            models.UniqueConstraint(
                fields=["rule", "scope", "window_start", "kind"],
                condition=Q(rule__isnull=False, cleared_at__isnull=True),
                name="alerts_alert_rule_fires_once",
            ),
            models.CheckConstraint(
                condition=Q(budget__isnull=False, rule__isnull=True)
                | Q(budget__isnull=True, rule__isnull=False),
                name="alerts_alert_budget_or_rule",
            ),
        ]

    def __str__(self) -> str:
        if self.rule_id is not None:
            return (
                f"{self.rule.name}: {self.kind} {self.scope} ({self.window_start:%Y-%m-%d %H:%M})"
            )
        return f"{self.budget.name}: {self.kind} {self.threshold}% ({self.period_start:%Y-%m})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed, retrying"
    DEAD = "dead", "Dead"


class Delivery(models.Model):
    """One message of one alert to one channel: the outbox row costapp.alerts.delivery sends."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)  # scrubbed of the channel's secrets
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "channel"], name="alerts_delivery_once")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status}, {self.attempts} attempts)"
