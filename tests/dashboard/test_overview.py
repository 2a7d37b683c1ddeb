"""The overview page: who sees what, the cost basis switch, and figures that match the ledger."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from costapp.attribution.models import Allocation, LineKind
from costapp.dashboard.templatetags.ledger import money, percent, unit_money

from .builders import PASSWORD, allocation, figure, finance_user, gpu_resource, page, team_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger():
    """Two days of one H100 node: two teams' usage, idle, unallocated, and a shared line."""
    gpu_resource()
    for day in ("2026-10-01", "2026-10-02"):
        allocation(
            f"{day}T10:00", team="search", model="llama-70b", endpoint="/search/answer",
            amortized="40.1234567891", billed="55.0000000001", input_tokens=900_000,
            output_tokens=100_000, requests=1200, gpu_hours="3.2",
        )  # fmt: skip
        allocation(
            f"{day}T10:00", team="adsranking", model="mixtral-secret", endpoint="/ads/secret",
            amortized="20.0000000009", billed="30", input_tokens=300_000, output_tokens=50_000,
            requests=400, gpu_hours="1.6",
        )  # fmt: skip
        allocation(f"{day}T10:00", LineKind.IDLE, amortized="38.2", billed="13.32", gpu_hours="3.2")
        allocation(
            f"{day}T10:00", LineKind.UNALLOCATED, amortized="0.0000001234",
            resource_id="nat-0d3f", billed="0.0000001234",
        )  # fmt: skip
        allocation(
            f"{day}T00:00", LineKind.SHARED, team="search", amortized="3.2050500000",
            resource_id="arn:aws:s3:::weights",
        )  # fmt: skip


def _page(client, user, query: str = "") -> str:
    return page(client, user, "/" + query)


def _sum(field: str, **filters) -> Decimal:
    return sum((getattr(a, field) for a in Allocation.objects.filter(**filters)), Decimal(0))


def test_overview_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_finance_sees_every_team_idle_and_unallocated(client, ledger):
    html = _page(client, finance_user())
    for name in ("search", "adsranking", "mixtral-secret", "/ads/secret", "Idle capacity"):
        assert name in html
    assert figure(html, "total-spend") == money(_sum("amortized_cost"))
    assert figure(html, "idle-cost") == money(_sum("amortized_cost", kind=LineKind.IDLE))
    assert figure(html, "unallocated") == money(Decimal("0.0000002468"))
    # Idle share of GPU-hours on the GPU resource: 6.4 idle of 6.4 + 6.4 + 3.2.
    assert figure(html, "idle-pct") == percent(Decimal("6.4") * 100 / Decimal("16.0"))


def test_team_lead_sees_only_their_team_and_no_whole_company_figures(client, ledger):
    html = _page(client, team_lead("search"))
    # Leads get the idle-view toggle, never the company's idle or unallocated figures.
    for secret in ("adsranking", "mixtral-secret", "/ads/secret", "Idle capacity", "Unallocated"):
        assert secret not in html
    assert 'id="idle-cost"' not in html and 'id="idle-left"' not in html
    own = _sum("amortized_cost", team="search")
    assert figure(html, "total-spend") == money(own)
    assert "llama-70b" in html and "/search/answer" in html


def test_user_without_team_sees_an_empty_page_not_the_company(client, ledger):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("nobody", password=PASSWORD)
    html = _page(client, get_user_model().objects.get(username="nobody"))
    assert "Nothing to show yet" in html
    assert "search" not in html.split("</header>")[1].replace("your teams: none", "")


def test_basis_switch_changes_the_totals(client, ledger):
    user = finance_user()
    amortized = figure(_page(client, user), "total-spend")
    billed = figure(_page(client, user, "?basis=billed"), "total-spend")
    assert amortized == money(_sum("amortized_cost"))
    assert billed == money(_sum("billed_cost"))
    assert amortized != billed
    html = page(client, user, "/?basis=nonsense", status=400)
    assert "Query parameter <code>basis</code>: &#x27;nonsense&#x27; is not one of" in html
    assert 'id="total-spend"' not in html and 'class="controls"' in html


