"""Celery task for attribution: a thin wrapper that recomputes the hours late data touched.

celery beat runs it every few minutes and ingestion enqueues it after a successful poll; the
service is idempotent and takes an advisory lock, so overlapping calls do no harm.
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .engine import attribute_pending as attribute_pending_runs


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    max_retries=3,
    retry_backoff=30,
    retry_jitter=True,
)
def attribute_pending() -> int:
    """Recompute the windows of runs not yet attributed; returns how many windows."""
    result = attribute_pending_runs()
    return result.windows if result else 0
