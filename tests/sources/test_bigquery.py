"""BigQuery billing export source: google-cloud-bigquery pointed at a local REST server.

The server answers tables.get, jobs.insert and jobs.getQueryResults (paged) like BigQuery's
REST API does; nothing of ours and nothing of the client library is patched.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from costapp.ingest.errors import TransientError
from costapp.ingest.models import CostLine, IngestionRun, RunStatus
from costapp.sources import bigquery
from costapp.sources.models import Source
from costapp.sources.service import run_source

from .servers import json_reply, serve

pytestmark = pytest.mark.django_db

TABLE = "billing-proj.exports.gcp_billing_export_v1_0123"
NOW = datetime(2026, 11, 20, tzinfo=UTC)
KV = [{"name": "key", "type": "STRING"}, {"name": "value", "type": "STRING"}]
SCHEMA = {
    "fields": [
        {"name": "billing_account_id", "type": "STRING"},
        {
            "name": "service",
            "type": "RECORD",
            "fields": [{"name": "description", "type": "STRING"}],
        },
        {
            "name": "sku",
            "type": "RECORD",
            "fields": [{"name": "id", "type": "STRING"}, {"name": "description", "type": "STRING"}],
        },
        {"name": "usage_start_time", "type": "TIMESTAMP"},
        {"name": "usage_end_time", "type": "TIMESTAMP"},
        {"name": "project", "type": "RECORD", "fields": [{"name": "id", "type": "STRING"}]},
        {"name": "labels", "type": "RECORD", "mode": "REPEATED", "fields": KV},
        {"name": "cost", "type": "FLOAT"},
        {"name": "currency", "type": "STRING"},
        {"name": "invoice", "type": "RECORD", "fields": [{"name": "month", "type": "STRING"}]},
        {"name": "cost_type", "type": "STRING"},
    ]
}


def _row(month: str, hour: int, cost: str) -> dict:
    start = datetime(int(month[:4]), int(month[4:]), 2, hour, tzinfo=UTC).timestamp()
    cell = lambda v: {"v": v}  # noqa: E731
    record = lambda *values: {"v": {"f": [cell(v) for v in values]}}  # noqa: E731
    return {
        "f": [
            cell("0123-4567-89AB"),
            record("Compute Engine"),
            record("6D8A-1234", "Nvidia L4 GPU running in Americas"),
            cell(str(int(start * 1_000_000))),
            cell(str(int((start + 3600) * 1_000_000))),
            record("ml-prod"),
            {"v": [{"v": {"f": [{"v": "team"}, {"v": "search"}]}}]},
            cell(cost),
            cell("USD"),
            record(month),
            cell("regular"),
        ]
    }


class FakeBigQuery:
    """Rows per invoice month; each query job answers the month named by its parameter."""

    def __init__(self, rows: dict[str, list[dict]], page: int = 2) -> None:
        self.rows, self.page, self.etag = rows, page, "v1"
        self.jobs: dict[str, str] = {}
        self.queries: list[dict] = []
        self.fail_with: int | None = None

    def __call__(self, request):
        if self.fail_with:
            return json_reply(
                {"error": {"code": self.fail_with, "message": "backend error"}}, self.fail_with
            )
        parts = request.path.split("/")
        if request.method == "GET" and "/tables/" in request.path:
            return json_reply(
                {
                    "tableReference": {
                        "projectId": parts[4],
                        "datasetId": parts[6],
                        "tableId": parts[8],
                    },
                    "etag": self.etag,
                    "lastModifiedTime": "1763600000000",
                    "schema": SCHEMA,
                }
            )
        if request.method == "POST" and request.path.endswith("/jobs"):
            body = request.json()
            query = body["configuration"]["query"]
            self.queries.append(query)
            month = next(
                p["parameterValue"]["value"]
                for p in query["queryParameters"]
                if p["name"] == "invoice_month"
            )
            job_id = body["jobReference"]["jobId"]
            self.jobs[job_id] = month
            return json_reply(
                {
                    **body,
                    "status": {"state": "DONE"},
                    "jobReference": {**body["jobReference"], "location": "US"},
                }
            )
        if "/queries/" in request.path:
            job_id = parts[-1]
            rows = self.rows.get(self.jobs[job_id], [])
            offset = int(request.query.get("pageToken", ["0"])[0])
            size = int(request.query.get("maxResults", [str(self.page)])[0]) or self.page
            size = min(size, self.page)
            reply = {
                "jobReference": {"projectId": parts[4], "jobId": job_id, "location": "US"},
                "jobComplete": True,
                "totalRows": str(len(rows)),
                "schema": SCHEMA,
                "rows": rows[offset : offset + size],
            }
            if offset + size < len(rows):
                reply["pageToken"] = str(offset + size)
            return json_reply(reply)
        return json_reply({"error": {"code": 404, "message": request.path}}, 404)


def _source(make_source, url: str) -> Source:
    return make_source(
        format="gcp",
        location_kind=Source.Location.BIGQUERY,
        location=TABLE,
        options={"api_endpoint": url, "anonymous": True, "retry_seconds": 0},
    )


def _deliver(source: Source) -> list[IngestionRun]:
    # run_source's reader with a fixed "now", so the months asked for do not depend on the date.
    from costapp.sources import service

    runs = []
    for delivery in bigquery.deliveries(source, now=NOW):
        runs.append(service._handle(source, delivery))
    return [r for r in runs if r is not None]


def test_each_invoice_month_is_one_delivery_read_page_by_page(make_source):
    fake = FakeBigQuery(
        {
            "202610": [_row("202610", h, "1.25") for h in range(3)],
            "202611": [_row("202611", 0, "0.7")],
        }
    )
    with serve(fake) as peer:
        runs = _deliver(_source(make_source, peer.url))
    assert [(r.status, r.rows_stored) for r in runs] == [
        (RunStatus.SUCCEEDED, 3),
        (RunStatus.SUCCEEDED, 1),
    ]
    assert [r.location for r in runs] == [
        f"bigquery://{TABLE}?invoice_month=202610",
        f"bigquery://{TABLE}?invoice_month=202611",
    ]
    lines = CostLine.objects.order_by("charge_period_start")
    assert sum(line.billed_cost for line in lines) == Decimal("4.45")
    assert lines[0].tags["team"] == "search" and lines[0].provider == "Google Cloud"
    # Three rows with pages of two: the client asked for a second page.
    assert sum("/queries/" in r.path for r in peer.requests) >= 3


def test_the_query_is_parameterised_and_prunes_partitions(make_source):
    fake = FakeBigQuery({})
    with serve(fake) as peer:
        _deliver(_source(make_source, peer.url))
    query = fake.queries[0]
    assert f"FROM `{TABLE}`" in query["query"]
    assert "_PARTITIONTIME >= @partition_from" in query["query"]
    assert "usage_start_time >= @usage_from" in query["query"]
    names = {p["name"]: p["parameterValue"]["value"] for p in query["queryParameters"]}
    assert names["invoice_month"] == "202610"
    assert names["usage_from"].startswith("2026-09-30")


def test_an_unchanged_table_is_not_read_again_and_a_changed_one_replaces_the_month(make_source):
    fake = FakeBigQuery({"202610": [_row("202610", 0, "1")], "202611": []})
    with serve(fake) as peer:
        source = _source(make_source, peer.url)
        _deliver(source)
        jobs = len(fake.queries)
        assert _deliver(source) == []
        assert len(fake.queries) == jobs
        fake.etag = "v2"
        fake.rows["202610"] = [_row("202610", 0, "1"), _row("202610", 1, "2")]
        runs = _deliver(source)
    assert [r.rows_stored for r in runs] == [2, 0]
    assert sum(line.billed_cost for line in CostLine.objects.all()) == Decimal("3")


def test_a_bigquery_outage_is_transient_and_a_bad_table_name_is_refused(make_source):
    fake = FakeBigQuery({})
    fake.fail_with = 503
    with serve(fake) as peer, pytest.raises(TransientError):
        _deliver(_source(make_source, peer.url))
    source = make_source(format="gcp", location_kind=Source.Location.BIGQUERY, location="x`; DROP")
    [run] = run_source(source)
    assert run.status == RunStatus.FAILED and "not a BigQuery table name" in run.error


def test_a_missing_table_is_a_permanent_recorded_failure(make_source):
    fake = FakeBigQuery({})
    fake.fail_with = 404
    with serve(fake) as peer:
        [run] = run_source(_source(make_source, peer.url))
    assert run.status == RunStatus.FAILED and "404" in run.error


def test_months_span_the_year_boundary():
    assert bigquery.invoice_months(datetime(2027, 1, 5, tzinfo=UTC), 2) == [
        "202611",
        "202612",
        "202701",
    ]
