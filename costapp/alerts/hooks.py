"""Evaluate budgets after every attribution run, without the attribution room knowing about
alerts: Celery's task_success signal fires once an attribution task has returned, after the
engine committed its windows, so the evaluation reads the new allocations."""

from __future__ import annotations

import logging

from celery.signals import task_success

logger = logging.getLogger(__name__)

# The attribution tasks whose success can move a budget's spend (registered names).
ATTRIBUTION_TASKS = frozenset(
    {
        "costapp.attribution.tasks.attribute_pending",
        "costapp.attribution.tasks.recompute_all",
        "costapp.attribution.tasks.recompute_from",
    }
)


def after_attribution(sender=None, result=None, **kwargs) -> None:
    if getattr(sender, "name", None) not in ATTRIBUTION_TASKS:
        return
    if sender.name.endswith("attribute_pending") and not result:
        return  # no window was recomputed: nothing moved
    from .tasks import evaluate_alerts

    try:
        # The task has returned: the engine committed its windows in the worker. Run eagerly
        # (no broker), the evaluation joins the caller's transaction and sees the same rows.
        evaluate_alerts.delay()
    except Exception:
        # A broker hiccup must not turn a successful attribution into a failed task; the beat
        # evaluates within 15 minutes anyway.
        logger.exception("could not enqueue evaluate_alerts after %s", sender.name)


def connect() -> None:
    task_success.connect(after_attribution, weak=False, dispatch_uid="alerts-after-attribution")
