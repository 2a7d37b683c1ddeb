"""Google Cloud billing export tables (standard or detailed) read from BigQuery.

One delivery per invoice month: storing a delivery replaces that billing period's rows, and
costapp.ingest.gcp keys the period on invoice.month, so a query must return whole invoice
months. The query still filters on _PARTITIONTIME and usage_start_time (a month's usage lies
within a day of its invoice month, and is exported after it happened) so BigQuery scans only
the partitions that can hold it. A month is read again only when the table has changed since
the last successful read (its etag / last-modified time is the delivery's fingerprint).

Source fields: location "project.dataset.gcp_billing_export_v1_XXXXXX"; options `months_back`
(1: this month and the last, which Google still adjusts early in the month), `project` (to bill
the query to), `partition_filter` (true; false for views), `retry_seconds` (60, the client's own retries),
`api_endpoint` and `anonymous` (for an emulator); credentials_ref: service_account (a variable holding the key JSON or its path).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from costapp.ingest.errors import IngestError, TransientError
from costapp.ingest.files import InputFile

from . import credentials
from .deliveries import Delivery

FORMAT = "gcp"  # billing export rows, whatever format a source names
TABLE = re.compile(r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_]+\.[A-Za-z0-9_\-$]+$")
PAGE_SIZE = 10_000

SQL = """
SELECT *
FROM `{table}`
WHERE invoice.month = @invoice_month
  AND usage_start_time >= @usage_from AND usage_start_time < @usage_until
  {partition_filter}
"""
PARTITION_FILTER = "AND _PARTITIONTIME >= @partition_from"


@contextmanager
def google_faults(what: str):
    """Server errors and dropped connections retry; bad queries, missing tables, 403s do not."""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    try:
        yield
    except (api.ServerError, api.TooManyRequests, auth.TransportError) as exc:
        raise TransientError(f"{what}: {exc}") from exc
    except (api.GoogleAPICallError, auth.GoogleAuthError) as exc:
        raise IngestError(f"{what}: {exc}") from exc
    except OSError as exc:  # requests' ConnectionError and timeouts are OSErrors
        raise TransientError(f"{what}: {exc}") from exc


def google_credentials(source):
    """AnonymousCredentials for an emulator, a referenced service-account key, or ADC (None)."""
    if source.options.get("anonymous"):
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
    secret = credentials.resolve(source.credentials_ref, ("service_account",))
    if "service_account" not in secret:
        return None
    from google.oauth2 import service_account

    value = secret["service_account"].strip()
    if value.startswith("{"):
        return service_account.Credentials.from_service_account_info(json.loads(value))
    return service_account.Credentials.from_service_account_file(value)


def client_for(source, project: str):
    from google.cloud import bigquery

    endpoint = source.options.get("api_endpoint")
    return bigquery.Client(
        project=source.options.get("project", project),
        credentials=google_credentials(source),
        client_options={"api_endpoint": endpoint} if endpoint else None,
    )


def retries(source) -> dict:
    """The client's own retries, bounded (the Celery task retries beyond): 0 turns them off."""
    from google.cloud import bigquery

    seconds = float(source.options.get("retry_seconds", 60))
    if not seconds:
        return {"retry": None}
    return {"retry": bigquery.DEFAULT_RETRY.with_deadline(seconds)}


def invoice_months(now: datetime, months_back: int) -> list[str]:
    """YYYYMM of this month and the `months_back` before it, oldest first."""
    year, month = now.year, now.month
    months = []
    for _ in range(months_back + 1):
        months.append(f"{year:04d}{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]


def month_window(invoice_month: str) -> tuple[datetime, datetime]:
    """A day either side of the calendar month: invoice months run on US Pacific time."""
    year, month = int(invoice_month[:4]), int(invoice_month[4:])
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start - timedelta(days=1), end + timedelta(days=1)


def read_month(client, source, table: str, invoice_month: str) -> Iterator[Mapping]:
    """The export's rows for one invoice month, page by page (memory stays at one page)."""
    from google.cloud import bigquery

    usage_from, usage_until = month_window(invoice_month)
    partition = source.options.get("partition_filter", True)
    parameters = [
        bigquery.ScalarQueryParameter("invoice_month", "STRING", invoice_month),
        bigquery.ScalarQueryParameter("usage_from", "TIMESTAMP", usage_from),
        bigquery.ScalarQueryParameter("usage_until", "TIMESTAMP", usage_until),
    ]
    if partition:
        parameters.append(bigquery.ScalarQueryParameter("partition_from", "TIMESTAMP", usage_from))
    sql = SQL.format(table=table, partition_filter=PARTITION_FILTER if partition else "")
    with google_faults(f"BigQuery query on {table} for {invoice_month}"):
        config = bigquery.QueryJobConfig(query_parameters=parameters)
        job = client.query(sql, job_config=config, job_retry=None, **retries(source))
        for row in job.result(page_size=PAGE_SIZE, **retries(source)):
            yield dict(row.items())


def month_parser(client, source, table: str, invoice_month: str, name: str):
    """A parse() for ingest(): rows come from the query, not from the (empty) file's bytes."""
    from costapp.ingest import gcp

    def parse(_file: InputFile) -> Iterable:
        return gcp.rows_from_bigquery(read_month(client, source, table, invoice_month), name)

    return parse


def deliveries(source, now: datetime | None = None) -> Iterator[Delivery]:
    table = source.location.strip().strip("`")
    if not TABLE.match(table):
        raise IngestError(f"{table!r} is not a BigQuery table name (project.dataset.table)")
    client = client_for(source, project=table.split(".")[0])
    with google_faults(f"BigQuery table {table}"):
        meta = client.get_table(table, **retries(source))
    # The table's version: a month is read again only after the export has written to it.
    version = f"{meta.etag}/{meta.modified.isoformat() if meta.modified else ''}"
    for month in invoice_months(now or timezone.now(), int(source.options.get("months_back", 1))):
        name = f"bigquery://{table}?invoice_month={month}"
        marker = InputFile(
            name=name, opener=lambda: io.BytesIO(b""), size=0, etag=f"{version}:{month}"
        )
        yield Delivery(
            files=[marker],
            location=name,
            parse=month_parser(client, source, table, month, name),
        )
