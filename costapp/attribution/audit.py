"""The audit trail of configuration that moves money: every add, change and delete of a cost
rule, the policy, a GPU resource or pool, or a telemetry mapping, with who, when, and the
values before and after (Koku keeps the same for its cost models, CostModelAudit)."""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.forms.models import model_to_dict

from .models import ConfigChange


def snapshot(obj: models.Model) -> dict:
    """The object's field values as JSON-safe data (Decimals and dates as text)."""
    return json.loads(json.dumps(model_to_dict(obj), cls=DjangoJSONEncoder))


def record(
    action: str, obj: models.Model, *, by: str = "", old: dict | None = None
) -> ConfigChange:
    """Record one change; `old` is the snapshot taken before a change or delete."""
    new = None if action == "delete" else snapshot(obj)
    return ConfigChange.objects.create(
        by=by,
        model=obj._meta.label,
        object_id=str(obj.pk),
        object_repr=str(obj)[:300],
        action=action,
        old=old,
        new=new,
    )


def history(obj: models.Model) -> list[ConfigChange]:
    return list(ConfigChange.objects.filter(model=obj._meta.label, object_id=str(obj.pk)))


def changed_fields(change: ConfigChange) -> dict[str, tuple]:
    """field -> (old, new) for the fields the change touched."""
    old, new = change.old or {}, change.new or {}
    return {
        name: (old.get(name), new.get(name))
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    }
