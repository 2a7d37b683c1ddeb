"""The team page: its spend and unit prices from the ledger, by model and endpoint adding up to
the spend, the period before, budgets, and who may open it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from costapp.alerts.models import Budget
from costapp.attribution.models import Allocation, LineKind
from costapp.dashboard.templatetags.ledger import money, percent, unit_money

from . import pages_ledger
from .builders import allocation, figure, finance_user, page, team_lead
from .pages_ledger import SEARCH, amount, rows

pytestmark = pytest.mark.django_db
MILLION = Decimal(1_000_000)
# search's share of the h100 idle, by busy cost in each pool-hour it used.
SEARCH_IDLE = 20 * Decimal(60) / Decimal("100.0000000003") + 10 + Decimal(12) * 50 / 70


@pytest.fixture
def ledger():
    pages_ledger.build()


def _search(**filters) -> list[Allocation]:
    kinds = [LineKind.USAGE, LineKind.SHARED]
    return list(Allocation.objects.filter(team="search", kind__in=kinds, **filters))


def test_spend_and_unit_prices_are_the_teams_lines_and_idle_share(client, ledger):
    html = page(client, finance_user(), "/teams/search/")
    lines = _search()
    busy = sum((a.amortized_cost for a in lines), Decimal(0))
    tokens = sum(a.input_tokens + a.output_tokens for a in lines)
    assert figure(html, "team-spend") == money(busy)
    assert figure(html, "per-million-busy") == unit_money(busy * MILLION / tokens)
    assert figure(html, "per-million") == unit_money((busy + SEARCH_IDLE) * MILLION / tokens)
    assert figure(html, "idle-share") == money(SEARCH_IDLE)
    assert figure(html, "idle-share-pct") == percent(SEARCH_IDLE * 100 / (busy + SEARCH_IDLE))


@pytest.mark.parametrize("idle", ["separate", "share"])
def test_by_model_and_by_endpoint_each_add_up_to_the_spend(client, ledger, idle):
    html = page(client, finance_user(), f"/teams/search/?idle={idle}")
    spend = amount(figure(html, "team-spend"))
    for table in ("by-model", "by-endpoint"):
        parts = [amount(row[1]) for row in rows(html, table)]
        assert sum(parts, Decimal(0)) == spend, table
    assert [row[0] for row in rows(html, "by-model")] == ["llama-70b", "(shared costs)"]
    assert (
        'href="/models/llama-70b/' in html and 'href="/endpoints/?name=%2Fsearch%2Fanswer' in html
    )


def test_the_change_is_against_the_period_as_long_just_before(client, ledger):
    # A day before the two-day window: 2026-09-29 .. 30 is the period before Oct 1 .. 2.
    allocation("2026-09-30T10:00", amortized="100", **SEARCH)
    allocation("2026-09-28T10:00", amortized="1000", **SEARCH)  # outside both
    html = page(client, finance_user(), "/teams/search/?start=2026-10-01&end=2026-10-02")
    assert figure(html, "previous-spend") == money(Decimal(100))
    assert figure(html, "change") == "+" + percent(Decimal(43))  # 143 against 100


def test_budgets_of_the_team_show_their_spend(client, ledger):
    Budget.objects.create(name="search monthly", scope_kind="team", scope_value="search",
                          amount=Decimal(1000), currency="USD")  # fmt: skip
    Budget.objects.create(name="ads monthly", scope_kind="team", scope_value="ads",
                          amount=Decimal(5), currency="USD")  # fmt: skip
    html = page(client, finance_user(), "/teams/search/")
    assert 'id="budgets"' in html and "search monthly" in html and "ads monthly" not in html


def test_a_lead_opens_their_team_and_gets_404_for_another_or_unknown_one(client, ledger):
    lead = team_lead("ads")
    html = page(client, lead, "/teams/ads/")
    main = html.split("</header>")[1]
    assert "search" not in main and "Unallocated" not in main
    # ads shares every pool-hour with search alone: the idle share is withheld.
    assert 'id="idle-withheld"' in html and figure(html, "idle-share") == money(Decimal(0))
    assert figure(html, "team-spend") == money(Decimal("60.0000000003"))

    # The same answer for a team that exists and one that does not (only the path echoed).
    def body(path: str) -> str:
        return page(client, lead, path, status=404).split("<main>")[1].replace(path, "")

    assert body("/teams/search/") == body("/teams/nobody/")


def test_the_team_list_links_every_visible_team(client, ledger):
    html = page(client, finance_user(), "/teams/")
    assert [row[0] for row in rows(html, "teams")] == ["search", "ads"]
    assert 'href="/teams/ads/' in html
    assert [row[0] for row in rows(page(client, team_lead("ads"), "/teams/"), "teams")] == ["ads"]


def test_anonymous_visitors_are_sent_to_log_in(client, ledger):
    response = client.get("/teams/search/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_long_model_and_endpoint_tables_show_the_top_rows_and_the_rest_in_one(client):
    from costapp.dashboard.views import TABLE_ROWS

    count = TABLE_ROWS + 3
    for i in range(count):  # model m00 costs 1, m01 2, ...: the three cheapest are the rest
        allocation(
            "2026-10-01T10:00", amortized=str(i + 1), team="search", model=f"m{i:02}",
            endpoint=f"/e{i:02}", requests=1, input_tokens=10, pool="h100",
        )  # fmt: skip
    lead = team_lead("search")
    html = page(client, lead, "/teams/search/?start=2026-10-01&end=2026-10-02")
    spend = amount(figure(html, "team-spend"))
    for table, kind in (("by-model", "model"), ("by-endpoint", "endpoint")):
        shown = rows(html, table)
        assert len(shown) == TABLE_ROWS + 1, table
        assert shown[0][0] == ("m22" if kind == "model" else "/e22")
        assert shown[-1][0] == f"3 more {kind}s: all {kind}s in the explorer"
        assert amount(shown[-1][1]) == 1 + 2 + 3
        assert sum((amount(row[1]) for row in shown), Decimal(0)) == spend
        link = html.split(f'id="{table}-all"')[0].rsplit("<a ", 1)[1]
        assert "team=search&amp;" in link and f"dims={kind}" in link
