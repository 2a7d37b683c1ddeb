"""Effective-dated configuration: saving and deleting versions of a cost rule, the policy, a GPU
resource or a telemetry mapping, and the hours each change can move.

An edit takes effect from a date D. When D is later than the start of the version edited, that
version is closed at D and the edit is saved as a new row from D (superseding it), so the hours
before D keep the values they were computed with, even through a full recompute. When D is the
version's start (or neither has one) the version is edited in place. Deleting a version undoes
it: the version it superseded takes over its span again.

D defaults to "every open month": the start of the month after the latest closed month, or since
always when no month is closed. A closed month never moves whatever D is (the engine skips it),
but the version boundary decides what it gets when finance reopens it.

The GPU inventory is versioned the same way: a GpuResource (its count, type and pool) and a
GpuMapping. A resource names what it versions (`identity_fields`: its resource_id), and at most
one version of it may be in force at any instant: a save that would overlap another is refused
(`clash`; the database's exclusion constraint backs it). Configuration that is not versioned (a
GpuPool: a name resources are grouped under) is saved as is; D only bounds the recompute
(`Change.start`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from django.db import connection, models

from . import periods
from .models import EffectiveDated, overlapping


class VersionError(ValueError):
    """An effective date that cannot apply to the version edited."""


@dataclass(frozen=True)
class Change:
    """The row now holding the change and the hours [start, end) it can move (None: unbounded)."""

    obj: models.Model
    start: datetime | None
    end: datetime | None


def midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=UTC) if day else None


def default_effective_from() -> datetime | None:
    """Every open month: the first day after the latest closed month, else since always."""
    closed = periods.closed_months()
    return periods.month_start(periods.next_month(closed[-1])) if closed else None


def _day(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def effective_for(obj: models.Model, given: datetime | None) -> datetime | None:
    """The date an edit of `obj` takes effect: `given`, else the default, never before the
    start of the version edited (a default earlier than it means "this whole version")."""
    stored = type(obj).objects.filter(pk=obj.pk).first() if obj.pk else None
    start = getattr(stored, "effective_from", None)
    end = getattr(stored, "effective_to", None)
    if given is None:
        default = default_effective_from()
        if start is not None and (default is None or default < start):
            return start
        if end is not None and default is not None and default >= end:
            return start  # a version wholly in closed months: corrected in place
        return default
    if start is not None and given < start:
        raise VersionError(
            f"this version applies from {_day(start)}: an edit can take effect from then on"
            " (edit the earlier version for earlier hours)"
        )
    if end is not None and given >= end:
        raise VersionError(
            f"this version ended at {_day(end)}: edit the version in force at {_day(given)}"
        )
    return given


def clash(
    model: type[EffectiveDated],
    identity: dict,
    start: datetime | None,
    end: datetime | None,
    exclude: int | None = None,
) -> EffectiveDated | None:
    """Another version of the same thing (`identity`: the model's identity_fields) in force in
    some instant of [start, end), if any; None for a model whose versions may overlap."""
    if not model.identity_fields:
        return None
    found = model.objects.filter(overlapping(start, end), **identity)
    if exclude is not None:
        found = found.exclude(pk=exclude)
    return found.order_by(models.F("effective_from").asc(nulls_first=True), "id").first()


def _refuse_clash(obj: EffectiveDated, start, end, exclude: int | None) -> None:
    identity = {name: getattr(obj, name) for name in obj.identity_fields}
    other = clash(type(obj), identity, start, end, exclude)
    if other is not None:
        what = ", ".join(str(value) for value in identity.values())
        raise VersionError(
            f"{what} already has a version in force {other.version_label}: edit that version"
            " from the date the change applies"
        )


def save(obj: models.Model, effective_from: datetime | None) -> Change:
    """Save an added or edited object taking effect from `effective_from` (see effective_for).

    A versioned object (EffectiveDated) edited from a date later than its version's start is
    split there: the stored version ends at that date and `obj` is saved as a new row. Call it
    inside the transaction that records the change.
    """
    start = effective_for(obj, effective_from)
    if not isinstance(obj, EffectiveDated):
        obj.save()
        return Change(obj, start, None)
    manager = type(obj).objects
    if obj.pk is None:
        _refuse_clash(obj, start, None, None)
        obj.effective_from, obj.effective_to, obj.supersedes = start, None, None
        obj.save()
        return Change(obj, start, None)
    stored = manager.get(pk=obj.pk)
    # The form never carries these: a version's span changes only here.
    obj.effective_from, obj.effective_to = stored.effective_from, stored.effective_to
    obj.supersedes_id = stored.supersedes_id
    if start is None or start == stored.effective_from:
        _refuse_clash(obj, stored.effective_from, stored.effective_to, stored.pk)
        obj.save()
        return Change(obj, stored.effective_from, stored.effective_to)
    _refuse_clash(obj, start, stored.effective_to, stored.pk)
    manager.filter(pk=stored.pk).update(effective_to=start)
    _follow_ids(type(obj))
    obj.pk = obj.id = None
    obj._state.adding = True
    obj.effective_from, obj.supersedes_id = start, stored.pk
    obj.save()
    # A later version that superseded the split one now follows the new row.
    manager.filter(supersedes_id=stored.pk).exclude(pk=obj.pk).update(supersedes_id=obj.pk)
    return Change(obj, start, stored.effective_to)


def _follow_ids(model: type[models.Model]) -> None:
    """Move the id sequence past every stored id: the first policy row is created with id 1
    (AttributionPolicy.at), which leaves the sequence behind it."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
            f" greatest((SELECT max(id) FROM {table}),"
            f" (SELECT last_value FROM {table}_id_seq)))"
        )


def delete(obj: models.Model, effective_from: datetime | None = None) -> Change:
    """Delete an object. A version is undone: the one it superseded takes its span again, so
    the change moves exactly that span. Anything else moves the hours from `effective_from`."""
    if not isinstance(obj, EffectiveDated):
        start = effective_from if effective_from is not None else default_effective_from()
        obj.delete()
        return Change(obj, start, None)
    manager = type(obj).objects
    # As stored now: deleting several versions of one chain in a row re-links it each time.
    stored = manager.get(pk=obj.pk)
    manager.filter(supersedes_id=stored.pk).update(supersedes_id=stored.supersedes_id)
    obj.delete()
    # Only once it is gone: two versions of a resource may never be in force together.
    if stored.supersedes_id is not None:
        manager.filter(pk=stored.supersedes_id).update(effective_to=stored.effective_to)
    return Change(obj, stored.effective_from, stored.effective_to)


def versions(obj: EffectiveDated) -> list[EffectiveDated]:
    """Every version of the chain `obj` belongs to, oldest first."""
    manager = type(obj).objects
    first = obj
    seen = {obj.pk}
    while first.supersedes_id is not None and first.supersedes_id not in seen:
        earlier = manager.filter(pk=first.supersedes_id).first()
        if earlier is None:
            break
        first = earlier
        seen.add(first.pk)
    chain = [first]
    while True:
        later = manager.filter(supersedes_id=chain[-1].pk).order_by("id").first()
        if later is None or later.pk in {v.pk for v in chain}:
            return chain
        chain.append(later)
