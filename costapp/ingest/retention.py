"""How long request ids are remembered: SeenRequest is the one store that grows with every
request (about 150 bytes each, index included: 10M requests a day would be 0.5 TB a year), so
ids of requests older than the retention window are forgotten.

Within the window a request id counts once, however often it is sent (retried pushes,
overlapping log exports, a file ingested twice). Past it, only the delivery's fingerprint
guards against a re-sent file; a re-sent request that old would count again. The rollups,
which hold the counts, are never pruned here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

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
    forgotten = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            # hour has a BRIN index (ids arrive roughly in time order): old block ranges only.
            cursor.execute(
                "DELETE FROM ingest_seenrequest WHERE ctid = ANY(ARRAY("
                " SELECT ctid FROM ingest_seenrequest WHERE hour < %s LIMIT %s))",
                [cutoff, batch],
            )
            deleted = cursor.rowcount
        forgotten += deleted
        if deleted < batch:
            return forgotten
