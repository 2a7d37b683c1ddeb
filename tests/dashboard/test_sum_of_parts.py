"""Every total on a report equals the sum of its parts, for every reader and every view.

On a random small ledger (allocations made directly: two pools over three days, three teams,
idle, shared, unallocated and unmeasured lines), for a random reader (finance, the lead of one
team, the lead of two), window, cost basis and idle view:

- the report (costapp.attribution.costs.cost_report): the headline total = the team rows plus
  the company's lines = by model = by endpoint = the daily series, exactly; finance's headline
  is every stored line; a lead's is their own lines plus the idle shares they may see, which the
  unit costs (costapp.attribution.units) agree with;
- the page as rendered: the headline, each table's rows, and the chart's bars add up to the
  same figure within the rounding of what is shown (half a cent a part).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costapp.attribution.costs import cost_report
from costapp.attribution.models import Allocation, LineKind
from costapp.attribution.query import ReportQuery
from costapp.attribution.units import unit_report
from costapp.core.access import scope_for
from costapp.core.models import Membership, Role, Team

from .builders import allocation, finance_user, gpu_resource, page, team_lead

pytestmark = pytest.mark.django_db

TEAMS = ("alpha", "bravo", "charlie")
MODELS = ("m-big", "m-small")
DAYS = (date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3))
POOLS = {"pool-a": "i-a", "pool-b": "i-b"}
CENT = Decimal("0.01")

amounts = st.decimals(min_value=0, max_value=500, places=10, allow_nan=False)
usage_keys = st.lists(
    st.tuples(st.sampled_from(TEAMS), st.sampled_from(MODELS), st.sampled_from(("/a", "/b"))),
    max_size=3,
    unique=True,
)
pool_hour = st.tuples(usage_keys, st.lists(amounts, min_size=4, max_size=4), amounts)
ledger = st.fixed_dictionaries(
    {
        # per day, hour and pool: the keys that used it, their costs, and the pool's idle
        "pool_hours": st.lists(pool_hour, min_size=len(DAYS) * 2 * 2, max_size=len(DAYS) * 2 * 2),
        "shared": st.lists(st.tuples(st.sampled_from(TEAMS), amounts), max_size=3),
        "unallocated": st.lists(amounts, max_size=2),
        "unmeasured": st.lists(amounts, max_size=1),
    }
)
reader = st.sampled_from(["finance", "lead of one", "lead of two"])
window = st.tuples(st.sampled_from((None, *DAYS)), st.sampled_from((None, *DAYS))).map(
    lambda pair: pair if None in pair else tuple(sorted(pair))
)


def _hour(index: int) -> datetime:
    day = DAYS[index // 2]
    return datetime(day.year, day.month, day.day, 10 + index % 2, tzinfo=UTC)


def build(data: dict) -> None:
    for resource in POOLS.values():
        gpu_resource(resource)
    cells = iter(data["pool_hours"])
    for index in range(len(DAYS) * 2):
        at = _hour(index).isoformat()[:16]
        for pool, resource in POOLS.items():
            keys, costs, idle = next(cells)
            where = dict(pool=pool, resource_id=resource)
            for (team, model, endpoint), cost, n in zip(keys, costs, range(1, 9), strict=False):
                allocation(
                    at, team=team, model=model, endpoint=endpoint, amortized=cost,
                    billed=cost * 2, input_tokens=1000 * n, output_tokens=300 * n, requests=n,
                    gpu_hours="1", **where,
                )  # fmt: skip
            allocation(at, LineKind.IDLE, amortized=idle, billed=idle / 2, gpu_hours="1", **where)
    for n, (team, cost) in enumerate(data["shared"]):
        allocation(_hour(n).isoformat()[:16], LineKind.SHARED, team=team, amortized=cost,
                   resource_id="arn:aws:s3:::weights")  # fmt: skip
    for n, cost in enumerate(data["unallocated"]):
        allocation(_hour(n + 1).isoformat()[:16], LineKind.UNALLOCATED, amortized=cost,
                   resource_id=f"nat-{n}")  # fmt: skip
    for cost in data["unmeasured"]:
        allocation(_hour(3).isoformat()[:16], LineKind.UNMEASURED, amortized=cost,
                   resource_id="i-c")  # fmt: skip


def user_for(who: str):
    if who == "finance":
        return finance_user()
    user = team_lead("alpha")
    if who == "lead of two":
        team, _ = Team.objects.get_or_create(slug="bravo", defaults={"name": "Bravo"})
        Membership.objects.create(user=user, team=team, role=Role.LEAD)
    return user


def _stored(scope, query: ReportQuery) -> Decimal:
    """The stored lines the reader may see in the window: every line for finance."""
    rows = Allocation.objects.all()
    low, high = query.window()
    if low:
        rows = rows.filter(hour__gte=low)
    if high:
        rows = rows.filter(hour__lt=high)
    if not scope.whole_company:
        rows = rows.filter(team__in=scope.teams, kind__in=[LineKind.USAGE, LineKind.SHARED])
    return sum((getattr(r, query.cost_column) for r in rows), Decimal(0))


def check_report(user, query: ReportQuery) -> Decimal:
    scope = scope_for(user)
    report = cost_report(scope, query)
    company = sum((row.cost for row in report.company), Decimal(0))
    total = report.total
    assert sum((row.cost for row in report.teams), Decimal(0)) + company == total
    assert sum((row.cost for row in report.models), Decimal(0)) + company == total
    assert sum((row.cost for row in report.endpoints), Decimal(0)) + company == total
    assert sum((sum(s.values(), Decimal(0)) for s in report.daily.values()), Decimal(0)) == total
    tokens = sum(row.tokens for row in report.teams)
    assert tokens == sum(row.tokens for row in report.models) == report.all_teams.tokens
    if scope.whole_company or not query.share_idle:
        # Finance's headline is every stored line; a lead's without idle is their own lines.
        assert total == _stored(scope, query)
    units = unit_report(scope, query)
    assert sum((row.cost for row in units.summary), Decimal(0)) == report.carried
    assert sum((row.loaded for row in units.summary), Decimal(0)) == sum(
        (row.loaded for row in report.teams), Decimal(0)
    )
    assert units.idle_withheld == report.idle_withheld
    return total


def _amount(text: str) -> Decimal:
    return Decimal(re.sub(r"[^\d.\-]", "", text))


def _table_costs(html: str, table_id: str, column: int) -> list[Decimal]:
    table = html.split(f'id="{table_id}"')[1].split("</tbody>")[0].split("<tbody>")[1]
    costs = []
    for row in table.split("</tr>")[:-1]:
        cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
        if cells and "Nothing attributed" not in row:
            costs.append(_amount(cells[column]))
    return costs


def check_page(client, user, query: ReportQuery, total: Decimal) -> None:
    params = {
        "basis": query.basis,
        "idle": query.idle,
        "start": query.start.isoformat() if query.start else "",
        "end": query.end.isoformat() if query.end else "",
    }
    html = page(client, user, "/?" + "&".join(f"{k}={v}" for k, v in params.items()))
    if 'id="total-spend"' not in html:
        assert total == 0
        return
    headline = _amount(re.search(r'id="total-spend">([^<]*)<', html).group(1))
    assert abs(headline - total) <= CENT / 2
    for table_id, column in (("by-team", 2 if query.share_idle else 0), ("by-model", 0),
                             ("by-endpoint", 0)):  # fmt: skip
        parts = _table_costs(html, table_id, column)
        assert abs(sum(parts, Decimal(0)) - headline) <= CENT / 2 * (len(parts) + 1), table_id
    chart = json.loads(re.search(r'id="daily-figure"[^>]*>(.*?)</script>', html).group(1))
    bars = [Decimal(str(y)) for trace in chart["data"] for y in trace["y"]]
    assert abs(sum(bars, Decimal(0)) - headline) <= CENT / 2 * (len(bars) + 1)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=ledger,
    who=reader,
    span=window,
    basis=st.sampled_from(["amortized", "billed"]),
    share_idle=st.booleans(),
)
def test_every_total_is_the_sum_of_its_parts(client, data, who, span, basis, share_idle):
    with transaction.atomic():
        build(data)
        user = user_for(who)
        query = ReportQuery(start=span[0], end=span[1], basis=basis, share_idle=share_idle)
        total = check_report(user, query)
        check_page(client, user, query, total)
        transaction.set_rollback(True)


def test_a_leads_headline_with_idle_shared_is_what_the_tables_and_chart_add_up_to(client):
    """The demo's contradiction, by hand: a lead with idle shared back once read a headline of
    their cost plus idle share beside a chart and by-model / by-endpoint tables without it."""
    gpu_resource("i-a")
    at = "2026-10-01T10:00"
    for team, cost in (("alpha", "30"), ("bravo", "20"), ("charlie", "10")):
        allocation(at, team=team, model="m", endpoint="/e", amortized=cost, pool="p",
                   resource_id="i-a", input_tokens=1000)  # fmt: skip
    allocation(at, LineKind.IDLE, amortized="60", pool="p", resource_id="i-a")
    lead = team_lead("alpha")
    report = cost_report(scope_for(lead), ReportQuery(share_idle=True))
    assert report.total == Decimal(60)  # 30 own + 30 of the idle (two other teams: shown)
    assert [row.cost for row in report.models] == [Decimal(60)]
    assert [row.cost for row in report.endpoints] == [Decimal(60)]
    assert sum(report.daily["alpha"].values()) == Decimal(60)
    check_page(client, lead, ReportQuery(share_idle=True), Decimal(60))
