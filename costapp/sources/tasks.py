"""Celery tasks for sources: polling them on their schedules and refreshing GPU list prices.

Thin wrappers that look up ids and call the sources service. Tasks may run twice (acks_late):
the service is idempotent (watermarks, content fingerprints, request ids). Only transient faults
retry, with exponential backoff and a bounded count; a bad file is a recorded failed run, not an
exception, so it never retries. A poll that stored something enqueues attribution of the
pending runs (pushed batches wait for the beat).

Every task has a time limit: the soft one raises inside the task (an ingestion records its run
as failed), the hard one kills the worker child. The broker's visibility timeout
(settings.CELERY_BROKER_TRANSPORT_OPTIONS) is longer than every hard limit and retry countdown,
so a task still running is never handed to a second worker (tests/sources/test_dead_runs.py).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError

# The one import from a room above: a poll that stored data starts the next step of the flow.
# Enqueuing by name instead would hide the edge, and in eager mode (no broker) a name that no
# module has registered yet is sent to a broker that does not exist.
from costapp.attribution.tasks import attribute_pending
from costapp.ingest.errors import IngestError, TransientError
from costapp.ingest.models import RunStatus
from costapp.sources import catalog, service
from costapp.sources.models import Source

log = logging.getLogger(__name__)

# A Postgres restart surfaces as OperationalError/InterfaceError: as retry-worthy as an S3 503.
TRANSIENT = (TransientError, OperationalError, InterfaceError)

POLL: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": TRANSIENT,
    "max_retries": 5,
    "retry_backoff": 30,
    "retry_backoff_max": 900,
    "retry_jitter": True,
    # A month of CUR 2.0 parts is the longest delivery; a poll that still runs after this is
    # stuck (a hung connection), and its run is recorded failed and the source polled again.
    "soft_time_limit": 25 * 60,
    "time_limit": 30 * 60,
}
SCHEDULE: dict[str, Any] = {"acks_late": True, "soft_time_limit": 120, "time_limit": 180}
PRICES: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": TRANSIENT,
    "max_retries": 5,
    "retry_backoff": 60,
    "retry_backoff_max": 1800,  # below the visibility timeout: a countdown is held unacked
    "retry_jitter": True,
    "soft_time_limit": 10 * 60,
    "time_limit": 15 * 60,
}


@shared_task(**POLL)
def ingest_source(source_id: int) -> list[int]:
    """Poll one source; returns the ids of the runs it recorded."""
    source = Source.objects.filter(pk=source_id, enabled=True).first()
    if source is None:
        return []
    runs = service.run_source(source)
    if any(run.status == RunStatus.SUCCEEDED for run in runs):
        attribute_pending.delay()
    return [run.pk for run in runs]


@shared_task(**SCHEDULE)
def run_due_sources() -> list[int]:
    """Enqueue every source whose schedule has come round (celery beat calls this each minute),
    after marking failed the runs whose process died (their sources become due again)."""
    service.reap_dead_runs()
    due = service.claim_due_sources()
    for source_id in due:
        ingest_source.delay(source_id)
    return due


@shared_task(**PRICES)
def refresh_gpu_prices(api_endpoint: str | None = None, anonymous: bool = False) -> int | None:
    """Refresh GPU list prices from Google's Cloud Billing Catalog (celery beat, daily).

    `api_endpoint` and `anonymous` point it at an emulator. Returns how many prices were
    stored, or None when the catalog refused (bad or missing credentials): that is logged and
    not retried, so a deployment without Google Cloud just has no list prices.
    """
    from google.auth.exceptions import GoogleAuthError

    try:
        credentials = None
        if anonymous:
            from google.auth.credentials import AnonymousCredentials

            credentials = AnonymousCredentials()
        client = catalog.catalog_client(api_endpoint=api_endpoint, credentials=credentials)
        return catalog.refresh_gpu_prices(client)
    except (IngestError, GoogleAuthError) as exc:
        log.warning("GPU list prices not refreshed: %s", exc)
        return None


# Deprecated names, registered for one release (the one after 0.1.0), then removed. These
# tasks lived in costapp/ingest/tasks.py and Celery names a task by its module, so a deployment
# upgraded in place still has messages under the old names: retries waiting out their
# countdown, polls the old admin or the old beat enqueued, and what an old beat still running
# sends until it restarts. A worker drops a message whose name it does not know, so a poll or
# the day's price refresh would be lost without a trace. Each alias runs the new task in the
# worker that received it, with the same retries and time limits. Explicit names equal to the
# old ones would avoid the aliases but keep "ingest" in the logs and monitoring of tasks that
# belong to sources. Roll out workers before beat and the web, so no old worker gets a new name.
OLD_MODULE = "costapp.ingest.tasks"


@shared_task(name=f"{OLD_MODULE}.ingest_source", **POLL)
def ingest_source_deprecated_name(source_id: int) -> list[int]:
    """Deprecated alias of `ingest_source`, for messages queued under its old name."""
    return ingest_source(source_id)


@shared_task(name=f"{OLD_MODULE}.run_due_sources", **SCHEDULE)
def run_due_sources_deprecated_name() -> list[int]:
    """Deprecated alias of `run_due_sources`, for messages queued under its old name."""
    return run_due_sources()


@shared_task(name=f"{OLD_MODULE}.refresh_gpu_prices", **PRICES)
def refresh_gpu_prices_deprecated_name(
    api_endpoint: str | None = None, anonymous: bool = False
) -> int | None:
    """Deprecated alias of `refresh_gpu_prices`, for messages queued under its old name."""
    return refresh_gpu_prices(api_endpoint=api_endpoint, anonymous=anonymous)
