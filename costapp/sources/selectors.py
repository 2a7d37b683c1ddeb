"""Read queries over sources for pages and the API: data freshness per source, the bills
loaded per account and period (which streams hold them, with what totals), and the runs whose
attribution failed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from costapp.ingest.models import IngestionRun, RunStatus

from .models import Source


@dataclass(frozen=True)
class Freshness:
    source: Source
    last_success_at: datetime | None
    # now - data_through: how old the newest data is (a run that finds nothing new does not
    # make the data fresher); None when no successful run stored data with a time span.
    lag: timedelta | None
    data_through: datetime | None  # the newest instant any successful run stored
    last_run: IngestionRun | None
    last_error: IngestionRun | None  # the newest failed run
    now: datetime

    @property
    def failing(self) -> bool:
        """The newest failure is newer than the newest success: needs someone's attention."""
        if self.last_error is None:
            return False
        return self.last_success_at is None or self.last_error.started_at > self.last_success_at

    @property
    def stale(self) -> bool:
        """Neither new data nor a clean check of the location for two schedule periods: the
        scheduler or the location is broken (pushed sources: never judged stale). A source
        whose export has not changed since it was last read is checked, not stale."""
        if self.source.location_kind == Source.Location.PUSH or not self.source.enabled:
            return False
        seen = [t for t in (self.last_success_at, self.source.last_checked_at) if t is not None]
        limit = timedelta(minutes=2 * self.source.schedule_minutes)
        return not seen or self.now - max(seen) > limit


# Per source, one index probe (ingest_ingestionrun's run_source_* indexes), however many runs a
# source has piled up: a push source records one per batch, millions a year.
_NEWEST = """
SELECT r.id FROM sources_source s CROSS JOIN LATERAL (
    SELECT id FROM ingest_ingestionrun
    WHERE source_id = s.id {status}
    ORDER BY started_at DESC, id DESC LIMIT 1) r
"""
_DATA_THROUGH = """
SELECT s.id, (SELECT max(data_end) FROM ingest_ingestionrun
              WHERE source_id = s.id AND status = %s) FROM sources_source s
"""


def _latest(status: str | None = None) -> dict[int, IngestionRun]:
    """The newest run per source, of one status if given."""
    with connection.cursor() as cursor:
        if status:
            cursor.execute(_NEWEST.format(status="AND status = %s"), [status])
        else:
            cursor.execute(_NEWEST.format(status=""))
        ids = [row[0] for row in cursor.fetchall()]
    return {run.source_id: run for run in IngestionRun.objects.filter(pk__in=ids)}


def freshness(now: datetime | None = None) -> list[Freshness]:
    """Per source: last success, lag, data coverage, last run and last error."""
    now = now or timezone.now()
    last_run = _latest()
    last_success = _latest(RunStatus.SUCCEEDED)
    last_error = _latest(RunStatus.FAILED)
    with connection.cursor() as cursor:
        cursor.execute(_DATA_THROUGH, [RunStatus.SUCCEEDED])
        through = dict(cursor.fetchall())
    result = []
    for source in Source.objects.order_by("name"):
        success = last_success.get(source.pk)
        success_at = (success.finished_at or success.started_at) if success else None
        result.append(
            Freshness(
                source=source,
                last_success_at=success_at,
                lag=now - through[source.pk] if through.get(source.pk) else None,
                data_through=through.get(source.pk),
                last_run=last_run.get(source.pk),
                last_error=last_error.get(source.pk),
                now=now,
            )
        )
    return result


def attribution_problems(limit: int = 50) -> list[IngestionRun]:
    """Runs whose hours attribution could not compute, or only partly (hours outside the
    plausible time window), newest first, with the reason; the run_attribution_error partial
    index finds these few among millions of runs."""
    runs = IngestionRun.objects.exclude(attribution_error="").select_related("source")
    return list(runs.order_by("-started_at")[:limit])


def needing_attention(now: datetime | None = None) -> tuple[int, int]:
    """(sources configured, sources failing or stale): the overview's one-line health check."""
    rows = freshness(now)
    return len(rows), sum(1 for row in rows if row.failing or row.stale)


@dataclass(frozen=True)
class LoadedBillRow:
    """One provider billing account's period in one currency, as the stored rows make it up."""

    provider: str
    billing_account_id: str
    period: datetime
    currency: str
    streams: list[str]  # source names, or the raw stream of a run without a source
    sub_accounts: int
    rows: int
    billed_cost: Decimal
    effective_cost: Decimal
    held_twice: bool  # a sub account's bill is stored by more than one stream: it counts twice


LOADED_BILLS = """
WITH parts AS (
  SELECT *, count(*) OVER (PARTITION BY provider, billing_account_id, sub_account_id,
                                        billing_period_start) AS holders
  FROM ingest_loadedbill)
SELECT provider, billing_account_id, billing_period_start, billing_currency,
       array_agg(DISTINCT stream ORDER BY stream), count(DISTINCT sub_account_id), sum(rows),
       sum(billed_cost), sum(effective_cost), bool_or(holders > 1)
FROM parts
GROUP BY 1, 2, 3, 4
ORDER BY 3 DESC, 1, 2, 4
LIMIT %s
"""


def loaded_bills(limit: int = 100) -> list[LoadedBillRow]:
    """The newest `limit` account-periods stored, newest first; for reconciling with invoices."""
    names = {source.stream: source.name for source in Source.objects.only("pk", "name")}
    with connection.cursor() as cursor:
        cursor.execute(LOADED_BILLS, [limit])
        found = cursor.fetchall()
    # The query's columns are the dataclass's fields in order; streams get their source names.
    return [
        LoadedBillRow(*row[:4], sorted(names.get(s, s) for s in row[4]), *row[5:]) for row in found
    ]


@dataclass(frozen=True)
class InvoiceRow:
    provider: str
    billing_account_id: str
    invoice_id: str
    currency: str
    rows: int
    billed_cost: Decimal


# The sum of BilledCost per invoice is what finance reconciles against the invoice itself
# (FOCUS InvoiceId). Only formats that carry an invoice id fill it; lines without one are left
# out. Reads the cost lines of the newest billing periods only (a scan of those periods).
INVOICES = """
SELECT provider, billing_account_id, invoice_id, billing_currency, count(*), sum(billed_cost)
FROM ingest_costline
WHERE invoice_id IS NOT NULL
  AND billing_period_start >= (SELECT max(billing_period_start) FROM ingest_loadedbill)
                              - interval '3 months'
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4
LIMIT %s
"""


def invoices(limit: int = 100) -> list[InvoiceRow]:
    """Billed cost per invoice over the last few billing periods loaded."""
    with connection.cursor() as cursor:
        cursor.execute(INVOICES, [limit])
        return [InvoiceRow(*row) for row in cursor.fetchall()]
