"""A long recompute cut into UTC days: the unit several workers share (costapp.attribution.locking).

`day_windows(start, end)` gives the one-day windows covering [start, end); an open side (None)
is closed at the first or last hour that stored cost lines or allocations touch, so no hour
with rows to rewrite or to delete is left out. Each window is recomputed in its own
transaction (tasks.recompute_by_day enqueues one recompute_from each); a day never splits,
because the engine's rollup refresh rewrites whole days and an hour's shared cost is split
across all the pools of that hour.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import connection

from .engine import plausible_hours

DAY = timedelta(days=1)


def _midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _stored_span(lo: datetime, hi: datetime) -> tuple[datetime | None, datetime | None]:
    """The first and last moment cost lines or allocations touch, clamped to [lo, hi] in SQL
    (a stored year 9999 never reaches Python)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT greatest(least(min(lo), %(hi)s), %(lo)s), least(greatest(max(hi), %(lo)s),"
            " %(hi)s) FROM ("
            " SELECT min(charge_period_start) AS lo,"
            "  max(greatest(charge_period_end, charge_period_start)) AS hi FROM ingest_costline"
            " UNION ALL"
            " SELECT min(hour), max(hour) + interval '1 hour' FROM attribution_allocation) s",
            {"lo": lo, "hi": hi},
        )
        return cursor.fetchone()


def day_windows(start: datetime | None, end: datetime | None) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at UTC midnights, within the plausible hours; an open side closed at the
    stored rows' first or last hour. The first and last window may be part of a day."""
    lo, hi = plausible_hours()
    if start is None or end is None:
        first, last = _stored_span(lo, hi)
        if first is None:
            return []
        start = start if start is not None else first
        end = end if end is not None else last
    start = max(start, lo).replace(minute=0, second=0, microsecond=0)
    end = min(end, hi)
    windows = []
    while start < end:
        cut = min(_midnight(start) + DAY, end)
        windows.append((start, cut))
        start = cut
    return windows
