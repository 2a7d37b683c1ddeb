"""The nightly recommendations run (scheduled in costapp/celery.py)."""

from __future__ import annotations

from celery import shared_task

from .recommendations import refresh


@shared_task(acks_late=True, soft_time_limit=20 * 60, time_limit=25 * 60)
def refresh_recommendations() -> int:
    """Idempotent: a second run over the same data writes the same open recommendations."""
    return refresh()
