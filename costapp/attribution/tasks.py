"""Celery tasks for attribution: thin wrappers over the engine.

`attribute_pending` recomputes the hours late data touched: celery beat runs it every few
minutes and ingestion enqueues it after a successful poll. `recompute_all` recomputes every
hour after an edit that can move any of them (a cost rule, the policy, the GPU inventory or
mappings). The engine is idempotent and takes an advisory lock, so overlapping calls do no harm.
Both have time limits below the broker's visibility timeout (costapp/settings.py): at the soft
one the engine records the window in hand as failed and stops, the later windows stay pending.
"""

from __future__ import annotations

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
