"""Create and change channels and budgets, acknowledge and snooze alerts, test a channel.

Pages and the JSON API call these: each validates all of its input first and raises one
ValidationError whose message_dict names every bad field ("thresholds[1]", "scope.team"), and
writes nothing in that case.
"""

from __future__ import annotations

import secrets as random
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from costapp.core.limits import check_money, check_text

from . import channels, secrets
from .message import test_message
from .models import Alert, Basis, Budget, Channel, ChannelKind, Idle, Period, ScopeKind

MAX_THRESHOLDS = 10
THRESHOLD_MAX = 1000  # percent
_SCOPE_KINDS = [k.value for k in ScopeKind if k != ScopeKind.ORG]


def _require_text(errors: dict, name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        errors[name] = "is required (expected text)"
        return ""
    problem = check_text(value)
    if problem:
        errors[name] = problem
    return value.strip()


def _choice(errors: dict, name: str, value: object, choices: type) -> str:
    allowed = [c.value for c in choices]
    if value not in allowed:
        errors[name] = f"{value!r} is not one of {', '.join(allowed)}"
        return ""
    return str(value)


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


def create_channel(name: str, kind: str, target: str, secret: str | None = None) -> Channel:
    """A channel; a webhook without a secret gets a random one (read it back with `.secret`)."""
    errors: dict[str, str] = {}
    name = _require_text(errors, "name", name)
    kind = _choice(errors, "kind", kind, ChannelKind)
    _check_target(errors, kind, target)
    _raise(errors)
    channel = Channel(name=name, kind=kind)
    channel.target = target.strip()
    if kind == ChannelKind.WEBHOOK:
        channel.secret = secret or random.token_urlsafe(32)
    channel.save()
    return channel


def _check_target(errors: dict, kind: str, target: object) -> None:
    if not isinstance(target, str) or not target.strip():
        errors["target"] = "is required (expected addresses or a URL)"
    elif kind:
        problem = channels.transport(kind).validate(target) or check_text(target, 2000)
        if problem:
            errors["target"] = problem


def set_channel_target(channel: Channel, target: str) -> Channel:
    """A new target for a channel; it is no longer broken, and what waited for it is sent."""
    errors: dict[str, str] = {}
    _check_target(errors, channel.kind, target)
    _raise(errors)
    channel.target = target.strip()
    channel.broken_at = None
    channel.broken_reason = ""
    channel.save()
    return channel


@dataclass(frozen=True)
class TestResult:
    ok: bool
    error: str


def test_send(channel: Channel) -> TestResult:
    """Send a test message once, no retry, no outbox row; the error is masked."""
    try:
        channels.notify(channel, test_message())
    except (channels.DeliveryError, secrets.SecretUnreadable) as exc:
        try:
            hidden = (channel.target, channel.secret)
        except secrets.SecretUnreadable:
            hidden = ()
        return TestResult(False, secrets.scrub(str(exc), *hidden))
    return TestResult(True, "")


def _scope(errors: dict, scope: object) -> tuple[str, str]:
    """{} is the whole organisation; {"team": "search"} (or model, endpoint, pool, provider)."""
    if scope is None or scope == {}:
        return ScopeKind.ORG, ""
    if not isinstance(scope, dict) or len(scope) != 1:
        errors["scope"] = "expected {} for the whole organisation or one of " + ", ".join(
            f'{{"{k}": "..."}}' for k in _SCOPE_KINDS
        )
        return "", ""
    ((kind, value),) = scope.items()
    if kind not in _SCOPE_KINDS:
        errors["scope"] = f"{kind!r} is not a scope (expected one of {', '.join(_SCOPE_KINDS)})"
        return "", ""
    return kind, _require_text(errors, f"scope.{kind}", value)


def _amount(errors: dict, value: object) -> Decimal:
    try:
        amount = Decimal(str(value)) if isinstance(value, str | int | Decimal) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        errors["amount"] = f'{value!r} is not an amount (expected a decimal number like "1000.00")'
        return Decimal(0)
    problem = check_money(amount)
    if problem:
        errors["amount"] = problem
    elif amount <= 0:
        errors["amount"] = f"{amount} is not positive (expected an amount above 0)"
    return amount


def _thresholds(errors: dict, value: object) -> list[int]:
    if not isinstance(value, list) or not value:
        errors["thresholds"] = "expected a list of percentages, e.g. [50, 80, 100]"
        return []
    if len(value) > MAX_THRESHOLDS:
        errors["thresholds"] = f"{len(value)} thresholds (expected at most {MAX_THRESHOLDS})"
        return []
    bad = False
    for index, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int) or not 0 < item <= THRESHOLD_MAX:
            bad = True
            errors[f"thresholds[{index}]"] = (
                f"{item!r} is not a percentage (expected a whole number from 1 to {THRESHOLD_MAX})"
            )
    return [] if bad else sorted(set(value))


