"""CSV and Parquet exports: the page's figures exactly, the page's filters and scope, streamed
from a server-side cursor with memory flat in the number of rows."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from django.db import connection
from django.http import StreamingHttpResponse

from costapp.attribution.costs import cost_report
from costapp.attribution.models import Allocation, LineKind
from costapp.attribution.query import parse_query
from costapp.attribution.units import unit_report
from costapp.core.access import Scope
from costapp.dashboard.exports import CHUNK_ROWS
from costapp.dashboard.templatetags.ledger import money

from .builders import PASSWORD, allocation, figure, finance_user, gpu_resource, page, team_lead

pytestmark = pytest.mark.django_db
FINANCE = Scope(teams=None, finance=True)


@pytest.fixture
def ledger():
    """Two teams over the turn of a month on one H100 node, with idle, unallocated, shared."""
    gpu_resource()
    common = dict(pool="h100-east")
    for day in ("2026-10-31", "2026-11-01"):
        allocation(
            f"{day}T10:00", team="search", model="llama-70b", endpoint="/search/answer",
            amortized="40.1234567891", billed="55.0000000001", input_tokens=900_000,
            output_tokens=100_000, requests=1200, gpu_hours="3.2", rule="tokens",
            weight=Decimal(1_000_000), weight_total=Decimal(1_350_000),
            utilization=Decimal("0.6"), **common,
        )  # fmt: skip
        allocation(
            f"{day}T10:00", team="adsranking", model="mixtral-secret", endpoint="/ads/secret",
            amortized="20.0000000009", billed="30", input_tokens=300_000, output_tokens=50_000,
            requests=400, gpu_hours="1.6", rule="tokens", weight=Decimal(350_000),
            weight_total=Decimal(1_350_000), utilization=Decimal("0.6"), **common,
        )  # fmt: skip
        allocation(f"{day}T10:00", LineKind.IDLE, amortized="38.2", billed="13.32", **common)
        allocation(
            f"{day}T10:00", LineKind.UNALLOCATED, amortized="0.0000001234",
            resource_id="nat-0d3f", billed="0.0000001234",
        )  # fmt: skip


def _csv(client, user, path: str, status: int = 200) -> list[list[str]]:
    assert client.login(username=user.username, password=PASSWORD)
    response = client.get(path)
    assert response.status_code == status, response
    if status != 200:
        return []
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv"
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_team_csv_holds_the_page_figures_exactly_unrounded(client, ledger):
    user = finance_user()
    rows = _csv(client, user, "/exports/teams.csv?idle=share")
    header, body = rows[0], rows[1:]
    assert header[:4] == [
        "team", "busy (USD, amortized)", "idle share (USD, amortized)", "cost (USD, amortized)",
    ]  # fmt: skip
    report = cost_report(FINANCE, parse_query({"idle": "share"}))
    by_key = {row[0]: row for row in body}
    for team in report.teams:
        line = by_key[team.key]
        assert [Decimal(line[1]), Decimal(line[2]), Decimal(line[3])] == [
            team.busy, team.idle, team.cost,
        ]  # fmt: skip
        assert Decimal(line[8]) == team.per_million_loaded
    # The company's lines (finance) and the teams add up to the headline the page shows.
    total = sum(Decimal(line[3]) for line in body)
    assert total == report.total
    html = page(client, user, "/?idle=share")
    assert figure(html, "total-spend") == money(total)
    assert any(line[0] == "Unallocated" for line in body)


def test_a_lead_gets_their_teams_rows_and_no_company_lines(client, ledger):
    lead = team_lead("search")
    for table in ("teams", "models", "endpoints", "daily", "units-summary", "idle-teams"):
        text = repr(_csv(client, lead, f"/exports/{table}.csv"))
        for secret in ("adsranking", "mixtral-secret", "/ads/secret", "Idle", "Unallocated"):
            assert secret not in text, (table, secret)
    _csv(client, lead, "/exports/unallocated.csv", status=404)
    _csv(client, lead, "/exports/idle-pools.csv", status=404)
    _csv(client, lead, "/exports/teams.csv?team=adsranking", status=400)
    rows = _csv(client, lead, "/exports/allocations.csv")
    assert {row[rows[0].index("team")] for row in rows[1:]} == {"search"}
    assert "weight_total" not in rows[0] and "utilization" not in rows[0]


def test_units_per_period_csv_holds_every_row_of_the_page_read_across_months(client, ledger):
    user = finance_user()
    rows = _csv(client, user, "/exports/units-periods.csv?grain=hour&idle=share")
    report = unit_report(FINANCE, parse_query({"grain": "hour", "idle": "share"}))
    assert len(rows) - 1 == len(report.periods) == 4
    for line, row in zip(rows[1:], report.periods, strict=True):
        assert line[0] == row.period.isoformat().replace("+00:00", "Z")
        assert (line[1], Decimal(line[2]), Decimal(line[10])) == (
            row.key, row.cost, row.per_million_loaded,
        )  # fmt: skip


def test_allocations_csv_filters_by_the_page_query_and_names_currency_and_basis(client, ledger):
    user = finance_user()
    rows = _csv(client, user, "/exports/allocations.csv?start=2026-11-01&basis=billed")
    assert "cost (USD, billed)" in rows[0]
    cost = rows[0].index("cost (USD, billed)")
    expected = Allocation.objects.filter(hour__gte=datetime(2026, 11, 1, tzinfo=UTC))
    assert sorted(Decimal(row[cost]) for row in rows[1:]) == sorted(a.billed_cost for a in expected)
    assert "55.0000000001" in {row[cost] for row in rows[1:]}  # exact, not rounded
    bad = client.get("/exports/allocations.csv?start=2026-13-01")
    assert bad.status_code == 400 and bad.content.startswith(b"start: ")


def test_parquet_export_holds_the_csv_rows_with_exact_decimals(client, ledger):
    user = finance_user()
    client.login(username=user.username, password=PASSWORD)
    response = client.get("/exports/allocations.parquet")
    assert response.status_code == 200
    table = pq.read_table(io.BytesIO(b"".join(response.streaming_content)))
    assert table.schema.metadata[b"currency"] == b"USD"
    assert str(table.schema.field("cost").type) == "decimal128(28, 10)"
    assert sorted(table.column("cost").to_pylist()) == sorted(
        a.amortized_cost for a in Allocation.objects.all()
    )


def test_a_name_that_would_be_a_spreadsheet_formula_is_written_as_text(client, ledger):
    allocation("2026-11-01T11:00", team="search", model="=HYPERLINK(1)", amortized="1")
    rows = _csv(client, finance_user(), "/exports/models.csv")
    assert "'=HYPERLINK(1)" in {row[0] for row in rows}


def _big_ledger(rows: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO attribution_allocation (hour, resource_id, pool, kind, team, model,
                   endpoint, amortized_cost, billed_cost, currency, pricing_category, requests,
                   input_tokens, output_tokens, gpu_hours, utilization_source, rule, computed_at)
               SELECT timestamptz '2025-01-01' + (i / 25) * interval '1 hour', 'i-' || (i %% 25),
                      'h100', 'usage', 'team-' || (i %% 5), 'model-' || (i %% 7), '/ep',
                      1.2345678901 * i, 2.5 * i, 'USD', 'Standard', i, 10 * i, i, 0.125,
                      'telemetry', 'tokens', now()
               FROM generate_series(1, %s) AS i""",
            [rows],
        )


