"""One currency at a time: pages, charts and the explain API never add euros to dollars."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from costapp.attribution.costs import CostRow
from costapp.attribution.models import LineKind
from costapp.attribution.query import ReportQuery, currencies
from costapp.core.access import scope_for
from costapp.dashboard import charts

from .builders import PASSWORD, allocation, figure, finance_user, page, team_lead

pytestmark = pytest.mark.django_db
HOUR = "2026-10-01T10:00"


@pytest.fixture
def two_currencies():
    """One hour billed by AWS in USD (185.004 in all) and by Azure in EUR (52.506 in all).

    USD, pool aws: search 100.004 (1M tokens), ads 50 (0.5M tokens), idle 30, unallocated 5.
    EUR, pool azure: translate 40.006 (0.4M tokens), search 2.5 (0.1M tokens), idle 10.
    Mixed, the company total would be 237.51: no page may show that figure.
    """
    aws = dict(resource_id="i-aws", pool="aws", currency="USD")
    azure = dict(resource_id="vm-azure", pool="azure", currency="EUR")
    allocation(
        HOUR, team="search", model="llama", amortized="100.004", input_tokens=1_000_000, **aws
    )
    allocation(HOUR, team="ads", model="mixtral", amortized="50", input_tokens=500_000, **aws)
    allocation(HOUR, LineKind.IDLE, amortized="30", gpu_hours="1", **aws)
    allocation(HOUR, LineKind.UNALLOCATED, amortized="5", resource_id="nat", currency="USD")
    allocation(
        HOUR, team="translate", model="nllb", amortized="40.006", input_tokens=400_000, **azure
    )
    allocation(HOUR, team="search", model="llama", amortized="2.5", input_tokens=100_000, **azure)
    allocation(HOUR, LineKind.IDLE, amortized="10", gpu_hours="1", **azure)


def _overview(client, user, query: str = "") -> str:
    return page(client, user, "/" + query)


def _figure_json(html: str, script_id: str) -> dict:
    return json.loads(re.search(rf'id="{script_id}"[^>]*>(.*?)</script>', html).group(1))


def _toggle(html: str) -> list[str]:
    """The currency buttons on the page, the pressed one marked with a star."""
    group = html.split('id="currency-toggle"')[1].split("</div>")[0]
    return [
        code + ("*" if "aria-pressed" in attrs else "")
        for attrs, code in re.findall(r'name="currency"([^>]*)>([A-Z]{3})</button>', group)
    ]


def test_the_default_is_the_biggest_currency_and_only_its_figures_are_summed(
    client, two_currencies
):
    html = _overview(client, finance_user())
    assert figure(html, "total-spend") == "$185.00"
    assert figure(html, "attributed") == "$150.00"
    assert figure(html, "idle-cost") == "$30.00"
    assert figure(html, "unallocated") == "$5.00"
    assert figure(html, "per-million-busy") == "$100.00"  # 150.004 over 1.5M tokens
    assert figure(html, "per-million") == "$120.00"  # with the pool's 30 idle: 180.004 over 1.5M
    assert "237.51" not in html and "€" not in html
    assert "translate" not in html.split('id="by-team"')[1].split("</table>")[0]
    assert _toggle(html) == ["USD*", "EUR"]  # biggest first, not alphabetical


def test_asking_for_euros_shows_only_the_euro_figures(client, two_currencies):
    html = _overview(client, finance_user(), "?currency=EUR")
    assert figure(html, "total-spend") == "€52.51"
    assert figure(html, "attributed") == "€42.51"
    assert figure(html, "idle-cost") == "€10.00"
    assert figure(html, "per-million-busy") == "€85.01"  # 42.506 over 0.5M tokens
    assert figure(html, "per-million") == "€105.01"  # with the pool's 10 idle
    assert "$" not in html.split("</header>")[1].split("<script")[0]
    assert "237.51" not in html
    assert _toggle(html) == ["USD", "EUR*"]
    assert figure(_overview(client, finance_user("fin2"), "?currency=eur"), "total-spend") == (
        "€52.51"
    )


def test_a_currency_absent_from_the_period_shows_the_biggest_and_says_so(client, two_currencies):
    html = _overview(client, finance_user(), "?currency=chf")
    assert figure(html, "total-spend") == "$185.00"
    assert "No CHF cost in this period</strong>; showing USD." in html


@pytest.mark.parametrize("path", ["/", "/units/"])
@pytest.mark.parametrize("value", ["dollars", "U$", "12", "EU"])
def test_a_malformed_currency_is_a_400_naming_it(client, two_currencies, path, value):
    html = page(client, finance_user(), f"{path}?currency={value}", status=400)
    assert "Query parameter <code>currency</code>" in html
    assert "is not a currency code (expected three letters, e.g. USD)" in html


def test_shared_idle_goes_to_the_use_of_the_same_currency(client, two_currencies):
    user = finance_user()
    dollars = _overview(client, user, "?idle=share")
    euros = _overview(client, user, "?idle=share&currency=EUR")
    # Each pool's idle is handed to its own currency's teams, all of it (both pools were used).
    assert (figure(dollars, "attributed"), figure(dollars, "idle-left")) == ("$180.00", "$0.00")
    assert (figure(euros, "attributed"), figure(euros, "idle-left")) == ("€52.51", "€0.00")


def test_switches_keep_each_others_choices(client, two_currencies):
    query = "?currency=EUR&basis=billed&idle=share&start=2026-10-01&end=2026-10-01"
    html = _overview(client, finance_user(), query)
    controls = html.split('class="controls"')[1].split("</form>")[0]
    for hidden in ('name="currency" value="EUR"', 'name="basis" value="billed"'):
        assert f'<input type="hidden" {hidden}>' in controls
    assert '<input type="hidden" name="idle" value="share">' in controls
    assert 'name="start" value="2026-10-01"' in controls
    # The team table's explain link opens the peak hour in the same currency.
    assert "&amp;basis=billed&amp;currency=EUR" in html


def test_a_single_currency_gets_no_currency_toggle(client):
    allocation(HOUR, team="search", amortized="12", currency="EUR")
    html = _overview(client, finance_user())
    assert figure(html, "total-spend") == "€12.00"
    assert 'id="currency-toggle"' not in html


def test_a_team_leads_currencies_are_those_of_their_own_teams(client, two_currencies):
    translate, search = team_lead("translate"), team_lead("search")
    every_day = ReportQuery()
    assert currencies(scope_for(translate), every_day) == ["EUR"]
    assert currencies(scope_for(search), every_day) == ["USD", "EUR"]
    assert currencies(scope_for(finance_user()), every_day) == ["USD", "EUR"]
    html = _overview(client, translate, "?currency=USD")  # USD is not theirs: not shown
    assert figure(html, "total-spend") == "€40.01"
    assert "No USD cost in this period for your teams" in html
    assert 'id="currency-toggle"' not in html


def test_the_units_page_and_its_chart_use_the_chosen_currency(client, two_currencies):
    user = finance_user()
    html = page(client, user, "/units/?currency=EUR")
    summary = html.split('id="units-summary"')[1].split("</table>")[0]
    summary = re.sub(r"</?a\b[^>]*>", "", summary)  # names link to their pages
    assert re.findall(r'<th scope="row">([^<]*)</th><td class="num">([^<]*)<', summary) == [
        ("search", "€2.50"),
        ("translate", "€40.01"),
    ]
    axis = _figure_json(html, "units-figure")["layout"]["yaxis"]
    assert (axis["title"]["text"], axis["tickprefix"]) == ("EUR per 1M tokens", "€")
    dollars = _figure_json(page(client, user, "/units/"), "units-figure")["layout"]["yaxis"]
    assert (dollars["title"]["text"], dollars["tickprefix"]) == ("USD per 1M tokens", "$")


def test_overview_charts_name_the_currency(client, two_currencies):
    html = _overview(client, finance_user(), "?currency=EUR")
    unit = _figure_json(html, "unit-figure")
    assert unit["layout"]["xaxis"]["title"]["text"] == "EUR per 1M tokens, by model"
    assert "€%{x:,.2f}" in unit["data"][0]["hovertemplate"]
    daily = _figure_json(html, "daily-figure")
    assert daily["layout"]["yaxis"]["tickprefix"] == "€"
    assert {trace["name"] for trace in daily["data"]} == {"search", "translate", "Idle"}


def test_a_currency_without_a_sign_is_written_after_the_amount_in_charts():
    rows = [CostRow(key="m", busy=Decimal(3), requests=1, input_tokens=1_000_000)]
    layout = charts.cost_per_million(rows, "model", "CHF")
    axis = layout["layout"]["xaxis"]
    assert (axis["tickprefix"], axis["ticksuffix"]) == ("", " CHF")
    assert "%{x:,.2f} CHF per 1M tokens" in layout["data"][0]["hovertemplate"]


def test_explain_shows_one_currency_of_a_teams_hour(client, two_currencies):
    user = finance_user()
    html = page(client, user, "/explain/?team=search&hour=2026-10-01T10:00Z")
    assert figure(html, "explain-total") == "$100.00"
    assert re.findall(r'data-step="result">([^<]*)<', html) == ["100.0040000000"]
    html = page(client, user, "/explain/?team=search&hour=2026-10-01T10:00Z&currency=EUR")
    assert figure(html, "explain-total") == "€2.50"
    assert re.findall(r'data-step="result">([^<]*)<', html) == ["2.5000000000"]
    assert _toggle(html) == ["USD", "EUR*"]


def test_the_explain_api_totals_one_currency_and_lists_the_others(client, two_currencies):
    assert client.login(username=finance_user().username, password=PASSWORD)
    params = {"team": "search", "hour": "2026-10-01T10:00Z"}
    body = client.get("/api/v1/explain", params).json()
    assert (body["currency"], body["currencies"]) == ("USD", ["USD", "EUR"])
    assert body["totals"]["amortized_cost"] == "100.0040000000"
    assert {a["currency"] for a in body["allocations"]} == {"USD"}
    euros = client.get("/api/v1/explain", {**params, "currency": "EUR"}).json()
    assert euros["currency"] == "EUR" and euros["totals"]["amortized_cost"] == "2.5000000000"