def test_cost_per_million_tokens_per_team_is_cost_over_tokens(client, ledger):
    html = _page(client, finance_user())
    table = html.split('id="by-team"')[1].split("</table>")[0]
    cost = _sum("amortized_cost", team="search")  # usage plus its shared storage
    tokens = 2 * (900_000 + 100_000)
    table = re.sub(r"</?a\b[^>]*>", "", table)  # names link to their pages
    row = re.search(r'<th scope="row">search</th>(.*?)</tr>', table).group(1)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    # Each day the node's 38.2 idle goes to search and ads by their busy cost (pool "").
    busy = {"search": Decimal("40.1234567891"), "adsranking": Decimal("20.0000000009")}
    idle = 2 * Decimal("38.2") * busy["search"] / sum(busy.values())
    assert cells == [
        money(cost), "2,400", f"{tokens:,}",
        unit_money((cost + idle) * 1_000_000 / tokens), unit_money(cost * 1_000_000 / tokens),
    ]  # fmt: skip
    blended = _sum("amortized_cost", kind__in=[LineKind.USAGE, LineKind.SHARED])
    everything = tokens + 700_000
    assert figure(html, "per-million-busy") == unit_money(blended * 1_000_000 / everything)
    loaded = blended + _sum("amortized_cost", kind=LineKind.IDLE)  # every pool-hour was used
    assert figure(html, "per-million") == unit_money(loaded * 1_000_000 / everything)


def test_date_range_limits_the_period(client, ledger):
    html = _page(client, finance_user(), "?start=2026-10-02&end=2026-10-02")
    one_day = sum(
        (a.amortized_cost for a in Allocation.objects.all() if a.hour.day == 2), Decimal(0)
    )
    assert figure(html, "total-spend") == money(one_day)
    assert "Oct 2, 2026 \N{EN DASH} Oct 2, 2026" in html


def test_page_embeds_both_charts_and_loads_plotly_from_our_static(client, ledger):
    html = _page(client, finance_user())
    assert '<script id="daily-figure" type="application/json">{"data"' in html
    assert '<script id="unit-figure" type="application/json">{"data"' in html
    assert '<script src="/static/vendor/plotly/plotly.min.js">' in html
    assert "cdn" not in html.lower()
    assert client.get("/static/vendor/plotly/plotly.min.js").status_code == 200


def _health(html: str) -> str | None:
    found = re.search(r'<a id="sources-health" href="/sources/"[^>]*>([^<]*)</a>', html)
    return found.group(1) if found else None


def test_finance_reads_how_current_the_sources_are_and_leads_do_not(client, ledger):
    from django.utils import timezone

    from costapp.ingest.models import IngestionRun, RunStatus
    from costapp.sources.models import Source

    finance = finance_user()
    assert _health(_page(client, finance)) is None  # no sources configured
    fine, broken = (
        Source.objects.create(name=n, format="focus", location_kind="local", location="/x")
        for n in ("fine", "broken")
    )
    Source.objects.update(last_checked_at=timezone.now())
    IngestionRun.objects.create(source=fine, format="focus", location="/x", status="succeeded")
    assert _health(_page(client, finance)) == "2 sources up to date"

    IngestionRun.objects.create(
        source=broken, format="focus", location="/x/bad.csv", status=RunStatus.FAILED
    )
    assert _health(_page(client, finance)) == "1 of 2 sources needs attention"
    assert _health(_page(client, team_lead("search"))) is None


def test_finance_reads_why_cost_is_unallocated_and_where_to_place_it(client, ledger):
    from .builders import cost_line

    cost_line(
        "nat-0d3f", "2026-10-01T00:00", "2026-10-03T00:00", "0.0000002468", "0.0000002468",
        service_name="Amazon VPC", charge_description="NAT gateway hours",
    )  # fmt: skip
    allocation(
        "2026-10-02T11:00", LineKind.UNALLOCATED, amortized="12.5", billed="12.5",
        resource_id="i-0aaaaaaaaaaaaaaa1", pool="h100",
    )  # fmt: skip
    html = _page(client, finance_user(), "?basis=billed")
    section = html.split('id="unallocated-explained"')[1].split("</section>")[0]
    assert "bill lines that are not GPU time" in section
    assert "busy GPU time with no requests tagged to a team" in section
    rows = re.findall(r'<th scope="row">([^<]*)</th><td>([^<]*)</td><td>([^<]*)</td>', section)
    assert rows == [
        ("i-0aaaaaaaaaaaaaaa1", "\N{EN DASH}", "busy GPU time, no requests, no rule"),
        ("nat-0d3f", "Amazon VPC · NAT gateway hours", "a line no rule places"),
    ]
    assert 'href="/admin/attribution/costrule/add/"' in section
    assert 'href="/admin/attribution/costrule/preview/"' in section
    assert 'id="unallocated-explained"' not in _page(client, team_lead("search"), "?basis=billed")


def test_the_method_of_unit_costs_is_stated_on_the_page(client, ledger):
    html = _page(client, team_lead("search"))
    method = html.split('id="unit-method"')[1].split("</p>")[0]
    assert "output token weight w = 1:" in method
    assert "input cost = cost &times; input / (input + w &times; output)" in method
    assert "<strong>Fully loaded</strong>" in method and "<strong>Busy only</strong>" in method