def _peak(client, path: str) -> tuple[int, int, int]:
    """Peak traced memory while the response streams, the bytes sent and the biggest chunk."""
    response = client.get(path)
    assert isinstance(response, StreamingHttpResponse)
    sent = biggest = 0
    tracemalloc.start()
    try:
        for chunk in response.streaming_content:
            sent += len(chunk)
            biggest = max(biggest, len(chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, sent, biggest


def test_a_big_allocations_export_streams_with_memory_bounded_by_a_chunk_not_the_rows(client):
    user = finance_user()
    client.login(username=user.username, password=PASSWORD)
    # Every day of the ledger (named: without dates an export reads the last 30 days).
    path = "/exports/allocations.csv?start=2025-01-01"
    _big_ledger(20_000)
    small, _, _ = _peak(client, path)
    _big_ledger(180_000)  # ten times the rows
    rows = 200_000
    peak, sent, biggest = _peak(client, path)
    assert sent > rows / CHUNK_ROWS / 2 * biggest  # many chunks: rows / CHUNK_ROWS of them
    assert biggest < 2 * sent * CHUNK_ROWS / rows  # a chunk is CHUNK_ROWS rows' worth
    # Ten times the rows, the same memory: one fetch of rows and its text at a time.
    assert peak < 1.5 * small, (peak, small)
    assert peak < sent / 4, (peak, sent)


def test_without_dates_a_page_reads_the_last_30_days_of_data_and_says_which(client):
    from costapp.attribution.query import DEFAULT_DAYS, parse_query

    user = finance_user()
    client.login(username=user.username, password=PASSWORD)
    _big_ledger(50 * 25 * 24)  # 25 rows an hour from 2025-01-01 01:00: 50 days and an hour
    query = parse_query({})
    assert (query.start, query.end) == (date(2025, 1, 22), date(2025, 2, 20))
    assert (query.end - query.start).days + 1 == DEFAULT_DAYS
    body = client.get("/").content.decode()
    assert 'value="2025-01-22"' in body and 'value="2025-02-20"' in body
    # One end given leaves the other open, as before.
    assert parse_query({"end": "2025-02-20"}).start is None
    assert parse_query({"start": "2025-01-01"}).end is None
    response = client.get("/exports/allocations.csv")
    rows = b"".join(response.streaming_content).decode().splitlines()
    hours = {line.split(",")[0][:10] for line in rows[1:]}
    assert min(hours) == "2025-01-22" and max(hours) == "2025-02-20"
