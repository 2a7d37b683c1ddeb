"""The overview and unit economics pages in a real browser: log in, charts drawn by our own
plotly.js, no egress, and finance's way through the nav to the data freshness page.

Set LEDGER_SCREENSHOT=path/to.png to keep a screenshot of the populated page.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

from tests.dashboard.builders import finance_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_overview_and_unit_pages_render_plotly_charts_from_local_static(fortnight, logged_in):
    finance_user("finance")
    requested: list[str] = []
    page = logged_in("finance", on_request=lambda request: requested.append(request.url))

    assert page.inner_text("h1") == "Overview"
    # Three teams plus idle and unallocated, stacked: each trace draws its bars.
    assert page.locator("#chart-daily .trace.bars").count() == 5
    assert page.locator("#chart-daily .point path").count() >= 5 * 14
    # Per model, fully loaded beside busy only.
    assert page.locator("#chart-unit .trace.bars .point").count() == 2 * 3
    assert "search" in page.inner_text("#by-team")
    page.wait_for_load_state("networkidle")
    hosts = {urlsplit(url).hostname for url in requested if not url.startswith(("data:", "blob:"))}
    assert hosts == {"127.0.0.1"}, f"requests left the machine: {requested}"
    assert any(url.endswith("/static/vendor/plotly/plotly.min.js") for url in requested)

    if os.environ.get("LEDGER_SCREENSHOT"):
        page.screenshot(path=os.environ["LEDGER_SCREENSHOT"], full_page=True)

    # Same session, through the nav: cost-per-token lines per team, fully loaded and busy only.
    page.click("nav >> text=Unit economics")
    page.wait_for_selector("#chart-units .main-svg")
    assert page.inner_text("h1") == "Unit economics"
    assert page.locator("#chart-units .scatterlayer .trace").count() == 2 * 3
    assert page.locator("#chart-units .scatterlayer .trace path.js-line").count() == 2 * 3
    page.wait_for_load_state("networkidle")
    hosts = {urlsplit(url).hostname for url in requested if not url.startswith(("data:", "blob:"))}
    assert hosts == {"127.0.0.1"}, f"requests left the machine: {requested}"

    # Finance also gets the data freshness page; the nav marks where they are.
    page.click("nav >> text=Sources")
    assert page.inner_text("h1") == "Data freshness"
    assert page.locator("nav a[aria-current=page]").all_inner_texts() == ["Sources"]
