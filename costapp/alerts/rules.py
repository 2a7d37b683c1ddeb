"""Alert rules beyond budgets: create, change and validate them (the services pages, the API
and the admin call), and evaluate every enabled rule. Each kind finds in its own module
(costapp.alerts.unit_cost, .idle, .anomaly; their docstrings give the method), and what they
find is fired by costapp.alerts.findings, once per (rule, scope, window, kind)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from costapp.core.limits import COUNT_MAX, check_money, check_text

from .findings import RuleEvaluation, fire
from .models import AlertRule, Basis, Channel, Idle, RuleKind

logger = logging.getLogger(__name__)

SCOPES = {
    RuleKind.UNIT_COST: ("model", "endpoint"),
    RuleKind.IDLE: ("pool",),
    RuleKind.ANOMALY: ("team", "model"),
}
EVERY = "*"  # {"model": "*"}: every model
WINDOWS = ("day", "week")
IDLE_HOURS_MAX = 72
DIRECTIONS = ("up", "both")


class _Params:
    """Reads one kind's parameters into normalised JSON values, collecting errors by field."""

    def __init__(self, data: object, errors: dict) -> None:
        self.errors = errors
        self.data = data if isinstance(data, dict) else {}
        if not isinstance(data, dict):
            errors["parameters"] = "expected an object of the rule's parameters"
        self.seen: set[str] = set()

    def _number(self, name: str, value: object) -> Decimal | None:
        try:
            number = None if isinstance(value, bool) else Decimal(str(value))
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or not isinstance(value, int | float | str):
            self.errors[f"parameters.{name}"] = f"{value!r} is not a number (expected e.g. 3.5)"
            return None
        return number

    def decimal(
        self, name: str, default: str | None, low: Decimal, high: Decimal, *, money: bool = False
    ) -> str | None:
        """A number in (low, high]; None when absent without a default."""
        self.seen.add(name)
        value = self.data.get(name, default)
        if value is None:
            return None
        number = self._number(name, value)
        if number is None:
            return None
        problem = check_money(number) if money else None
        if problem or not low < number <= high:
            self.errors[f"parameters.{name}"] = problem or (
                f"{number} is out of range (expected above {low} and at most {high})"
            )
            return None
        return str(number)

    def floor(self, name: str, default: str) -> str | None:
        """An amount from 0 (0 is allowed: no floor)."""
        self.seen.add(name)
        number = self._number(name, self.data.get(name, default))
        if number is None:
            return None
        problem = check_money(number)
        if problem or number < 0:
            self.errors[f"parameters.{name}"] = (
                problem or f"{number} is negative (expected 0 or more)"
            )
            return None
        return str(number)

    def whole(self, name: str, default: int, low: int, high: int) -> int:
        self.seen.add(name)
        value = self.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.errors[f"parameters.{name}"] = (
                f"{value!r} is not a whole number from {low} to {high:,}"
            )
            return default
        return value

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        self.seen.add(name)
        value = self.data.get(name, default)
        if value not in allowed:
            self.errors[f"parameters.{name}"] = f"{value!r} is not one of {', '.join(allowed)}"
            return default
        return value

    def currency(self) -> str:
        self.seen.add("currency")
        value = self.data.get("currency", "USD")
        if (
            not isinstance(value, str)
            or len(value) != 3
            or not value.isalpha()
            or not value.isupper()
        ):
            self.errors["parameters.currency"] = (
                f"{value!r} is not a currency code (expected ISO 4217, e.g. USD)"
            )
        return value

    def rest(self) -> None:
        for key in sorted(set(self.data) - self.seen):
            self.errors[f"parameters.{key}"] = "is not a parameter of this kind of rule"


def _cost_view(read: _Params) -> dict:
    return {
        "basis": read.choice("basis", Basis.AMORTIZED, tuple(b.value for b in Basis)),
        "idle": read.choice("idle", Idle.FULLY_LOADED, tuple(i.value for i in Idle)),
        "currency": read.currency(),
    }


def _unit_cost_params(read: _Params) -> dict:
    params = {
        "ceiling": read.decimal("ceiling", None, Decimal(0), Decimal(10) ** 9, money=True),
        "max_increase_pct": read.decimal("max_increase_pct", None, Decimal(0), Decimal(10) ** 6),
        "window": read.choice("window", "day", WINDOWS),
        "min_tokens": read.whole("min_tokens", 1_000_000, 1, COUNT_MAX),
        **_cost_view(read),
    }
    if "ceiling" not in read.data and "max_increase_pct" not in read.data:
        read.errors["parameters.ceiling"] = "a unit-cost rule needs a ceiling or max_increase_pct"
    return {k: v for k, v in params.items() if v is not None}


def _idle_params(read: _Params) -> dict:
    if "level" not in read.data:
        read.errors["parameters.level"] = "is required (expected a percentage, e.g. 40)"
    return {
        "level": read.decimal("level", None, Decimal(0), Decimal(100)),
        "hours": read.whole("hours", 6, 1, IDLE_HOURS_MAX),
        "currency": read.currency(),  # the idle cost the message quotes
    }


def _anomaly_params(read: _Params) -> dict:
    from . import anomaly

    return {
        "threshold": read.decimal("threshold", anomaly.THRESHOLD, Decimal(0), Decimal(1000)),
        "floor": read.floor("floor", anomaly.FLOOR),
        "baseline_days": read.whole(
            "baseline_days", anomaly.BASELINE_DAYS, anomaly.MIN_HISTORY_DAYS, 366
        ),
        "direction": read.choice("direction", "up", DIRECTIONS),
        **_cost_view(read),
    }


