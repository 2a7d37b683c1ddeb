"""How long request ids are remembered: SeenRequest is the one store that grows with every
request (about 150 bytes each, index included: 10M requests a day would be 0.5 TB a year), so
ids of requests older than the retention window are forgotten.

Within the window a request id counts once, however often it is sent (retried pushes,
overlapping log exports, a file ingested twice). Past it, only the delivery's fingerprint
guards against a re-sent file; a re-sent request that old would count again. The rollups,
which hold the counts, are never pruned here.

SeenRequest is partitioned by month of the request's hour, and a partitioned table's unique
key must hold its partition key: an id is unique per (request_id, hour), not per request_id.
A request still counts once, because every copy of a request carries the same instant, so the
same hour: a retried push, an overlapping export and a file sent twice all do. What would count
twice is one id sent with instants in two different hours (two systems logging one request, one
at its start and one at its end, across an hour boundary); before partitioning that counted
once (and failed the delivery when both copies came in one delivery). tests/ingest/
test_partitions.py pins both. Pruning drops whole months past the window
(costapp.core.partitions) and deletes the rest of the window's month in batches.

GPU samples (raw telemetry, 256 GPUs every 15 s: 45M rows a month) may also be kept for a
window only: GPU_SAMPLE_RETENTION_DAYS, unset by default (keep everything). Attribution reads
them whenever it recomputes an hour, and any open month may be recomputed (a late bill, an
edited rule), so samples are removed only from closed months (costapp/attribution/periods.py)
and only past the window; the computed allocations, which hold the result, stay. Reopening a
closed month whose samples are gone recomputes it without them: utilization then falls back
to request GPU-seconds, or "unmeasured" (costapp/attribution/engine.py), and the month's
split changes; finance sees it in the reopened month's totals.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from costapp.core import partitions

BATCH = 50_000  # rows a transaction: short locks, and WAL in bounded pieces


def request_id_cutoff(now: datetime | None = None, days: int | None = None) -> datetime:
    """Requests from hours before this instant are past the window."""
    days = settings.REQUEST_ID_RETENTION_DAYS if days is None else days
    now = now or timezone.now()
    return now.replace(minute=0, second=0, microsecond=0) - timedelta(days=days)


def prune_seen_requests(
    now: datetime | None = None, days: int | None = None, batch: int = BATCH
) -> int:
    """Forget the ids of requests older than the window; returns how many were forgotten."""
    cutoff = request_id_cutoff(now, days)
    return partitions.prune("ingest_seenrequest", [(None, cutoff)], batch).rows


def gpu_sample_cutoff(now: datetime | None = None, days: int | None = None) -> datetime | None:
    """Samples from before this instant are past the window; None when they are kept."""
    days = settings.GPU_SAMPLE_RETENTION_DAYS if days is None else days
    if days is None:
        return None
    now = now or timezone.now()
    return now.replace(minute=0, second=0, microsecond=0) - timedelta(days=days)


def prune_gpu_samples(
    closed: Iterable[date],
    now: datetime | None = None,
    days: int | None = None,
    batch: int = BATCH,
) -> partitions.Pruned:
    """Remove the GPU samples past the window that lie in `closed` months (first days of
    months, costapp.attribution.periods.closed_months()): whole month partitions dropped, the
    rest deleted in batches. Samples of open months are kept whatever their age."""
    cutoff = gpu_sample_cutoff(now, days)
    intervals = []
    for month in closed if cutoff is not None else ():
        low, high = partitions.bounds(month)
        if low < cutoff:
            intervals.append((low, min(high, cutoff)))
    return partitions.prune("ingest_gpusample", intervals, batch)
