"""The Celery app. With CELERY_BROKER_URL unset, tasks run in-process (eager) on the same code."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "costapp.settings")

app = Celery("costapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# celery beat: every minute, mark failed the ingestion runs whose process died and start the
# sources whose own schedule (schedule_minutes) is due (theirs included);
# every 5 minutes, attribute late data (pushed batches, files ingested by command); daily,
# refresh GPU list prices and forget request ids past their retention window.
CELERY_BEAT_SCHEDULE = {
    "run-due-sources": {
        "task": "costapp.sources.tasks.run_due_sources",
        "schedule": 60.0,
    },
    "attribute-pending": {
        "task": "costapp.attribution.tasks.attribute_pending",
        "schedule": 300.0,
    },
    "refresh-gpu-prices": {
        "task": "costapp.sources.tasks.refresh_gpu_prices",
        "schedule": 86400.0,
    },
    "prune-request-ids": {
        "task": "costapp.ingest.tasks.prune_request_ids",
        "schedule": 86400.0,
    },
    # Monthly partitions of the big tables, created three months ahead, and raw GPU samples
    # past GPU_SAMPLE_RETENTION_DAYS (closed months only) dropped: costapp/core/partitions.py.
    "ensure-partitions": {
        "task": "costapp.ingest.tasks.ensure_partitions",
        "schedule": 86400.0,
    },
    "prune-gpu-samples": {
        "task": "costapp.ingest.tasks.prune_gpu_samples",
        "schedule": 86400.0,
    },
    # Budgets and alerts (costapp/alerts): evaluate every 15 minutes (and after each
    # attribution run); send the outbox every minute, so first retries come within a minute.
    "evaluate-alerts": {
        "task": "costapp.alerts.tasks.evaluate_alerts",
        "schedule": 900.0,
    },
    "deliver-alerts": {
        "task": "costapp.alerts.tasks.deliver_alerts",
        "schedule": 60.0,
    },
    # What-if recommendations (costapp/whatif/recommendations.py), nightly; idempotent.
    "refresh-recommendations": {
        "task": "costapp.whatif.tasks.refresh_recommendations",
        "schedule": 86400.0,
    },
}
app.conf.beat_schedule = CELERY_BEAT_SCHEDULE
