"""The /units/ page: unit costs equal to sums over allocations, the grain switch, who sees what."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from costapp.attribution.models import Allocation, LineKind
from costapp.dashboard.templatetags.ledger import count, money, percent, unit_money

from .builders import allocation, finance_user, page, team_lead

pytestmark = pytest.mark.django_db
MILLION = Decimal(1_000_000)


@pytest.fixture
def ledger():
    """Two days on one node of pool "h100": search and ads by the hour, idle, a shared line."""
    gpu = dict(resource_id="i-a", pool="h100")
    search = dict(team="search", model="llama-70b", endpoint="/search/answer", **gpu)
    ads = dict(team="ads", model="mixtral", endpoint="/ads/rank", **gpu)
    for hour, who, cost, inp, out, req, gh in [
        ("2026-10-01T10:00", search, "60", 600_000, 100_000, 1000, "4"),
        ("2026-10-01T10:00", ads, "40.0000000003", 300_000, 50_000, 500, "2"),
        ("2026-10-01T11:00", search, "30", 200_000, 50_000, 300, "3"),
        ("2026-10-02T10:00", search, "50", 500_000, 100_000, 800, "4"),
        ("2026-10-02T10:00", ads, "20", 100_000, 20_000, 200, "2"),
    ]:
        allocation(
            hour, amortized=cost, billed=str(Decimal(cost) * 2), input_tokens=inp,
            output_tokens=out, requests=req, gpu_hours=gh, **who,
        )  # fmt: skip
    for hour, cost, gh in [("2026-10-01T10:00", "20", "2"), ("2026-10-01T11:00", "10", "5"),
                           ("2026-10-02T10:00", "12", "2")]:  # fmt: skip
        allocation(hour, LineKind.IDLE, amortized=cost, gpu_hours=gh, **gpu)
    allocation("2026-10-01T00:00", LineKind.SHARED, team="search", amortized="3", resource_id="s3")


def _html(client, user, query: str = "") -> str:
    return page(client, user, "/units/" + query)


def _rows(html: str, table_id: str) -> list[list[str]]:
    table = html.split(f'id="{table_id}"')[1].split("</table>")[0].split("<tbody>")[1]
    table = re.sub(r"</?a\b[^>]*>", "", table)  # names link to their pages
    return [re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row) for row in table.split("</tr>")[:-1]]


# Each team's share of its pool's idle, by busy cost in each pool-hour (w = 1, the default).
IDLE = {
    "search": 20 * Decimal(60) / Decimal("100.0000000003") + 10 + Decimal(12) * 50 / 70,
    "ads": 20 * Decimal("40.0000000003") / Decimal("100.0000000003") + Decimal(12) * 20 / 70,
}


def _expected(team: str) -> list[str]:
    """A summary row computed straight from the allocations, independent of the selectors:
    every unit price fully loaded (with the idle share) and busy only, input and output split
    by the output weight w = 1, so input cost = cost x in / (in + out)."""
    rows = Allocation.objects.filter(team=team, kind__in=[LineKind.USAGE, LineKind.SHARED])
    busy = sum((r.amortized_cost for r in rows), Decimal(0))
    loaded = busy + IDLE[team]
    inp = sum(r.input_tokens for r in rows)
    out = sum(r.output_tokens for r in rows)
    req = sum(r.requests for r in rows)
    gpu_hours = sum((r.gpu_hours for r in rows), Decimal(0))
    share_in = Decimal(inp) / (inp + out)
    return [
        team, money(busy), count(inp), count(out),
        unit_money(loaded * MILLION / (inp + out)), unit_money(busy * MILLION / (inp + out)),
        unit_money(loaded * share_in * MILLION / inp), unit_money(busy * share_in * MILLION / inp),
        unit_money(loaded * (1 - share_in) * MILLION / out),
        unit_money(busy * (1 - share_in) * MILLION / out),
        unit_money(loaded * 1000 / req),
        f"{(gpu_hours * MILLION / (inp + out)).quantize(Decimal('0.0001')):,}",
    ]  # fmt: skip


def test_unit_costs_per_team_equal_sums_over_the_allocations(client, ledger):
    html = _html(client, finance_user())
    assert _rows(html, "units-summary") == [_expected("ads"), _expected("search")]


def test_by_model_and_endpoint_group_by_that_key(client, ledger):
    user = finance_user()
    models = [row[0] for row in _rows(_html(client, user, "?by=model"), "units-summary")]
    endpoints = [row[0] for row in _rows(_html(client, user, "?by=endpoint"), "units-summary")]
    assert models == ["(shared costs)", "llama-70b", "mixtral"]
    assert endpoints == ["(shared costs)", "/ads/rank", "/search/answer"]


@pytest.mark.parametrize(
    "grain, periods, rows_per_team",
    [
        ("hour", {"2026-10-01 00:00", "2026-10-01 10:00", "2026-10-01 11:00", "2026-10-02 10:00"},
         {"search": 4, "ads": 2}),
        ("day", {"2026-10-01", "2026-10-02"}, {"search": 2, "ads": 2}),
        ("month", {"2026-10"}, {"search": 1, "ads": 1}),
    ],
)  # fmt: skip
def test_the_grain_switch_groups_rows_by_hour_day_or_month(
    client, ledger, grain, periods, rows_per_team
):
    rows = _rows(_html(client, finance_user(), f"?grain={grain}"), "units-periods")
    assert {row[0] for row in rows} == periods
    assert {team: sum(row[1] == team for row in rows) for team in rows_per_team} == rows_per_team
    search = [row for row in rows if row[1] == "search"]
    total = sum((Decimal(row[2].strip("$").replace(",", "")) for row in search), Decimal(0))
    assert total == Decimal(143)  # every grain adds up to the same period total


def test_the_chart_draws_cost_per_million_tokens_loaded_and_busy_per_team_per_day(client, ledger):
    html = _html(client, finance_user())
    figure = json.loads(re.search(r'id="units-figure"[^>]*>(.*?)</script>', html).group(1))
    lines = {trace["name"]: trace["y"] for trace in figure["data"]}
    assert set(lines) == {"ads", "search", "ads (busy only)", "search (busy only)"}
    busy = Decimal(60 + 30 + 3)
    day_one = busy * MILLION / (700_000 + 250_000)
    assert lines["search (busy only)"][0] == float(round(day_one, 4))
    idle = 20 * Decimal(60) / Decimal("100.0000000003") + 10
    loaded = (busy + idle) * MILLION / (700_000 + 250_000)
    assert lines["search"][0] == float(round(loaded, 4))
    assert '<script src="/static/vendor/plotly/plotly.min.js">' in html


def test_finance_sees_idle_capacity_per_pool(client, ledger):
    html = _html(client, finance_user())
    pool = Allocation.objects.filter(pool="h100")
    gpu_hours = sum((a.gpu_hours for a in pool), Decimal(0))
    idle = sum((a.gpu_hours for a in pool if a.kind == LineKind.IDLE), Decimal(0))
    (row,) = _rows(html, "idle-pools")
    assert row[0] == "h100" and row[3] == percent(idle * 100 / gpu_hours)
    assert re.search(r'id="idle-org-hours">([^<]*)<', html).group(1) == row[3]


def test_a_team_lead_sees_only_their_team_and_no_pools(client, ledger):
    html = _html(client, team_lead("ads"), "?by=endpoint&grain=hour")
    main = html.split("</header>")[1]
    for secret in ("search", "llama-70b", "idle-pools", "idle-org-hours"):
        assert secret not in main
    assert [row[0] for row in _rows(html, "units-summary")] == ["/ads/rank"]
    assert [row[0] for row in _rows(html, "idle-teams")] == ["ads"]


def test_the_share_idle_view_adds_each_teams_idle_to_its_unit_cost(client, ledger):
    html = _html(client, finance_user(), "?idle=share")
    assert "Idle shared back to teams" in html
    rows = {row[0]: row for row in _rows(html, "units-summary")}
    # Day 1 10:00: ads used 40.0000000003 of 100.0000000003; day 2 ads used 20 of 70.
    ads_idle = (
        Decimal(20) * Decimal("40.0000000003") / Decimal("100.0000000003") + Decimal(12) * 20 / 70
    )
    assert rows["ads"][2] == money(ads_idle)
    assert rows["ads"][1] == money(Decimal("60.0000000003") + ads_idle)


def test_anonymous_visitors_are_sent_to_log_in(client, ledger):
    response = client.get("/units/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
