"""Who may rewrite which hours at once: the attribution engine's advisory locks.

Two key spaces of transaction advisory locks, so every lock goes with the commit or rollback:

- (LOCK_NAMESPACE, ENGINE): taken SHARED by a windowed recompute, EXCLUSIVE by whatever touches
  every hour at once (a full recompute, a recompute of a very long or open-ended window, closing
  and reopening a month, the rollups' stale refresh and rebuild). A whole-table operation thus
  waits for the windows in flight and holds new ones back until it commits.
- (DAYS, UTC day ordinal): taken EXCLUSIVE by a windowed recompute for every UTC day its window
  touches, in ascending order so two windows never deadlock. Two windows of different days run
  side by side; two that share a day queue on it. The unit is the day because the engine's
  rollup refresh rewrites the daily rollups of every day the window touches, and the shared
  cost of an hour is split across every pool's teams of that hour (steps.RECIPIENTS), so two
  pools of one hour are not independent.

PENDING (a session lock) lets one attribute_pending at a time take the backlog.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

# pg advisory lock keys ("ILAT"): ENGINE guards whole-table work; PENDING lets one
# attribute_pending at a time take the backlog (another caller returns at once instead of
# queueing behind it).
LOCK_NAMESPACE = 0x494C4154
ENGINE, PENDING = 0, 1
# ("ILAD"): one key per UTC day, its date.toordinal().
DAYS = 0x494C4144
# Past this many days a window takes ENGINE exclusively instead of one lock per day: the lock
# table (max_locks_per_transaction x connections) stays small, and such a recompute is rare.
MAX_DAY_LOCKS = 62


def days_of(start: datetime, end: datetime) -> list[date]:
    """The UTC days the hours [start, end) touch, in order (none when start >= end)."""
    if start >= end:
        return []
    first = start.astimezone(UTC).date()
    last = (end.astimezone(UTC) - timedelta(microseconds=1)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def lock_engine(cursor) -> None:
    """Every hour: wait for the windows in flight, keep new ones out until the commit."""
    cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, ENGINE])


def lock_window(cursor, start: datetime | None, end: datetime | None) -> bool:
    """Lock what a recompute of [start, end) (None: unbounded) rewrites, until the commit.

    A bounded window of at most MAX_DAY_LOCKS days shares ENGINE and takes its days
    exclusively, ascending; anything else takes ENGINE exclusively. Returns whether the window
    was locked per day.
    """
    if start is None or end is None:
        lock_engine(cursor)
        return False
    days = days_of(start, end)
    if len(days) > MAX_DAY_LOCKS:
        lock_engine(cursor)
        return False
    cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", [LOCK_NAMESPACE, ENGINE])
    for day in days:  # ascending: two windows sharing days queue, never deadlock
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [DAYS, day.toordinal()])
    return True
