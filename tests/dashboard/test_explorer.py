"""The explorer: any slice of the ledger, sorted and paged in SQL, totals equal to the sum of
every row (and to the overview's spend), rows linked to explain, leads kept to their teams."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from costapp.attribution import explorer
from costapp.attribution.models import Allocation
from costapp.dashboard.templatetags.ledger import money

from . import pages_ledger
from .builders import figure, finance_user, page, team_lead
from .pages_ledger import amount, rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger():
    pages_ledger.build()


def _sum(**filters) -> Decimal:
    return sum((a.amortized_cost for a in Allocation.objects.filter(**filters)), Decimal(0))


@pytest.mark.parametrize("idle", ["separate", "share"])
@pytest.mark.parametrize("dims", ["team", "model", "day,pool", "team,model,endpoint,pool,day"])
def test_every_slice_adds_up_to_the_overviews_spend(client, ledger, dims, idle):
    user = finance_user()
    html = page(client, user, f"/explorer/?dims={dims}&idle={idle}")
    body = rows(html, "slice")
    width = len(dims.split(","))
    costs = [amount(row[width]) for row in body]
    total = figure(html, "slice-total")
    assert money(sum(costs, Decimal(0))) == total  # rows rounded to the cent: exact here
    assert total == money(_sum())  # every line of the ledger: teams, idle, unallocated ...
    client.logout()
    assert total == figure(page(client, user, f"/?idle={idle}"), "total-spend")


def test_a_team_by_model_row_is_its_usage_and_shared_lines(client, ledger):
    html = page(client, finance_user(), "/explorer/?dims=team,model&sort=team")
    found = {(row[0], row[1]): amount(row[2]) for row in rows(html, "slice")}
    assert found[("search", "llama-70b")] == _sum(team="search", model="llama-70b")
    assert found[("ads", "mixtral")] == _sum(team="ads", model="mixtral")
    assert found[("search", "(none)")] == Decimal(3)  # the shared storage line


def test_sorting_is_by_the_column_asked_for_in_either_direction(client, ledger):
    user = finance_user()
    descending = rows(page(client, user, "/explorer/?dims=team&sort=-requests"), "slice")
    requests = [int(row[3].replace(",", "")) for row in descending]
    assert requests == sorted(requests, reverse=True) and requests[0] == 2100
    client.logout()
    ascending = rows(page(client, user, "/explorer/?dims=team&sort=team"), "slice")
    teams = [row[0] for row in ascending if row[0] in ("ads", "search")]
    assert teams == ["ads", "search"]


def test_pages_split_the_rows_and_keep_the_total_of_all_of_them(client, ledger, monkeypatch):
    monkeypatch.setattr(explorer, "PAGE_ROWS", 3)
    user = finance_user()
    path = "/explorer/?dims=team,model,endpoint,pool,day&sort=-cost"
    first, second = page(client, user, path), page(client, user, path + "&page=2")
    seen = rows(first, "slice") + rows(second, "slice")
    assert len(rows(first, "slice")) == 3
    assert len({tuple(row[:5]) for row in seen}) == len(seen)  # no row on two pages
    assert figure(first, "slice-total") == figure(second, "slice-total") == money(_sum())
    assert "page=2" in first and 'rel="prev"' in second
    whole = sum((amount(row[5]) for row in seen), Decimal(0))
    third = rows(page(client, user, path + "&page=3"), "slice")
    assert money(whole + sum((amount(row[5]) for row in third), Decimal(0))) == money(_sum())


@pytest.mark.parametrize(
    "query, field",
    [("dims=team,colour", "dims"), ("sort=-colour", "sort"), ("sort=pool", "sort"),
     ("page=0", "page"), ("page=x", "page"), ("page=99", "page")],
)  # fmt: skip
def test_a_bad_slice_parameter_is_a_400_naming_it(client, ledger, query, field):
    html = page(client, finance_user(), f"/explorer/?{query}", status=400)
    assert re.search(rf"Query parameter <code>{field}</code>", html)


def test_team_rows_link_to_the_explain_of_their_first_hour(client, ledger):
    html = page(client, finance_user(), "/explorer/?dims=team,day")
    assert "/explain/?team=ads&amp;hour=2026-10-02T10%3A00Z" in html
    assert "/explain/?team=search&amp;hour=2026-10-01T00%3A00Z" in html
    assert 'href="/teams/search/' in html and 'href="/fleet/?pool=' not in html


def test_a_lead_sees_only_their_teams_rows_and_no_company_lines(client, ledger):
    html = page(client, team_lead("ads"), "/explorer/?dims=team,model,pool&idle=share")
    main = html.split("</header>")[1]
    for secret in ("search", "/search/answer", "Unallocated", "Unmeasured", "/fleet/"):
        assert secret not in main
    assert {row[0] for row in rows(html, "slice")} == {"ads"}
    # ads shares each h100 hour with search alone: its idle share is withheld from the lead.
    assert figure(html, "slice-total") == money(_sum(team="ads"))


def test_a_lead_asking_for_another_team_is_told_it_is_not_theirs(client, ledger):
    html = page(client, team_lead("ads"), "/explorer/?team=search", status=400)
    assert "Query parameter <code>team</code>" in html
