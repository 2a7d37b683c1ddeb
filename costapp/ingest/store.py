"""Bulk writers: parsed rows go to Postgres with COPY, inside the caller's transaction.

Each writer streams (memory stays flat as files grow), then applies its kind's idempotency
rule in one set operation:
- billing: the delivery replaces earlier rows of the same stream, account and billing period
  (a restated month), and records what it holds of each bill (LoadedBill), warning when another
  stream holds the same bill;
- telemetry: one reading per (GPU, slice, instant); a re-sent reading overwrites;
- requests: a request id counts once, ever; within one delivery a repeated id is an error.
Before any of that, every row is checked against the named limits (costapp/ingest/checks.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter

from django.db import connection

from .checks import RowChecks
from .errors import ParseError
from .rows import CostLineRow, GpuSampleRow, RequestRow

COST_COLUMNS = [
    "provider",
    "billing_account_id",
    "sub_account_id",
    "billing_period_start",
    "billing_period_end",
    "charge_period_start",
    "charge_period_end",
    "charge_category",
    "charge_description",
    "service_name",
    "service_category",
    "region",
    "resource_id",
    "resource_type",
    "sku_id",
    "pricing_category",
    "pricing_unit",
    "consumed_quantity",
    "consumed_unit",
    "billed_cost",
    "effective_cost",
    "list_cost",
    "contracted_cost",
    "billing_currency",
    "commitment_discount_id",
    "invoice_id",
    "allocated_method_id",
    "allocated_resource_id",
    "tags",
    "source_file",
    "source_row",
]

SAMPLE_COLUMNS = [
    "ts",
    "gpu_uuid",
    "mig_instance",
    "gpu_index",
    "gpu_model",
    "hostname",
    "resource_id",
    "utilization",
    "memory_used_mib",
    "power_w",
    "labels",
    "source_file",
    "source_row",
]

REQUEST_COLUMNS = [
    "ts",
    "request_id",
    "team",
    "model",
    "endpoint",
    "resource_id",
    "input_tokens",
    "output_tokens",
    "latency_ms",
    "cache_hit",
    "gpu_seconds",
    "source_file",
    "source_row",
]

# A row's values in column order, read in one C call (a generator of getattr per column cost
# as much as the COPY itself).
cost_values = attrgetter(*COST_COLUMNS)
sample_values = attrgetter(*SAMPLE_COLUMNS)
request_values = attrgetter(*REQUEST_COLUMNS)

# work_mem while grouping and checking the staged requests (see store_requests).
STAGE_WORK_MEM = "64MB"


@dataclass
class StoreStats:
    rows_read: int = 0
    rows_stored: int = 0
    rows_rejected: int = 0
    data_start: datetime | None = None
    data_end: datetime | None = None
    periods: set = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)

    def seen(self, start: datetime, end: datetime) -> None:
        if self.data_start is None or start < self.data_start:
            self.data_start = start
        if self.data_end is None or end > self.data_end:
            self.data_end = end


def _copy(cursor, table: str, columns: list[str], records: Iterable[tuple]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for record in records:
            copy.write_row(record)


def store_cost_lines(
    rows: Iterable[CostLineRow], run_id: int, stream: str, fmt: str = ""
) -> StoreStats:
    stats = StoreStats()
    checks = RowChecks(fmt)

    def records():
        for row in rows:
            stats.rows_read += 1
            checks.cost_line(row)
            stats.seen(row.charge_period_start, row.charge_period_end)
            stats.periods.add((row.provider, row.billing_account_id, row.billing_period_start))
            values = cost_values(row)
            tags = checks.json(row, "tags", row.tags)
            yield (run_id, stream, *values[:-3], tags, *values[-2:])

    with connection.cursor() as cursor:
        _copy(cursor, "ingest_costline", ["run_id", "stream", *COST_COLUMNS], records())
        # A restated period replaces what earlier runs stored for it, atomically with the COPY.
        # The replaced rows' span joins the run's window: attribution must recompute it whole,
        # even hours the restatement no longer bills.
        for provider, account, period_start in stats.periods:
            key = [stream, provider, account, period_start, run_id]
            cursor.execute(
                "WITH gone AS (DELETE FROM ingest_costline WHERE stream = %s AND provider = %s"
                " AND billing_account_id = %s AND billing_period_start = %s AND run_id <> %s"
                " RETURNING charge_period_start, charge_period_end)"
                " SELECT min(charge_period_start), max(charge_period_end) FROM gone",
                key,
            )
            low, high = cursor.fetchone()
            if low is not None:
                stats.seen(low, high)
            cursor.execute(
                "DELETE FROM ingest_loadedbill WHERE stream = %s AND provider = %s"
                " AND billing_account_id = %s AND billing_period_start = %s AND run_id <> %s",
                key,
            )
        cursor.execute(RECORD_BILLS, [run_id])
        stats.warnings = _bills_held_elsewhere(cursor, run_id)
    stats.rows_stored = stats.rows_read
    return stats


# Summed in SQL, over the rows just written: NUMERIC sums are exact at any size.
RECORD_BILLS = (
    "INSERT INTO ingest_loadedbill (run_id, stream, provider, billing_account_id,"
    " sub_account_id, billing_period_start, billing_currency, rows, billed_cost, effective_cost)"
    " SELECT run_id, stream, provider, billing_account_id, sub_account_id, billing_period_start,"
    " billing_currency, count(*), sum(billed_cost), sum(effective_cost)"
    " FROM ingest_costline WHERE run_id = %s GROUP BY 1, 2, 3, 4, 5, 6, 7"
)
MAX_WARNINGS = 10


def _bills_held_elsewhere(cursor, run_id: int) -> list[str]:
    """One warning per bill (account, sub account, period) this run stored that another
    stream holds too: both count, so the bill counts twice."""
    cursor.execute(
        "SELECT o.provider, o.billing_account_id, o.sub_account_id, o.billing_period_start,"
        " o.stream, o.run_id, count(*) OVER ()"
        " FROM ingest_loadedbill m JOIN ingest_loadedbill o"
        " ON o.provider = m.provider AND o.billing_account_id = m.billing_account_id"
        " AND o.sub_account_id = m.sub_account_id"
        " AND o.billing_period_start = m.billing_period_start AND o.stream <> m.stream"
        " WHERE m.run_id = %s ORDER BY 4, 1, 2, 3, 5 LIMIT %s",
        [run_id, MAX_WARNINGS],
    )
    found = cursor.fetchall()
    warnings = []
    for provider, account, sub_account, period, other, other_run, _ in found:
        where = f"billing account {account or '(none)'}"
        if sub_account:
            where += f", sub account {sub_account}"
        warnings.append(
            f"{provider} {where}, billing period {period:%Y-%m} is also stored from stream"
            f" {other} (run {other_run}): the same bill through two streams counts twice;"
            " disable one source, or delete the other stream's runs"
        )
    total = found[0][-1] if found else 0
    if total > len(warnings):
        warnings.append(f"... and {total - len(warnings)} more bills held by another stream")
    return warnings


def store_gpu_samples(rows: Iterable[GpuSampleRow], run_id: int, fmt: str = "") -> StoreStats:
    stats = StoreStats()
    checks = RowChecks(fmt)
    labels = SAMPLE_COLUMNS.index("labels")

    def records():
        for row in rows:
            stats.rows_read += 1
            checks.gpu_sample(row)
            stats.seen(row.ts, row.ts)
            values = list(sample_values(row))
            values[labels] = checks.json(row, "labels", row.labels)
            yield values

    with connection.cursor() as cursor:
        # CREATE ... AS copies the column types but not NOT NULL (LIKE would keep id's and
        # run_id's, which the COPY below does not fill).
        cursor.execute(
            "CREATE TEMP TABLE _stage_sample ON COMMIT DROP AS"
            f" SELECT {', '.join(SAMPLE_COLUMNS)} FROM ingest_gpusample WITH NO DATA"
        )
        _copy(cursor, "_stage_sample", SAMPLE_COLUMNS, records())
        cols = ", ".join(SAMPLE_COLUMNS)
        updates = ", ".join(
            f"{c} = EXCLUDED.{c}"
            for c in SAMPLE_COLUMNS
            if c not in {"gpu_uuid", "mig_instance", "ts"}
        )
        # DISTINCT ON: a file that repeats a reading keeps its last one.
        cursor.execute(
            f"INSERT INTO ingest_gpusample (run_id, {cols})"
            f" SELECT DISTINCT ON (gpu_uuid, mig_instance, ts) %s, {cols} FROM _stage_sample"
            " ORDER BY gpu_uuid, mig_instance, ts, source_file DESC, source_row DESC"
            f" ON CONFLICT (gpu_uuid, mig_instance, ts) DO UPDATE SET run_id = EXCLUDED.run_id, {updates}",
            [run_id],
        )
        stats.rows_stored = cursor.rowcount
        cursor.execute("DROP TABLE _stage_sample")
    return stats


def _raise_on_duplicate(cursor) -> None:
    """Raise a ParseError at the first staged row whose request id an earlier row has."""
    cursor.execute(
        "SELECT request_id, source_file, source_row FROM ("
        "  SELECT request_id, source_file, source_row,"
        "   row_number() OVER (PARTITION BY request_id ORDER BY source_file, source_row) AS n"
        "  FROM _stage_request) d WHERE n = 2 ORDER BY source_file, source_row LIMIT 1"
    )
    duplicate = cursor.fetchone()
    if duplicate:
        request_id, file, line = duplicate
        raise ParseError(
            f"request_id {request_id!r} appears more than once in this delivery",
            file=file,
            line=line,
            column="request_id",
            expected="unique request ids",
        )


def store_requests(rows: Iterable[RequestRow], run_id: int, fmt: str = "") -> StoreStats:
    stats = StoreStats()
    checks = RowChecks(fmt)

    def records():
        for row in rows:
            stats.rows_read += 1
            checks.request(row)
            stats.seen(row.ts, row.ts)
            yield request_values(row)

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE _stage_request (ts timestamptz, request_id text, team text,"
            " model text, endpoint text, resource_id text, input_tokens bigint,"
            " output_tokens bigint, latency_ms bigint, cache_hit boolean, gpu_seconds numeric,"
            " source_file text, source_row integer) ON COMMIT DROP"
        )
        _copy(cursor, "_stage_request", REQUEST_COLUMNS, records())
        # The unique index on ingest_seenrequest is the arbiter: an id counts for the run whose
        # insert wins it, even when two pushes carrying it commit at the same time (the later
        # insert waits for the earlier to commit, then skips the id). The rollup must therefore
        # follow the insert's outcome, not a NOT EXISTS read beforehand, which the concurrent
        # push's uncommitted insert would not show.
        cursor.execute(
            "INSERT INTO ingest_seenrequest (request_id, run_id, hour)"
            " SELECT request_id, %s, date_trunc('hour', ts) FROM _stage_request"
            " ON CONFLICT (request_id) DO NOTHING",
            [run_id],
        )
        stats.rows_stored = fresh = cursor.rowcount
        # Without statistics on the stage table the planner guesses ~10% distinct groups and, at
        # the default work_mem, sorts 300k rows on disk to group them (3x slower than hashing
        # the ~2k groups real logs have). Hash aggregation spills to disk when the guess is
        # short, so more memory here only changes the plan, not the outcome.
        cursor.execute("SELECT current_setting('work_mem')")
        (work_mem,) = cursor.fetchone()
        cursor.execute("SELECT set_config('work_mem', %s, true)", [STAGE_WORK_MEM])
        if fresh < stats.rows_read:
            # Some ids were skipped: counted before, or repeated in this delivery (DO NOTHING
            # skips a second occurrence too). A repeat fails the delivery, located at the first
            # repeat in file order; the caller's transaction undoes the insert above.
            _raise_on_duplicate(cursor)
        if fresh == stats.rows_read:
            # Every staged row won its id (the common case): sum them all, no join needed.
            counted, params = "_stage_request s", [run_id]
        else:
            # The ids this run inserted are exactly the rows it counts.
            counted = (
                "_stage_request s WHERE EXISTS (SELECT FROM ingest_seenrequest r"
                " WHERE r.request_id = s.request_id AND r.run_id = %s)"
            )
            params = [run_id, run_id]
        if fresh:
            cursor.execute(
                "INSERT INTO ingest_usagerollup (run_id, hour, team, model, endpoint,"
                " resource_id, requests, input_tokens, output_tokens, gpu_seconds, cache_hits,"
                " latency_ms_sum)"
                " SELECT %s, date_trunc('hour', s.ts), s.team, s.model, s.endpoint,"
                " s.resource_id, count(*), sum(s.input_tokens), sum(s.output_tokens),"
                " sum(s.gpu_seconds), count(*) FILTER (WHERE s.cache_hit), sum(s.latency_ms)"
                f" FROM {counted} GROUP BY 2, 3, 4, 5, 6",
                params,
            )
        cursor.execute("SELECT set_config('work_mem', %s, true)", [work_mem])
        stats.rows_rejected = 0
        cursor.execute("DROP TABLE _stage_request")
    return stats


WRITERS = {"billing": store_cost_lines, "telemetry": store_gpu_samples, "requests": store_requests}
