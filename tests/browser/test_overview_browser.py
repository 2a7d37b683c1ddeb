"""The overview and unit economics pages in a real browser: log in, charts drawn by our own
plotly.js, no egress.

Set LEDGER_SCREENSHOT=path/to.png to keep a screenshot of the populated page.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from costapp.attribution.models import LineKind
from tests.dashboard.builders import PASSWORD, allocation, finance_user, gpu_resource

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEAMS = {
    "search": "llama-3.1-70b-instruct",
    "assistant": "qwen2.5-72b-instruct",
    "ads": "mistral-7b-instruct",
}


def _fortnight() -> None:
    """Fourteen days of one node: three teams' usage with a weekday rhythm, idle and unallocated."""
    gpu_resource()
    first = datetime(2026, 10, 1, tzinfo=UTC)
    for day in range(14):
        hour = first + timedelta(days=day, hours=12)
        weekday = 0.5 if hour.weekday() >= 5 else 1.0
        for index, (team, model) in enumerate(TEAMS.items()):
            cost = Decimal(str(round(600 * weekday / (index + 1) + 17 * day, 4)))
            allocation(
                hour.isoformat(), team=team, model=model, endpoint=f"/{team}/chat",
                amortized=str(cost), input_tokens=int(cost * 90_000), output_tokens=int(cost * 9_000),
                requests=int(cost * 20), gpu_hours="4",
            )  # fmt: skip
        allocation(
            hour.isoformat(), LineKind.IDLE, amortized=str(900 - 400 * weekday), gpu_hours="5"
        )
        allocation(
            hour.isoformat(), LineKind.UNALLOCATED, amortized="41.0000000005", resource_id="nat-1"
        )


def test_overview_and_unit_pages_render_plotly_charts_from_local_static(browser, live_server):
    _fortnight()
    finance_user("finance")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{live_server.url}/")
    page.fill("input[name=username]", "finance")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#chart-daily .main-svg")

    assert page.inner_text("h1") == "Overview"
    # Three teams plus idle and unallocated, stacked: each trace draws its bars.
    assert page.locator("#chart-daily .trace.bars").count() == 5
    assert page.locator("#chart-daily .point path").count() >= 5 * 14
    assert page.locator("#chart-unit .trace.bars .point").count() == 3
    assert "search" in page.inner_text("#by-team")
    page.wait_for_load_state("networkidle")
    hosts = {urlsplit(url).hostname for url in requested if not url.startswith(("data:", "blob:"))}
    assert hosts == {"127.0.0.1"}, f"requests left the machine: {requested}"
    assert any(url.endswith("/static/vendor/plotly/plotly.min.js") for url in requested)

    if os.environ.get("LEDGER_SCREENSHOT"):
        page.screenshot(path=os.environ["LEDGER_SCREENSHOT"], full_page=True)

    # Same session, through the nav: one cost-per-token line per team.
    page.click("nav >> text=Unit economics")
    page.wait_for_selector("#chart-units .main-svg")
    assert page.inner_text("h1") == "Unit economics"
    assert page.locator("#chart-units .scatterlayer .trace").count() == 3
    assert page.locator("#chart-units .scatterlayer .trace path.js-line").count() == 3
    page.wait_for_load_state("networkidle")
    hosts = {urlsplit(url).hostname for url in requested if not url.startswith(("data:", "blob:"))}
    assert hosts == {"127.0.0.1"}, f"requests left the machine: {requested}"
    page.close()
