"""The reads pages, the JSON API, exports, budgets and what-if share, in one place to import
from: costs (costapp.attribution.costs), unit costs (units) and idle capacity (idle), each
taking a report query (query) and a reader's scope (costapp.core.access), returning dataclasses.
"""

from __future__ import annotations

from .costs import CostReport, CostRow, TeamCost, company_lines, cost_report, team_costs
from .idle import Capacity, idle_capacity, idle_withheld
from .query import QueryError, ReportQuery, parse_query
from .units import UnitCosts, UnitReport, unit_costs, unit_report

__all__ = [
    "Capacity",
    "CostReport",
    "CostRow",
    "QueryError",
    "ReportQuery",
    "TeamCost",
    "UnitCosts",
    "UnitReport",
    "company_lines",
    "cost_report",
    "idle_capacity",
    "idle_withheld",
    "parse_query",
    "team_costs",
    "unit_costs",
    "unit_report",
]