_READERS: dict[str, Callable[[_Params], dict]] = {
    RuleKind.UNIT_COST: _unit_cost_params,
    RuleKind.IDLE: _idle_params,
    RuleKind.ANOMALY: _anomaly_params,
}


def check_parameters(kind: str, parameters: object) -> dict:
    """The parameters of a rule of `kind`, completed with their defaults; ValidationError
    naming each bad one ("parameters.ceiling")."""
    errors: dict[str, str] = {}
    read = _Params(parameters, errors)
    params = _READERS[kind](read) if kind in _READERS else {}
    read.rest()
    if errors:
        raise ValidationError(errors)
    return params


def _scope(errors: dict, kind: str, scope: object) -> tuple[str, str]:
    allowed = SCOPES.get(kind, ())
    expected = " or ".join(f'{{"{k}": "<name>" or "*"}}' for k in allowed)
    if not isinstance(scope, dict) or len(scope) != 1:
        errors["scope"] = f"expected {expected}"
        return "", ""
    ((scope_kind, value),) = scope.items()
    if scope_kind not in allowed:
        errors["scope"] = f"{scope_kind!r} is not a scope of a {kind} rule (expected {expected})"
        return "", ""
    if not isinstance(value, str) or not value.strip():
        errors[f"scope.{scope_kind}"] = 'is required (expected a name, or "*" for every one)'
        return scope_kind, ""
    problem = check_text(value)
    if problem:
        errors[f"scope.{scope_kind}"] = problem
    value = value.strip()
    return scope_kind, "" if value == EVERY else value


_RULE_KEYS = frozenset({"name", "kind", "scope", "parameters", "channels", "enabled"})


def _rule_fields(data: dict, current: AlertRule | None) -> tuple[dict, list[Channel] | None]:
    errors: dict[str, str] = {}
    fields: dict = {}
    for key in sorted(set(data) - _RULE_KEYS):
        errors[key] = "is not a rule field"
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or not name.strip():
            errors["name"] = "is required (expected text)"
        elif problem := check_text(name):
            errors["name"] = problem
        else:
            fields["name"] = name.strip()
    kind = data.get("kind", current.kind if current else None)
    if kind not in _READERS:
        errors["kind"] = f"{kind!r} is not one of {', '.join(_READERS)}"
    else:
        fields["kind"] = kind
        if "scope" in data or current is None:
            fields["scope_kind"], fields["scope_value"] = _scope(errors, kind, data.get("scope"))
        elif current.scope_kind not in SCOPES[kind]:
            errors["scope"] = f"{current.scope_kind!r} is not a scope of a {kind} rule"
        try:
            raw = data.get("parameters", current.parameters if current else {})
            fields["parameters"] = check_parameters(kind, raw)
        except ValidationError as exc:
            errors.update({k: "; ".join(v) for k, v in exc.message_dict.items()})
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            errors["enabled"] = f"{data['enabled']!r} is not true or false"
        fields["enabled"] = data["enabled"]
    chosen = None
    if "channels" in data:
        ids = data["channels"]
        if not isinstance(ids, list) or any(
            isinstance(i, bool) or not isinstance(i, int) for i in ids
        ):
            errors["channels"] = "expected a list of channel ids"
        else:
            chosen = list(Channel.objects.filter(pk__in=ids))
            missing = sorted(set(ids) - {c.pk for c in chosen})
            if missing:
                errors["channels"] = f"no channel with id {', '.join(map(str, missing))}"
    if errors:
        raise ValidationError(errors)
    return fields, chosen


def create_rule(**data) -> AlertRule:
    """A rule from API-shaped input: {"name", "kind": "unit_cost"|"idle"|"anomaly",
    "scope": {"model": "llama-70b"} or {"model": "*"} (every model), "parameters": {...},
    "channels": [ids], "enabled": true}; ValidationError naming every bad field."""
    data.setdefault("name", None)
    data.setdefault("kind", None)
    fields, chosen = _rule_fields(data, None)
    with transaction.atomic():
        rule = AlertRule.objects.create(**fields)
        if chosen:
            rule.channels.set(chosen)
    return rule


def update_rule(rule: AlertRule, **data) -> AlertRule:
    """Change some of a rule's fields; its parameters are validated again against its kind."""
    fields, chosen = _rule_fields(data, rule)
    with transaction.atomic():
        for name, value in fields.items():
            setattr(rule, name, value)
        rule.save()
        if chosen is not None:
            rule.channels.set(chosen)
    return rule


def evaluate_rules(now: datetime | None = None) -> list[RuleEvaluation]:
    """Evaluate every enabled rule; one that fails is logged and the others go on."""
    results = []
    for rule in AlertRule.objects.filter(enabled=True).prefetch_related("channels").order_by("id"):
        try:
            results.append(evaluate_rule(rule, now))
        except Exception:
            logger.exception("evaluating alert rule %s failed", rule.pk)
    return results


def evaluate_rule(rule: AlertRule, now: datetime | None = None) -> RuleEvaluation:
    from . import anomaly, idle, unit_cost

    now = now or timezone.now()
    params = check_parameters(rule.kind, rule.parameters)
    finder = {
        RuleKind.UNIT_COST: unit_cost.findings,
        RuleKind.IDLE: idle.findings,
        RuleKind.ANOMALY: anomaly.findings,
    }[rule.kind]
    return fire(rule, finder(rule, params, now), now)
