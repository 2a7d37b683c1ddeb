"""Celery tasks for ingestion: thin wrappers that look up ids and call the sources service.

Tasks may run twice (acks_late): the service is idempotent (watermarks, content fingerprints,
request ids). Only transient faults retry, with exponential backoff and a bounded count; a bad
file is a recorded failed run, not an exception, so it never retries.
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from costapp.ingest.errors import TransientError
from costapp.sources import service
from costapp.sources.models import Source

# A Postgres restart surfaces as OperationalError/InterfaceError: as retry-worthy as an S3 503.
TRANSIENT = (TransientError, OperationalError, InterfaceError)


@shared_task(
    acks_late=True,
    autoretry_for=TRANSIENT,
    max_retries=5,
    retry_backoff=30,
    retry_backoff_max=900,
    retry_jitter=True,
)
def ingest_source(source_id: int) -> list[int]:
    """Poll one source; returns the ids of the runs it recorded."""
    source = Source.objects.filter(pk=source_id, enabled=True).first()
    if source is None:
        return []
    return [run.pk for run in service.run_source(source)]


@shared_task(acks_late=True)
def run_due_sources() -> list[int]:
    """Enqueue every source whose schedule has come round (celery beat calls this each minute)."""
    due = service.claim_due_sources()
    for source_id in due:
        ingest_source.delay(source_id)
    return due
