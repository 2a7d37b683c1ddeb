"""Model and endpoint pages: cost per 1M tokens over time, pools, requests and tokens, the teams
using it (finance), a lead's own teams' use only and never another team's name."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from costapp.attribution.models import Allocation, LineKind
from costapp.dashboard.templatetags.ledger import count, money, unit_money

from . import pages_ledger
from .builders import figure, finance_user, page, team_lead
from .pages_ledger import amount, rows

pytestmark = pytest.mark.django_db
MILLION = Decimal(1_000_000)


@pytest.fixture
def ledger():
    pages_ledger.build()


def _lines(**filters) -> list[Allocation]:
    kinds = [LineKind.USAGE, LineKind.SHARED]
    return list(Allocation.objects.filter(kind__in=kinds, **filters))


def test_the_model_page_totals_are_the_models_lines(client, ledger):
    html = page(client, finance_user(), "/models/llama-70b/")
    lines = _lines(model="llama-70b")
    cost = sum((a.amortized_cost for a in lines), Decimal(0))
    tokens = sum(a.input_tokens + a.output_tokens for a in lines)
    assert figure(html, "subject-cost") == money(cost)
    assert figure(html, "per-million-busy") == unit_money(cost * MILLION / tokens)
    assert figure(html, "requests") == count(sum(a.requests for a in lines))
    assert figure(html, "tokens") == count(tokens)


@pytest.mark.parametrize("table", ["teams", "periods", "by-endpoint", "pools"])
@pytest.mark.parametrize("idle", ["separate", "share"])
def test_every_table_adds_up_to_the_models_cost(client, ledger, table, idle):
    html = page(client, finance_user(), f"/models/llama-70b/?idle={idle}&grain=hour")
    parts = [amount(row[1]) for row in rows(html, table)]
    assert sum(parts, Decimal(0)) == amount(figure(html, "subject-cost"))


def test_finance_sees_the_teams_using_it_and_the_pools_utilization(client, ledger):
    html = page(client, finance_user(), "/models/llama-70b/")
    assert [row[0] for row in rows(html, "teams")] == ["search", "ads"]
    # h100: 32 GPU-hours, 8 unmeasured, 9 idle: 15 busy of 24 measured.
    assert rows(html, "pools")[0][0] == "h100" and rows(html, "pools")[0][3] == "62.5%"


def test_the_chart_draws_cost_per_million_per_day(client, ledger):
    html = page(client, finance_user(), "/models/llama-70b/")
    chart = json.loads(re.search(r'id="units-figure"[^>]*>(.*?)</script>', html).group(1))
    busy = {trace["name"]: trace["y"] for trace in chart["data"]}["llama-70b (busy only)"]
    day_one = Decimal(130) * MILLION / (1_100_000 + 200_000)
    assert busy[0] == float(round(day_one, 4)) and len(busy) == 2


def test_the_endpoint_page_takes_its_name_from_a_query_parameter(client, ledger):
    html = page(client, finance_user(), "/endpoints/?name=/ads/rank")
    assert figure(html, "subject") == "/ads/rank"
    assert figure(html, "subject-cost") == money(Decimal("60.0000000003"))
    assert [row[0] for row in rows(html, "by-model")] == ["llama-70b", "mixtral"]


def test_a_lead_sees_only_their_teams_use_and_no_other_teams_name(client, ledger):
    lead = team_lead("ads")
    for path in ("/models/llama-70b/?idle=share", "/endpoints/?name=/ads/rank&grain=hour"):
        html = page(client, lead, path)
        main = html.split("</header>")[1]
        for secret in ("search", "Pool utilization", "/fleet/"):
            assert secret not in main, (path, secret)
        assert [row[0] for row in rows(html, "teams")] == ["ads"]
    html = page(client, lead, "/models/llama-70b/")
    assert figure(html, "subject-cost") == money(Decimal("40.0000000003"))  # ads' part only


def test_a_name_only_other_teams_use_is_a_404_for_a_lead(client, ledger):
    lead = team_lead("ads")
    page(client, lead, "/endpoints/?name=/search/answer", status=404)
    page(client, lead, "/models/nothing/", status=404)
    page(client, lead, "/endpoints/", status=404)
    page(client, finance_user(), "/endpoints/?name=/search/answer")


def test_the_per_period_table_pages(client, ledger, monkeypatch):
    from costapp.dashboard import paging

    monkeypatch.setattr(paging, "PAGE_ROWS", 2)
    user = finance_user()
    first = page(client, user, "/models/llama-70b/?grain=hour")
    second = page(client, user, "/models/llama-70b/?grain=hour&page=2")
    assert len(rows(first, "periods")) == 2 and len(rows(second, "periods")) == 1
    page(client, user, "/models/llama-70b/?grain=hour&page=3", status=400)
