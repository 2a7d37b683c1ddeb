"""Celery tasks for ingestion: forgetting request ids and raw GPU samples past their retention
windows, and creating the big tables' monthly partitions ahead (costapp/core/partitions.py).

Polling sources and refreshing GPU list prices live in costapp/sources/tasks.py. Every task has
a time limit below the broker's visibility timeout (settings.CELERY_BROKER_TRANSPORT_OPTIONS),
so a task still running is never handed to a second worker (tests/sources/test_dead_runs.py).
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from costapp.core import partitions
from costapp.ingest import retention

# A Postgres restart surfaces as OperationalError/InterfaceError: retry, bounded; forgetting
# old ids is idempotent, so a prune that ran halfway and runs again does no harm.
TRANSIENT = (OperationalError, InterfaceError)
# The daily maintenance tasks (celery beat): idempotent, retried on a lost database, bounded.
DAILY_MAINTENANCE = {
    "acks_late": True,
    "autoretry_for": TRANSIENT,
    "max_retries": 3,
    "retry_backoff": 300,
    "soft_time_limit": 25 * 60,
    "time_limit": 30 * 60,
}


@shared_task(**DAILY_MAINTENANCE)
def prune_request_ids() -> int:
    """Forget request ids past the retention window (celery beat, daily); returns how many."""
    return retention.prune_seen_requests()


@shared_task(**DAILY_MAINTENANCE)
def ensure_partitions() -> list[str]:
    """Create the coming months' partitions (celery beat, daily); returns the names created."""
    return partitions.ensure_partitions()


@shared_task(**DAILY_MAINTENANCE)
def prune_gpu_samples() -> int:
    """Remove GPU samples past GPU_SAMPLE_RETENTION_DAYS in closed months (celery beat, daily;
    a no-op while the setting is unset); returns how many rows went."""
    # Which months are closed is attribution's to say; the task is where the two meet.
    from costapp.attribution.periods import closed_months

    return retention.prune_gpu_samples(closed_months()).rows
