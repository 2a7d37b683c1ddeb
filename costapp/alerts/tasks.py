"""Celery tasks for alerts, thin over the services: the beat evaluates every 15 minutes (and
after every attribution run, costapp.alerts.hooks) and sends the outbox every minute, so a
failed delivery's first retries happen within a minute."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .delivery import deliver_due
from .evaluate import evaluate_all

alerts_task = shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    max_retries=3,
    retry_backoff=30,
    retry_jitter=True,
    soft_time_limit=10 * 60,
    time_limit=12 * 60,
)


@alerts_task
def evaluate_alerts() -> dict:
    """One evaluation of every budget, then one delivery pass."""
    fired = sum(len(e.fired) for e in evaluate_all())
    sent = deliver_due()
    return {"fired": fired, "sent": len(sent.sent), "retrying": len(sent.retrying)}


@alerts_task
def deliver_alerts() -> dict:
    sent = deliver_due()
    return {"sent": len(sent.sent), "retrying": len(sent.retrying), "dead": len(sent.dead)}
