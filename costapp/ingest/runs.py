"""The ingestion service: one delivery in, one recorded run out, all or nothing.

A run is recorded before any data is touched (in its own transaction), so a failure is always
visible; the data itself is written in one transaction that rolls back entirely on any error,
leaving earlier data untouched. The same content twice is detected by fingerprint and skipped.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from django.db import transaction
from django.utils import timezone

from .errors import IngestError, ParseError
from .files import InputFile
from .formats import get_format
from .models import IngestionRun, RunStatus
from .store import WRITERS

log = logging.getLogger(__name__)


def delivery_fingerprint(files: Sequence[InputFile]) -> str:
    digest = hashlib.sha256()
    for file in sorted(files, key=lambda f: f.name):
        digest.update(file.fingerprint().encode())
    return digest.hexdigest()


def _rows(parse: Callable[[InputFile], Iterable], files: Sequence[InputFile]) -> Iterator:
    for file in files:
        yield from parse(file)


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

    Returns the run: SUCCEEDED, SKIPPED (same content seen before) or FAILED with the error
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
    try:
        run.content_hash = delivery_fingerprint(files)
        earlier = IngestionRun.objects.filter(
            format=fmt, source=source, content_hash=run.content_hash, status=RunStatus.SUCCEEDED
        ).exclude(pk=run.pk)
        if earlier.exists():
            run.status = RunStatus.SKIPPED
            run.error = f"same content as run {earlier.first().pk}; nothing stored"
        else:
            writer = WRITERS[module.KIND]
            kwargs = {"stream": stream} if module.KIND == "billing" else {}
            with transaction.atomic():
                stats = writer(_rows(parse or module.parse, files), run.pk, **kwargs)
            run.rows_read = stats.rows_read
            run.rows_stored = stats.rows_stored
            run.rows_rejected = stats.rows_rejected
            run.data_start, run.data_end = stats.data_start, stats.data_end
            run.warnings = stats.warnings
            run.status = RunStatus.SUCCEEDED
    except ParseError as exc:
        run.status = RunStatus.FAILED
        run.error = str(exc)
        run.error_file, run.error_line, run.error_column = exc.file, exc.line, exc.column
    except IngestError as exc:
        run.status = RunStatus.FAILED
        run.error = str(exc)
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
    run.save()
    log.info("ingestion run %s %s: %s", run.pk, run.status, run.error or run.rows_stored)
