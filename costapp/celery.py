"""The Celery app. With CELERY_BROKER_URL unset, tasks run in-process (eager) on the same code."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "costapp.settings")

app = Celery("costapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