def _currency(errors: dict, value: object) -> str:
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha() or not value.isupper():
        errors["currency"] = f"{value!r} is not a currency code (expected ISO 4217, e.g. USD)"
        return ""
    return value


def _channels(errors: dict, ids: object) -> list[Channel]:
    if not isinstance(ids, list) or any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        errors["channels"] = "expected a list of channel ids"
        return []
    found = {c.pk: c for c in Channel.objects.filter(pk__in=ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        errors["channels"] = f"no channel with id {', '.join(map(str, missing))}"
    return list(found.values())


def _budget_fields(data: dict) -> tuple[dict, list[Channel] | None]:
    errors: dict[str, str] = {}
    fields: dict = {}
    if "name" in data:
        fields["name"] = _require_text(errors, "name", data["name"])
    if "scope" in data:
        fields["scope_kind"], fields["scope_value"] = _scope(errors, data["scope"])
    if "period" in data:
        fields["period"] = _choice(errors, "period", data["period"], Period)
    if "amount" in data:
        fields["amount"] = _amount(errors, data["amount"])
    if "currency" in data:
        fields["currency"] = _currency(errors, data["currency"])
    if "basis" in data:
        fields["basis"] = _choice(errors, "basis", data["basis"], Basis)
    if "idle" in data:
        fields["idle"] = _choice(errors, "idle", data["idle"], Idle)
    if "thresholds" in data:
        fields["thresholds"] = _thresholds(errors, data["thresholds"])
    if "forecast" in data:
        if not isinstance(data["forecast"], bool):
            errors["forecast"] = f"{data['forecast']!r} is not true or false"
        fields["forecast"] = data["forecast"]
    chosen = _channels(errors, data["channels"]) if "channels" in data else None
    unknown = sorted(set(data) - _BUDGET_KEYS)
    for key in unknown:
        errors[key] = "is not a budget field"
    _raise(errors)
    return fields, chosen


_BUDGET_KEYS = frozenset(
    {"name", "scope", "period", "amount", "currency", "basis", "idle", "thresholds", "forecast"}
    | {"channels"}
)


def create_budget(**data) -> Budget:
    """A budget from API-shaped input: name and amount required; scope {} (org), period month,
    currency USD, basis amortized, idle fully_loaded, thresholds [50, 80, 100], forecast on and
    no channel by default."""
    for required in ("name", "amount"):
        data.setdefault(required, None)
    fields, chosen = _budget_fields(data)
    with transaction.atomic():
        budget = Budget.objects.create(**fields)
        if chosen:
            budget.channels.set(chosen)
    return budget


def update_budget(budget: Budget, **data) -> Budget:
    """Change some of a budget's fields. A raised amount re-arms the thresholds it un-crosses at
    the next evaluation (costapp.alerts.evaluate clears them)."""
    fields, chosen = _budget_fields(data)
    with transaction.atomic():
        for name, value in fields.items():
            setattr(budget, name, value)
        budget.save()
        if chosen is not None:
            budget.channels.set(chosen)
    return budget


def acknowledge(alert: Alert, user=None, now: datetime | None = None) -> Alert:
    alert.acknowledged_at = now or timezone.now()
    alert.acknowledged_by = user
    alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert


def snooze(alert: Alert, until: datetime, user=None) -> Alert:
    """Until `until`, the alerts this budget fires are recorded but send no message."""
    if until <= timezone.now():
        raise ValidationError({"until": f"{until.isoformat()} is not in the future"})
    alert.snoozed_until = until
    if alert.acknowledged_at is None:
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = user
    alert.save(update_fields=["snoozed_until", "acknowledged_at", "acknowledged_by"])
    return alert
