"""Running configured sources: poll, hand each new delivery to ingest(), keep the watermark.

Celery tasks, admin actions and the scheduler call these; they hold no logic of their own.
Permanent faults (a bad file, a wrong bucket, a missing credential variable) are recorded as a
failed run and not raised; transient ones (S3 5xx, timeouts) are raised so the task retries.
The watermark is saved after each delivery, so a retry resumes where the fault struck.

A run whose process died (a killed worker, an OOM kill, a hard time limit) would stay RUNNING
for ever: `reap_dead_runs`, called at the start of every poll and by the minute's beat task,
marks FAILED each RUNNING run older than a minute whose run lock (held by ingest() for as long
as it works) is free, and makes its source due again. Its delivery's watermark was never saved
and nothing of it was stored, so that next poll ingests it anew.
"""

from __future__ import annotations

import importlib
import logging
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from django.utils import timezone

from costapp.ingest.errors import IngestError, ParseError
from costapp.ingest.models import IngestionRun, RunStatus
from costapp.ingest.runs import RUN_LOCK, delivery_fingerprint, ingest, run_lock_key, stored_run
from costapp.locks import try_advisory_lock

from .deliveries import Delivery
from .models import Source

log = logging.getLogger(__name__)

READERS = {
    Source.Location.LOCAL: "costapp.sources.local",
    Source.Location.S3: "costapp.sources.s3",
    Source.Location.BIGQUERY: "costapp.sources.bigquery",
    Source.Location.PROMETHEUS: "costapp.sources.prometheus",
    Source.Location.EXPORTER: "costapp.sources.exporter",
    Source.Location.API: "costapp.sources.provider_api",
}
# pg advisory lock namespace ("IL" + "src"): one poll of a source at a time, across workers.
LOCK_NAMESPACE = 0x494C5352
# A run this young may be between its creation and taking its lock: never reaped.
REAP_AFTER = timedelta(minutes=1)
DIED = "the process ingesting this run stopped before it finished; nothing of it was stored"


def reap_dead_runs(now: datetime | None = None) -> list[int]:
    """Mark FAILED every RUNNING run whose process died; returns their ids.

    Dead, not slow: a live ingest() holds its run lock on its own database session until it
    records the outcome, and Postgres drops a session's locks when the session ends, however
    the process ended. Each run's source is made due at once, so it is polled again.
    """
    now = now or timezone.now()
    running = IngestionRun.objects.filter(status=RunStatus.RUNNING, started_at__lt=now - REAP_AFTER)
    reaped = []
    for pk, source_id in running.values_list("pk", "source_id"):
        with try_advisory_lock(RUN_LOCK, run_lock_key(pk)) as free:
            if not free:
                continue  # still being ingested
            marked = IngestionRun.objects.filter(pk=pk, status=RunStatus.RUNNING).update(
                status=RunStatus.FAILED, error=DIED, finished_at=now
            )
        if marked:
            reaped.append(pk)
            log.warning("ingestion run %s: %s", pk, DIED)
            if source_id is not None:
                Source.objects.filter(pk=source_id).update(last_polled_at=None)
    return reaped


def run_source(source: Source) -> list[IngestionRun]:
    """Poll one source and ingest what is new. Returns the runs it recorded (maybe none)."""
    if source.location_kind not in READERS:
        return []  # pushed sources have nothing to poll
    reap_dead_runs()
    with exclusive(source) as mine:
        if not mine:
            log.info("source %s is already being polled; skipping", source.pk)
            return []
        source.last_polled_at = timezone.now()
        source.save(update_fields=["last_polled_at"])
        reader = importlib.import_module(READERS[source.location_kind])
        runs: list[IngestionRun] = []
        try:
            for delivery in reader.deliveries(source):
                run = _handle(source, delivery)
                if run is not None:
                    runs.append(run)
                if delivery.state is not None:
                    source.state = delivery.state
                    source.save(update_fields=["state"])
        except IngestError as exc:
            # The source itself is unusable (wrong bucket, no such folder): say so, every poll.
            runs.append(record_failure(source, source.location, exc))
        else:
            source.last_checked_at = timezone.now()
            source.save(update_fields=["last_checked_at"])
        return runs


def _handle(source: Source, delivery: Delivery) -> IngestionRun | None:
    if delivery.failure is not None:
        return record_failure(source, delivery.location, delivery.failure)
    if not delivery.files:
        return None  # nothing arrived in this window; only the watermark moves
    if _already_stored(source, delivery):
        return None
    # Attribution of the run's hours is not done here: the run stays pending
    # (IngestionRun.attributed_at) until costapp.attribution.engine.attribute_pending takes it.
    return ingest(
        delivery.files,
        source.format,
        source=source,
        location=delivery.location,
        parse=delivery.parse,
    )


def _already_stored(source: Source, delivery: Delivery) -> bool:
    """With store-given ETags the fingerprint is free, so a re-listed delivery costs no run."""
    if not delivery.files or not all(f.etag for f in delivery.files):
        return False
    fingerprint = delivery_fingerprint(delivery.files)
    return stored_run(source.format, source, source.stream, fingerprint) is not None


def record_failure(source: Source, location: str, exc: IngestError) -> IngestionRun:
    """A permanent fault found before ingestion, recorded like any failed run."""
    run = IngestionRun(
        source=source,
        format=source.format,
        location=location,
        status=RunStatus.FAILED,
        error=str(exc),
        finished_at=timezone.now(),
        duration_ms=0,
    )
    if isinstance(exc, ParseError):
        run.error_file, run.error_line, run.error_column = exc.file, exc.line, exc.column
    run.save()
    log.warning("source %s: %s", source.pk, exc)
    return run


def claim_due_sources(now: datetime | None = None) -> list[int]:
    """Ids of enabled sources whose schedule has come round, each claimed by exactly one caller.

    The claim is a conditional UPDATE on last_polled_at, so two schedulers (or a slow queue)
    never enqueue the same source twice for one period.
    """
    now = now or timezone.now()
    due = []
    candidates = Source.objects.filter(enabled=True, location_kind__in=list(READERS))
    for source in candidates.only("pk", "last_polled_at", "schedule_minutes"):
        last = source.last_polled_at
        if last is not None and now - last < timedelta(minutes=source.schedule_minutes):
            continue
        claimed = Source.objects.filter(pk=source.pk, last_polled_at=last).update(
            last_polled_at=now
        )
        if claimed:
            due.append(source.pk)
    return due


def exclusive(source: Source) -> AbstractContextManager[bool]:
    """A session advisory lock on the source; Postgres drops it if the connection dies."""
    return try_advisory_lock(LOCK_NAMESPACE, source.pk)
