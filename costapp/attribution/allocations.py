"""The allocation rows a reader may export, read through a server-side cursor in chunks.

Exports and the API list the stored `Allocation` rows of a report query's days in one currency:
finance every row, a lead only the usage and shared lines of their teams (never idle,
unmeasured or unallocated, which are the company's). A lead's rows also leave out what would
give one other team's figure away on a shared resource-hour: the hour's utilization and the
weight total of the split (weight total - own weight = the other team's tokens;
docs/ARCHITECTURE.md, "What a team lead may see"). Their own weight, tokens, GPU-hours and cost
are theirs.

`chunks` reads any such query with a named (server-side) cursor, so a year of rows never sits
in memory: the database hands over `CHUNK_ROWS` at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection

from costapp.core.access import Scope

from .query import ReportQuery, currencies, pick_currency, window

CHUNK_ROWS = 2000
# Finance's columns; a lead's are these less WITHHELD_FROM_LEADS.
COLUMNS = (
    "hour",
    "kind",
    "team",
    "model",
    "endpoint",
    "resource_id",
    "pool",
    "pricing_category",
    "cost",
    "requests",
    "input_tokens",
    "output_tokens",
    "gpu_hours",
    "rule",
    "weight",
    "weight_total",
    "utilization",
    "utilization_source",
)
WITHHELD_FROM_LEADS = ("weight_total", "utilization", "utilization_source")


@dataclass(frozen=True)
class RowsQuery:
    """A read of allocation rows: its columns (names as exported), SQL and parameters, and the
    currency and basis its cost column is in."""

    columns: tuple[str, ...]
    sql: str
    params: dict
    currency: str
    basis: str


def columns_for(scope: Scope) -> tuple[str, ...]:
    if scope.whole_company:
        return COLUMNS
    return tuple(name for name in COLUMNS if name not in WITHHELD_FROM_LEADS)


def allocation_rows(scope: Scope, query: ReportQuery) -> RowsQuery | None:
    """The allocation rows of the query's days the scope may see, in the report's currency (the
    query's when present, else the biggest), oldest first; None when there are none."""
    present = currencies(scope, query)
    span = window(query)
    if span is None or not present:
        return None
    currency, _ = pick_currency(query, present)
    columns = columns_for(scope)
    selected = ", ".join(
        f"{query.cost_column} AS cost" if name == "cost" else name for name in columns
    )
    scoped = (
        "" if scope.whole_company else "AND team = ANY(%(teams)s) AND kind IN ('usage', 'shared')"
    )
    sql = f"""SELECT {selected} FROM attribution_allocation
              WHERE hour >= %(start)s AND hour < %(end)s AND currency = %(currency)s {scoped}
              ORDER BY hour, id"""
    params = {"start": span[0], "end": span[1], "currency": currency, "teams": scope.team_list}
    return RowsQuery(columns, sql, params, currency, query.basis)


def chunks(sql: str, params: dict, size: int = CHUNK_ROWS) -> Iterator[list[tuple]]:
    """The rows of `sql` in lists of at most `size`, from a server-side cursor (closed when the
    caller stops early, e.g. a client that hangs up mid-download)."""
    cursor = connection.chunked_cursor()
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()


def count(rows: RowsQuery) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({rows.sql}) counted", rows.params)
        return cursor.fetchone()[0]


def page(rows: RowsQuery, limit: int, offset: int) -> list[dict]:
    """One page of the rows as dicts (the API's limit/offset)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"{rows.sql} LIMIT %(limit)s OFFSET %(offset)s",
            {**rows.params, "limit": limit, "offset": offset},
        )
        return [dict(zip(rows.columns, row, strict=True)) for row in cursor.fetchall()]
