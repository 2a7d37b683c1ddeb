"""Names from the data are text in a real browser, every page draws under the strict
Content-Security-Policy, and the login lockout is shown on the login page.

plotly.js turns a subset of HTML in trace names, hover texts and axis labels into SVG (an
<a href> becomes a clickable link), so these tests read what Chromium drew, not the JSON.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from costapp.attribution.models import LineKind
from costapp.sources.models import Source
from tests.dashboard.builders import PASSWORD, allocation, finance_user, gpu_resource

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EVIL_URL = "https://example.com/x"
EVIL_TEAM = f'<a href="{EVIL_URL}">evil</a><b>B</b>'
EVIL_MODEL = f'<a href="{EVIL_URL}">model</a>'
EVIL_ENDPOINT = "/chat<br><i>x</i>&amp;%{y}"

# Collects Content-Security-Policy violations before any page script runs.
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(event.violatedDirective + " " + event.blockedURI + " " + event.sourceFile);
});
"""

# Every <a> plotly drew inside a chart's SVG that points at the hostile URL.
LINKS_TO_EVIL = (
    """(selector) => [...document.querySelectorAll(selector + " svg a")].filter(a =>
  [a.getAttribute("href"), a.getAttribute("xlink:href"),
   a.getAttributeNS("http://www.w3.org/1999/xlink", "href")].includes("""
    + json.dumps(EVIL_URL)
    + ")).length"
)


@pytest.fixture
def hostile_week() -> None:
    """A week of one node: a team, model and endpoint whose names are HTML, and a plain team."""
    gpu_resource()
    first = datetime(2026, 10, 1, 12, tzinfo=UTC)
    for day in range(7):
        hour = (first + timedelta(days=day)).isoformat()
        allocation(
            hour, team=EVIL_TEAM, model=EVIL_MODEL, endpoint=EVIL_ENDPOINT, amortized="300",
            input_tokens=2_000_000, output_tokens=100_000, requests=40, gpu_hours="4",
        )  # fmt: skip
        allocation(
            hour, team="search", model="llama", endpoint="/search", amortized="200",
            input_tokens=1_000_000, output_tokens=50_000, requests=20, gpu_hours="2",
        )  # fmt: skip
        allocation(hour, LineKind.IDLE, amortized=str(Decimal(100)), gpu_hours="2")


@pytest.fixture
def watched(browser):
    """A new page that records CSP violations and console errors of everything it loads."""
    pages = []

    def open_page():
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.add_init_script(WATCH_CSP)
        page.errors = []
        # A resource that failed to load is reported below by its URL; the rest are script errors.
        page.on(
            "console",
            lambda msg: (
                msg.type == "error"
                and not msg.text.startswith("Failed to load resource")
                and page.errors.append(msg.text)
            ),
        )
        page.on(
            "response",
            lambda response: (
                response.status >= 400
                and not response.url.endswith("/favicon.ico")
                and page.errors.append(f"{response.status} {response.url}")
            ),
        )
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        pages.append(page)
        return page

    yield open_page
    for page in pages:
        page.close()


def _log_in(page, live_server, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def _no_csp_trouble(page) -> None:
    assert page.evaluate("window.__csp") == []
    assert page.errors == []


def test_a_team_named_with_html_is_text_in_chart_legends_and_hover(
    hostile_week, watched, live_server, visit
):
    finance_user("finance")
    page = watched()
    _log_in(page, live_server, "finance")
    page.wait_for_url(f"{live_server.url}/")
    visit(page, "/")

    # The legend shows the name as written, and plotly drew no link from it.
    legend = page.locator("#chart-daily .legendtext").all_text_contents()
    assert any(EVIL_TEAM in text for text in legend), legend
    assert any("<a href" in text for text in legend)
    assert page.evaluate(LINKS_TO_EVIL, "#chart-daily") == 0
    assert page.locator("#chart-daily svg b").count() == 0

    # Hover over the hostile team's bar: the label is text too.
    trace = page.locator("#chart-daily .trace.bars").first
    trace.locator(".point path").first.hover(force=True)
    page.wait_for_selector("#chart-daily .hoverlayer .hovertext")
    hover = page.locator("#chart-daily .hoverlayer").text_content()
    assert EVIL_TEAM in hover, hover
    assert page.evaluate(LINKS_TO_EVIL, "#chart-daily") == 0

    # The model chart's category labels and hover text.
    ticks = page.locator("#chart-unit .yaxislayer-above text").all_text_contents()
    assert EVIL_MODEL in ticks, ticks
    assert page.evaluate(LINKS_TO_EVIL, "#chart-unit") == 0
    # The tables: Django escapes the same names.
    assert EVIL_TEAM in page.inner_text("#by-team")
    assert page.locator(f'main a[href="{EVIL_URL}"]').count() == 0

    # Unit economics by endpoint: a %{y} in a name is not a hover placeholder.
    visit(page, "/units/?by=endpoint")
    legend = page.locator("#chart-units .legendtext").all_text_contents()
    assert EVIL_ENDPOINT in legend, legend
    assert page.locator("#chart-units svg i").count() == 0
    _no_csp_trouble(page)


def test_pages_and_admin_draw_under_the_content_security_policy(
    hostile_week, watched, live_server, visit
):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("root", password=PASSWORD)
    finance_user("finance")
    Source.objects.create(name="gateway", format="jsonl", location_kind="push", location="")
    page = watched()
    _log_in(page, live_server, "finance")
    page.wait_for_url(f"{live_server.url}/")
    for path, charts in (("/", 2), ("/units/", 1), ("/explain/", 0), ("/sources/", 0)):
        response = visit(page, path)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert page.locator(".plot .svg-container").count() == charts, path
    _no_csp_trouble(page)

    admin = watched()
    admin.goto(f"{live_server.url}/admin/login/")
    admin.fill("input[name=username]", "root")
    admin.fill("input[name=password]", PASSWORD)
    admin.click("input[type=submit]")
    admin.wait_for_url(f"{live_server.url}/admin/")
    for path in (
        "/admin/",
        "/admin/sources/source/",
        "/admin/sources/source/add/",
        "/admin/attribution/costrule/add/",
        "/admin/auth/user/",
    ):
        response = admin.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        admin.wait_for_load_state("networkidle")
    # The admin's own scripts run: the changelist's select-all box ticks every row.
    admin.goto(f"{live_server.url}/admin/sources/source/")
    admin.check("#action-toggle")
    assert admin.locator("input.action-select:checked").count() == 1
    _no_csp_trouble(admin)


def test_five_wrong_passwords_lock_the_login_form_with_a_clear_message(watched, live_server):
    finance_user("finance")
    page = watched()
    for _ in range(5):
        _log_in(page, live_server, "finance", "wrong-password")
    notice = page.locator("#locked-out")
    assert "Too many failed logins" in notice.inner_text()
    assert "finance" in notice.inner_text()
    # The right password no longer gets in from this address.
    _log_in(page, live_server, "finance")
    assert page.locator("#locked-out").is_visible()
    assert page.url == f"{live_server.url}/login/"
