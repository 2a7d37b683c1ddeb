"""Queue what one evaluation fired: one message, led by the most important alert, to each
channel of the budget or rule that fired it (the outbox rows costapp.alerts.delivery sends)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from .models import Alert, Delivery


def announce(
    lead: Alert, fired: list[Alert], owned: QuerySet, channels: list, now: datetime
) -> int:
    """Queue `lead` to `channels` and mark the other `fired` alerts as covered by it.

    `owned` are the alerts of the same budget or rule: while one of them is snoozed, or there is
    no channel, the lead is recorded with the reason and nothing is sent. Returns the number
    of deliveries queued."""
    Alert.objects.filter(pk__in=[a.pk for a in fired if a.pk != lead.pk]).update(lead=lead)
    snoozed = (
        owned.filter(snoozed_until__gt=now)
        .order_by("-snoozed_until")
        .values_list("snoozed_until", flat=True)
        .first()
    )
    reason = ""
    if snoozed is not None:
        reason = f"snoozed until {snoozed:%Y-%m-%d %H:%M} UTC"
    elif not channels:
        owner = "budget" if lead.budget_id else "rule"
        reason = f"the {owner} has no channel"
    if reason:
        Alert.objects.filter(pk=lead.pk).update(suppressed=reason)
        return 0
    Delivery.objects.bulk_create(
        [
            Delivery(alert=lead, channel=channel, next_attempt_at=now, created_at=now)
            for channel in channels
        ]
    )
    return len(channels)
