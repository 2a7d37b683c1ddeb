"""The what-if page in Chromium: finance opens it from the nav, fills the levers of the worked
example (docs/WHATIF.md), and gets the projection and a drawn waterfall under the strict
Content-Security-Policy with no console error; the scenario's URL reopens it as it was."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.dashboard.builders import finance_user
from tests.whatif.builders import PARAMS, worked_example

from .conftest import CHARTS_DRAWN

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def test_finance_simulates_the_worked_example_and_the_waterfall_draws(live_server, logged_in):
    worked_example()
    finance_user("finance")
    page = logged_in("finance")
    page.add_init_script(WATCH_CSP)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))

    page.click("nav >> text=What-if")
    page.wait_for_function(CHARTS_DRAWN)
    assert page.inner_text("h1") == "What-if"
    page.fill("input[name=start]", PARAMS["start"])
    page.fill("input[name=end]", PARAMS["end"])
    for name, value in (("caching_hit_rate", "0.2"), ("utilization_target", "0.8"),
                        ("commitment_share", "0.5"), ("commitment_discount", "0.4")):  # fmt: skip
        page.fill(f"input[name={name}]", value)
    with page.expect_navigation():
        page.click("button:has-text('Simulate')")
    page.wait_for_function(CHARTS_DRAWN)
    assert page.inner_text("#current-cost") == "$196.64"
    assert page.inner_text("#projected-cost") == "$98.32"
    # Today, three levers, the projection.
    assert page.locator("#chart-waterfall .point").count() == 5
    assert page.evaluate("window.__csp") == [] and errors == []

    shared = page.get_attribute("#share-link", "href")
    query = urlencode({**PARAMS, "caching_hit_rate": "0.2"})
    assert shared.startswith("/whatif/?") and "caching_hit_rate=0.2" in shared
    page.goto(f"{live_server.url}/whatif/?{query}")
    page.wait_for_function(CHARTS_DRAWN)
    assert page.inner_text("#total-saving") == "$39.33"  # caching alone: 196.64 x 0.2
