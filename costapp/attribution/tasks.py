"""Celery tasks for attribution: thin wrappers over the engine.

`attribute_pending` recomputes the hours late data touched: celery beat runs it every few
minutes and ingestion enqueues it after a successful poll. `recompute_from` recomputes the open
hours an edit can move (a cost rule, the policy, the GPU inventory or mappings): from the date
the edit takes effect, to the end of the version edited. `recompute_all` recomputes every open
hour. `recompute_by_day` cuts a long window into UTC days and enqueues one `recompute_from`
each, so the workers of the queue share it (costapp.attribution.days). The engine is idempotent
and locks the days it rewrites (costapp.attribution.locking): windows of different days run at
once, overlapping calls queue and do no harm.
Both have time limits below the broker's visibility timeout (costapp/settings.py): at the soft
one the engine records the window in hand as failed and stops, the later windows stay pending.
"""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .engine import attribute_pending as attribute_pending_runs
from .engine import run_attribution

# A Postgres restart surfaces as OperationalError/InterfaceError: retry, bounded; the engine's
# work is idempotent, so a task that ran halfway and runs again does no harm.
retried_on_database_faults = shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    max_retries=3,
    retry_backoff=30,
    retry_jitter=True,
    soft_time_limit=25 * 60,
    time_limit=30 * 60,
)


@retried_on_database_faults
def attribute_pending() -> int:
    """Recompute the windows of runs not yet attributed; returns how many windows."""
    result = attribute_pending_runs()
    return result.windows if result else 0


@retried_on_database_faults
def recompute_all() -> int:
    """Recompute every hour with the rules, policy and inventory as they are now; returns how
    many allocation rows were written."""
    return run_attribution().allocations


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@retried_on_database_faults
def recompute_from(start: str | None, end: str | None = None) -> int:
    """Recompute the open hours of [start, end) (ISO 8601; None: unbounded on that side) with
    the configuration in force in each; returns how many allocation rows were written."""
    return run_attribution(_moment(start), _moment(end)).allocations


@shared_task(acks_late=True, soft_time_limit=60, time_limit=120)
def recompute_by_day(start: str | None, end: str | None = None) -> int:
    """Enqueue one recompute_from per UTC day of [start, end) (ISO 8601; None: up to the stored
    rows on that side); returns how many. Enqueuing twice only recomputes twice: idempotent."""
    from .days import day_windows

    windows = day_windows(_moment(start), _moment(end))
    for low, high in windows:
        recompute_from.delay(low.isoformat(), high.isoformat())
    return len(windows)
