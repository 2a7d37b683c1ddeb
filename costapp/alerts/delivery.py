"""Send the outbox: each due Delivery row is locked (SELECT ... FOR UPDATE SKIP LOCKED), sent,
and its outcome recorded in the same transaction.

The promise (docs/ARCHITECTURE.md, "Budgets and alerts"): every delivery is attempted until it
is sent, or dead after MAX_ATTEMPTS attempts or MAX_AGE after its alert fired; so each channel
gets each message at least once unless it is dead. Because the row stays locked, and its status
uncommitted, while the remote is called, a second worker skips it, and a worker that dies
mid-send leaves it pending for the next pass: a second copy is sent only if a worker dies after
the remote accepted the message and before our commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from . import channels, secrets
from .message import build
from .models import Channel, Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_AGE = timedelta(hours=24)
# The wait after the n-th failed attempt: the first retries within a minute, then longer.
BACKOFF = (
    timedelta(seconds=10),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
DUE = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


@dataclass
class DeliveryPass:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)


def next_attempt(attempts: int, now: datetime, retry_after: float | None = None) -> datetime:
    """When to try again after `attempts` failed attempts: the backoff, or the remote's
    Retry-After when it asks for longer."""
    wait = BACKOFF[min(attempts, len(BACKOFF)) - 1]
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    return now + wait


def deliver_due(now: datetime | None = None, limit: int = 500) -> DeliveryPass:
    """Send every due delivery (at most `limit`), one row and one transaction at a time. A channel
    that fails once is left alone for the rest of the pass, so a slow or failing channel never
    holds up the others."""
    result = DeliveryPass()
    tried: list[int] = []
    resting: set[int] = set()
    for _ in range(limit):
        moment = now or timezone.now()
        with transaction.atomic():
            row = (
                Delivery.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("channel", "alert__budget")
                .filter(
                    status__in=DUE, next_attempt_at__lte=moment, channel__broken_at__isnull=True
                )
                .exclude(pk__in=tried)
                .exclude(channel_id__in=resting)
                .order_by("next_attempt_at", "id")
                .first()
            )
            if row is None:
                break
            tried.append(row.pk)
            outcome = _attempt(row, moment)
        getattr(result, outcome).append(row.pk)
        if outcome != "sent":
            resting.add(row.channel_id)
    return result


def _secrets_of(channel: Channel) -> tuple[str, ...]:
    try:
        return (channel.target, channel.secret)
    except secrets.SecretUnreadable:
        return ()


def _attempt(row: Delivery, now: datetime) -> str:
    channel = row.channel
    row.attempts += 1
    try:
        channels.notify(channel, build(row.alert, delivery_id=str(row.pk)))
    except (channels.PermanentError, secrets.SecretUnreadable) as exc:
        error = secrets.scrub(str(exc), *_secrets_of(channel))
        _record(row, DeliveryStatus.DEAD, error)
        Channel.objects.filter(pk=channel.pk).update(broken_at=now, broken_reason=error)
        logger.warning("channel %s (%s) is broken: %s", channel.pk, channel.masked_target, error)
        return "dead"
    except Exception as exc:
        # TransientError, or anything unforeseen (a bug): retried within the same bounds.
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(exc, channels.TransientError):
            error = secrets.scrub(str(exc), *_secrets_of(channel))
        else:
            error = f"unexpected {type(exc).__name__}"
            logger.exception("delivery %s failed unexpectedly", row.pk)
        again = next_attempt(row.attempts, now, retry_after)
        if row.attempts >= MAX_ATTEMPTS or again > row.alert.fired_at + MAX_AGE:
            _record(row, DeliveryStatus.DEAD, f"gave up after {row.attempts} attempts: {error}")
            logger.warning("delivery %s to channel %s gave up: %s", row.pk, channel.pk, error)
            return "dead"
        row.next_attempt_at = again
        _record(row, DeliveryStatus.FAILED, error)
        logger.info("delivery %s to channel %s will retry: %s", row.pk, channel.pk, error)
        return "retrying"
    row.sent_at = now
    _record(row, DeliveryStatus.SENT, "")
    return "sent"


def _record(row: Delivery, status: str, error: str) -> None:
    row.status = status
    row.last_error = error
    row.save(update_fields=["status", "attempts", "next_attempt_at", "last_error", "sent_at"])
