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

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, InvalidOperation
from operator import attrgetter

import psycopg
from django.db import IntegrityError, connection, transaction

from .checks import SAMPLE_NUMBERS, RowChecks
from .errors import ParseError
from .rows import STREAMING, CostLineRow, GpuSampleRow, ReadAgain, RequestRow

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
    "hosted_provider",
    "hosted_model",
    "token_direction",
    "token_count",
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


# --- COPY text written by hand: the writers' hot loops format a row in one f-string ---

NULL = "\\N"
BATCH = 2000  # rows per COPY write
FIRST_BATCH = 100  # telemetry's first COPY write (_copy_gpu_samples)
HELD = 4096  # entries per look-up table; a full one is emptied, so memory stays flat
# Raised when a row breaks a unique key of the table COPY writes to: the fast paths' signal
# to take the staged path (psycopg's own error from COPY, Django's from execute).
_KEY_TAKEN = (psycopg.errors.UniqueViolation, IntegrityError)
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    """A text value as COPY's text format writes it (NUL never gets here: checks.py)."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


class _Texts:
    """Escaped texts by value, for a column that repeats a few values (a file name)."""

    def __init__(self) -> None:
        self.known: dict[str, str] = {}

    def __call__(self, value: str) -> str:
        text = self.known.get(value)
        if text is None:
            if len(self.known) >= HELD:
                self.known.clear()
            text = self.known[value] = _copy_text(value)
        return text


class _JsonTexts:
    """A dict as the JSON text stored (checked by RowChecks.json), escaped for COPY; by
    content, since readings of one series carry equal labels."""

    def __init__(self, checks: RowChecks, field: str) -> None:
        self.checks, self.field = checks, field
        self.known: dict[tuple, str] = {}

    def __call__(self, row, value: dict) -> str:
        try:
            key = tuple(value.items())
            text = self.known.get(key)
        except TypeError:  # an unhashable value: no look-up
            return _copy_text(self.checks.json(row, self.field, value))
        if text is None:
            if len(self.known) >= HELD:
                self.known.clear()
            text = self.known[key] = _copy_text(self.checks.json(row, self.field, value))
        return text


def _replayable(rows: Iterable, replay: Callable[[], Iterable] | None) -> Callable | None:
    """How to read the rows again for the staged path: `replay`, or the rows themselves when
    they are a collection rather than a one-pass iterator; None when there is no way."""
    if replay is None and not isinstance(rows, Iterator):
        return lambda: rows
    return replay


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


def store_gpu_samples(
    rows: Iterable[GpuSampleRow],
    run_id: int,
    fmt: str = "",
    *,
    replay: Callable[[], Iterable[GpuSampleRow]] | None = None,
) -> StoreStats:
    """Store readings; one per (GPU, slice, instant), a re-sent one overwriting.

    Fast path: the rows go by COPY straight into the table, which overlaps the database's work
    with the parsing, inside a savepoint. A reading the table (or the delivery) already holds
    breaks its unique key: the savepoint is undone and `replay()` (the same rows again) goes
    the staged way, which overwrites. Without a way to replay the rows, staged only."""
    replay = _replayable(rows, replay)
    if replay is not None:
        streaming = STREAMING.set(True)  # parsers may hand over rows before a file ends
        try:
            with transaction.atomic():
                return _copy_gpu_samples(rows, run_id, fmt)
        except (*_KEY_TAKEN, ReadAgain):
            rows = replay()
        finally:
            STREAMING.reset(streaming)
    return _stage_gpu_samples(rows, run_id, fmt)


def _copy_gpu_samples(rows: Iterable[GpuSampleRow], run_id: int, fmt: str) -> StoreStats:
    stats = StoreStats()
    checks = RowChecks(fmt)
    first = last = None
    times: dict[datetime, str] = {}
    heads: dict[tuple, tuple[str, str]] = {}
    labels_text = _JsonTexts(checks, "labels")
    label_texts = labels_text.known
    files = _Texts()
    file_texts = files.known
    # RowChecks.gpu_sample's number limits, compared here for the usual row (see below).
    top_u, top_m, top_p = SAMPLE_NUMBERS.values()
    run = f"{run_id}\t"
    lines: list[str] = []
    n = 0
    # The first rows go at once: the database's share of the COPY (its index) takes longer
    # than the parsing that feeds it, so the sooner it starts, the sooner both end.
    batch = FIRST_BATCH
    statement = f"COPY ingest_gpusample (run_id, {', '.join(SAMPLE_COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            n += 1
            key = (row.gpu_uuid, row.mig_instance, row.gpu_index, row.gpu_model, row.hostname)
            head = heads.get(key)
            if head is not None and row.resource_id != head[1]:
                head = None
            ts = row.ts
            when = times.get(ts)
            u, m, p = row.utilization, row.memory_used_mib, row.power_w
            # The usual row: its device and instant passed RowChecks.gpu_sample before, and its
            # numbers are inside the limits it applies; any other row goes through it, which
            # locates what is wrong (a NaN, which cannot be compared, included).
            try:
                usual = (
                    head is not None
                    and when is not None
                    and (u is None or -top_u < u < top_u)
                    and (m is None or -top_m < m < top_m)
                    and (p is None or -top_p < p < top_p)
                )
            except InvalidOperation:
                usual = False
            if not usual:
                checks.gpu_sample(row, device_checked=head is not None)
                if when is None:
                    if len(times) >= HELD:
                        times.clear()
                    when = times[ts] = f"{ts.isoformat()}\t"
                    if first is None or ts < first:
                        first = ts
                    if last is None or ts > last:
                        last = ts
                if head is None:
                    if len(heads) >= HELD:
                        heads.clear()
                    head = heads[key] = (_sample_head(row), row.resource_id)
            # The labels' text by content without a call, for the usual series seen before.
            try:
                label_text = label_texts.get(tuple(row.labels.items()))
            except (AttributeError, TypeError):
                label_text = None
            if label_text is None:
                label_text = labels_text(row, row.labels)
            file_text = file_texts.get(row.source_file)  # without a call, once seen
            if file_text is None:
                file_text = files(row.source_file)
            # str(), not the f-string's format(): Decimal.__format__ costs five times more.
            lines.append(
                f"{run}{when}{head[0]}"
                f"{NULL if u is None else str(u)}\t{NULL if m is None else str(m)}\t"
                f"{NULL if p is None else str(p)}\t{label_text}\t"
                f"{file_text}\t{row.source_row}\n"
            )
            if len(lines) >= batch:
                copy.write("".join(lines))
                lines.clear()
                batch = BATCH
        if lines:
            copy.write("".join(lines))
    stats.rows_read = stats.rows_stored = n
    if first is not None:
        stats.seen(first, last)
    return stats


def _sample_head(row: GpuSampleRow) -> str:
    """The columns from gpu_uuid to resource_id, as COPY text, with the tab after them."""
    index = NULL if row.gpu_index is None else str(row.gpu_index)
    uuid, mig = _copy_text(row.gpu_uuid), _copy_text(row.mig_instance)
    model, host = _copy_text(row.gpu_model), _copy_text(row.hostname)
    return f"{uuid}\t{mig}\t{index}\t{model}\t{host}\t{_copy_text(row.resource_id)}\t"


def _stage_gpu_samples(rows: Iterable[GpuSampleRow], run_id: int, fmt: str) -> StoreStats:
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


def store_requests(
    rows: Iterable[RequestRow],
    run_id: int,
    fmt: str = "",
    *,
    replay: Callable[[], Iterable[RequestRow]] | None = None,
) -> StoreStats:
    """Count each request id once, ever, and add the requests to the hourly rollups.

    Fast path, when every id is new (the usual delivery): the ids go by COPY straight into
    ingest_seenrequest, overlapping the database's work with the parsing, while the rollups
    are summed here (exactly: integers, and Decimal sums at unlimited precision), one row per
    key as the staged path writes, all inside a savepoint. An id already counted (or repeated
    in the delivery, or being counted by a concurrent push) breaks the table's key: the
    savepoint is undone and `replay()` (the same rows again) goes the staged way, which skips
    counted ids and locates a repeat. So does a delivery with more than GROUPS_HELD rollup
    keys, to keep memory bounded. Without a way to replay the rows, staged only."""
    replay = _replayable(rows, replay)
    if replay is not None:
        try:
            with transaction.atomic():
                return _copy_requests(rows, run_id, fmt)
        except (*_KEY_TAKEN, _TooManyKeys):
            rows = replay()
    return _stage_requests(rows, run_id, fmt)


GROUPS_HELD = 100_000  # rollup keys summed in memory by the fast path (about 40 MB)
EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)  # sums that never round
ROLLUP_COLUMNS = (
    "run_id, hour, team, model, endpoint, resource_id, requests, input_tokens, output_tokens,"
    " gpu_seconds, cache_hits, latency_ms_sum"
)


class _TooManyKeys(Exception):
    """The fast path would hold more rollup keys than GROUPS_HELD."""


def _copy_requests(rows: Iterable[RequestRow], run_id: int, fmt: str) -> StoreStats:
    stats = StoreStats()
    checks = RowChecks(fmt)
    first = last = None
    # ts -> (its hour, the COPY text after the id); a log repeats a second's time many times.
    hours: dict[datetime, tuple[datetime, str]] = {}
    suffixes: dict[datetime, str] = {}
    # (hour, team, model, endpoint, resource) -> [requests, input, output, gpu_s, cache, ms]
    groups: dict[tuple, list] = {}
    add = EXACT.add
    lines: list[str] = []
    n = 0
    statement = "COPY ingest_seenrequest (request_id, run_id, hour) FROM STDIN"
    with connection.cursor() as cursor:
        with cursor.copy(statement) as copy:
            for row in rows:
                n += 1
                checks.request(row)
                ts = row.ts
                known = hours.get(ts)
                if known is None:
                    if len(hours) >= HELD:
                        hours.clear()
                    # date_trunc('hour', ts) in the session's time zone, UTC (the staged path).
                    utc = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
                    hour = utc.replace(minute=0, second=0, microsecond=0)
                    suffix = suffixes.get(hour)  # real logs: a distinct ts a line, few hours
                    if suffix is None:
                        if len(suffixes) >= HELD:
                            suffixes.clear()
                        suffix = suffixes[hour] = f"\t{run_id}\t{hour.isoformat()}\n"
                    known = hours[ts] = (hour, suffix)
                    if first is None or ts < first:
                        first = ts
                    if last is None or ts > last:
                        last = ts
                key = (known[0], row.team, row.model, row.endpoint, row.resource_id)
                sums = groups.get(key)
                if sums is None:
                    if len(groups) >= GROUPS_HELD:
                        raise _TooManyKeys
                    sums = groups[key] = [0, 0, 0, None, 0, 0]
                sums[0] += 1
                sums[1] += row.input_tokens
                sums[2] += row.output_tokens
                seconds = row.gpu_seconds
                if seconds is not None:
                    sums[3] = seconds if sums[3] is None else add(sums[3], seconds)
                if row.cache_hit:
                    sums[4] += 1
                sums[5] += row.latency_ms
                lines.append(_copy_text(row.request_id) + known[1])
                if len(lines) >= BATCH:
                    copy.write("".join(lines))
                    lines.clear()
            if lines:
                copy.write("".join(lines))
        with cursor.copy(f"COPY ingest_usagerollup ({ROLLUP_COLUMNS}) FROM STDIN") as copy:
            for (hour, team, model, endpoint, resource), sums in groups.items():
                copy.write_row((run_id, hour, team, model, endpoint, resource, *sums))
    stats.rows_read = stats.rows_stored = n
    if first is not None:
        stats.seen(first, last)
    return stats


def _stage_requests(rows: Iterable[RequestRow], run_id: int, fmt: str) -> StoreStats:
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
            # (request_id, hour): the partitioned table's key (costapp/ingest/retention.py).
            " ON CONFLICT (request_id, hour) DO NOTHING",
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
