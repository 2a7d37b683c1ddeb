"""The ingestion service: one delivery in, one recorded run out, all or nothing.

A run is recorded before any data is touched (in its own transaction), so a failure is always
visible; the data itself is written in one transaction that rolls back entirely on any error,
leaving earlier data untouched. A delivery whose content (fingerprint) is what is already stored
is skipped (see stored_run).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

import psycopg
from django.db import DataError, transaction
from django.db.models import Sum
from django.utils import timezone

from costapp.locks import hold_session_lock, release_session_lock

from .errors import IngestError, ParseError
from .files import InputFile
from .formats import get_format
from .models import IngestionRun, LoadedBill, RunStatus
from .store import WRITERS

log = logging.getLogger(__name__)
# pg advisory lock namespace ("ILRN"): ingest() holds (RUN_LOCK, run_lock_key(run id)) on its
# session while it works, so a RUNNING run whose lock is free belongs to a process that died
# (costapp.sources.service.reap_dead_runs marks it failed).
RUN_LOCK = 0x494C524E


def run_lock_key(run_id: int) -> int:
    return run_id % 2**31  # the two-key form takes int4; a clash only delays a reap


def delivery_fingerprint(files: Sequence[InputFile]) -> str:
    digest = hashlib.sha256()
    for file in sorted(files, key=lambda f: f.name):
        digest.update(file.fingerprint().encode())
    return digest.hexdigest()


def stored_run(fmt: str, source, stream: str, content_hash: str) -> int | None:
    """The id of an earlier run with this content whose data is what is stored now, if any:
    a delivery is skipped only then.

    Billing: the latest delivery of a bill wins, even when its bytes equal an earlier one's (v1,
    then a restated v2, then v1 again must store v1). So the newest identical run counts only
    if the stream still holds every bill it loaded: its LoadedBill rows, which a later delivery
    of the same bill takes over, still add up to all the rows it stored. This also keeps the
    skip for a stream that delivers each month apart (BigQuery), where the newest run of the
    stream is another month's. Telemetry and requests are idempotent on re-ingest (one reading
    per GPU and time, a request id counted once), so any identical run will do: one indexed
    look-up, and a folder re-listed with many old files costs no runs.
    """
    same = (
        IngestionRun.objects.filter(
            format=fmt, source=source, content_hash=content_hash, status=RunStatus.SUCCEEDED
        )
        .order_by("-pk")
        .values_list("pk", "rows_stored")
        .first()
    )
    if same is None or get_format(fmt).KIND != "billing":
        return None if same is None else same[0]
    run_id, rows = same
    held = LoadedBill.objects.filter(run_id=run_id, stream=stream).aggregate(rows=Sum("rows"))
    return run_id if (held["rows"] or 0) == rows else None


def _rows(
    parse: Callable[[InputFile], Iterable], files: Sequence[InputFile], warnings: list[str]
) -> Iterator:
    # A parser generator may return a list of warnings (dcgm: readings dated by the file's
    # time); they end on the run beside the writer's own.
    for file in files:
        warnings.extend((yield from parse(file)) or ())


def ingest(
    files: Sequence[InputFile],
    fmt: str,
    *,
    source=None,
    location: str = "",
    stream: str = "",
    parse: Callable[[InputFile], Iterable] | None = None,
) -> IngestionRun:
    """Ingest one delivery (a file, or the files of one export) of format `fmt`.

    `parse` replaces the format module's parser for sources that hand over rows rather than
    bytes (a BigQuery query); the kind, bookkeeping and idempotency stay the format's.

    Returns the run: SUCCEEDED, SKIPPED (its content is what is stored) or FAILED with the error
    located. Permanent input errors are recorded and returned, not raised; anything else (a
    transient fault) is recorded and re-raised so the caller can retry.
    """
    module = get_format(fmt)
    location = location or (files[0].name if len(files) == 1 else f"{len(files)} files")
    stream = stream or (source.stream if source is not None else f"local:{fmt}")
    started = time.monotonic()
    run = IngestionRun.objects.create(
        source=source,
        format=fmt,
        location=location,
        files=len(files),
        bytes_read=sum(f.size or 0 for f in files),
    )
    hold_session_lock(RUN_LOCK, run_lock_key(run.pk))
    try:
        run.content_hash = delivery_fingerprint(files)
        same = stored_run(fmt, source, stream, run.content_hash)
        if same is not None:
            run.status = RunStatus.SKIPPED
            run.error = f"same content as run {same}, which is what is stored; nothing stored"
        else:
            writer = WRITERS[module.KIND]
            kwargs = {"stream": stream, "fmt": fmt} if module.KIND == "billing" else {"fmt": fmt}
            parsed: list[str] = []
            if module.KIND != "billing":

                def replay() -> Iterator:
                    # The writers' fast path may read the delivery again (store.py): the
                    # parsers' warnings are then those of the second reading.
                    parsed.clear()
                    return _rows(parse or module.parse, files, parsed)

                kwargs["replay"] = replay
            with transaction.atomic():
                stats = writer(_rows(parse or module.parse, files, parsed), run.pk, **kwargs)
            run.rows_read = stats.rows_read
            run.rows_stored = stats.rows_stored
            run.rows_rejected = stats.rows_rejected
            run.data_start, run.data_end = stats.data_start, stats.data_end
            run.warnings = [*parsed, *stats.warnings]
            run.status = RunStatus.SUCCEEDED
    except ParseError as exc:
        run.status = RunStatus.FAILED
        run.error = str(exc)
        run.error_file, run.error_line, run.error_column = exc.file, exc.line, exc.column
    except IngestError as exc:
        run.status = RunStatus.FAILED
        run.error = str(exc)
    except (DataError, psycopg.DataError):
        # Defence in depth: costapp/ingest/checks.py refuses values that do not fit their
        # columns, so this is a limit it lacks. Neither stored nor shown: the database's text.
        log.exception("ingestion run %s: a value the checks let through does not fit", run.pk)
        run.status = RunStatus.FAILED
        run.error_file = files[0].name if len(files) == 1 else ""
        run.error = (
            f"{run.error_file or location}: a value does not fit its database column"
            " (expected values within the limits in docs/ARCHITECTURE.md, Limits)"
        )
    except Exception as exc:
        run.status = RunStatus.FAILED
        run.error = f"{type(exc).__name__}: {exc}"
        _finish(run, started)
        raise
    _finish(run, started)
    return run


def _finish(run: IngestionRun, started: float) -> None:
    run.finished_at = timezone.now()
    run.duration_ms = int((time.monotonic() - started) * 1000)
    try:
        run.save()
    finally:
        release_session_lock(RUN_LOCK, run_lock_key(run.pk))
    log.info("ingestion run %s %s: %s", run.pk, run.status, run.error or run.rows_stored)
