"""Costs by GPU pool or by day, within a reader's scope: the groupings the cost report
(costapp.attribution.costs) does not build, from the same parts.

A row carries what the scope's teams carry in it: their usage and shared lines (`busy`) and
their share of the pools' idle not withheld from the reader (`idle`), so the rows add up to
the cost report's `carried`, exactly, in either idle view. The company's own lines (finance)
stay the report's `company` rows.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from costapp.core.access import Scope
from costapp.money import ZERO

from . import rollups
from .costs import CostReport, CostRow, cost_rows
from .idle import fetch, idle_ctes, idle_params
from .query import window

DIMENSIONS = ("pool", "day")

_BY = """
WITH {idle}, parts AS (
    SELECT hour, pool, {col} AS cost, 0 AS idle, requests, input_tokens, output_tokens
    FROM {lines} lines
    WHERE kind IN ('usage', 'shared') AND hour >= %(start)s AND hour < %(end)s
      AND currency = %(currency)s {teams}
    UNION ALL
    SELECT hour, pool, 0, part_a, 0, 0, 0 FROM shares WHERE NOT withheld {teams}
)
SELECT {key} AS key, sum(cost) AS busy, sum(idle) AS idle, sum(requests)::bigint AS requests,
       sum(input_tokens)::bigint AS input_tokens, sum(output_tokens)::bigint AS output_tokens
FROM parts GROUP BY 1 ORDER BY 1
"""
_KEYS = {"pool": "pool", "day": "(date_trunc('day', hour AT TIME ZONE 'UTC'))::date"}


def costs_by(scope: Scope, report: CostReport, dimension: str) -> list[CostRow]:
    """The report's teams' cost by pool or by day (its currency, window and idle view)."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {DIMENSIONS}")
    span = window(report.query)
    if span is None or not report.currencies:
        return []
    params = idle_params(*span, report.query.basis, report.currency, scope.viewer)
    params["teams"] = scope.team_list
    sql = _BY.format(
        idle=idle_ctes(report.query.cost_column, report.currency, scope.viewer, own_only=True),
        lines=rollups.lines(),
        col=report.query.cost_column,
        teams="" if scope.whole_company else "AND team = ANY(%(teams)s)",
        key=_KEYS[dimension],
    )
    sums: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for row in fetch(sql, params):
        key = row["key"].isoformat() if dimension == "day" else row["key"]
        for name in ("busy", "idle", "requests", "input_tokens", "output_tokens"):
            sums[key][name] += row[name]
    return cost_rows(sums, report)
