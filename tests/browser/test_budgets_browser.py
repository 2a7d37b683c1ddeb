"""The budget pages in Chromium: finance goes from the nav to /budgets/, sees the bar, opens a
budget and plotly draws its chart (actual, forecast band, budget line) under the strict
Content-Security-Policy, with no console error; a team lead's list holds their team's only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from costapp.alerts import services
from costapp.alerts.evaluate import evaluate_budget
from tests.alerts.conftest import spend
from tests.dashboard.builders import PASSWORD, finance_user, team_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Collects Content-Security-Policy violations before any page script runs.
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(event.violatedDirective + " " + event.blockedURI + " " + event.sourceFile);
});
"""


@pytest.fixture
def budgets():
    """Fourteen days of search and ads spend up to this hour, a budget for each team and one
    for the organisation, evaluated so the search budget has alerts."""
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    for n in range(15):
        spend(now - timedelta(days=n), str(60 + 7 * (n % 3)), team="search")
        spend(now - timedelta(days=n), "20", team="ads", model="mistral")
    mail = services.create_channel("finops", "email", "finops@example.com")
    made = {
        "search": services.create_budget(
            name="Search inference", amount="50", scope={"team": "search"}, channels=[mail.pk]
        ),
        "ads": services.create_budget(name="Ads inference", amount="5000", scope={"team": "ads"}),
        "org": services.create_budget(name="Whole company", amount="20000", forecast=False),
    }
    evaluate_budget(made["search"])
    return made


@pytest.fixture
def open_as(browser, live_server):
    pages = []

    def open_page(username: str):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.add_init_script(WATCH_CSP)
        page.errors = []
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
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        return page

    yield open_page
    for page in pages:
        page.close()


def test_finance_opens_budgets_and_a_budget_chart_draws_under_the_csp(budgets, open_as):
    finance_user("finance")
    page = open_as("finance")
    page.click("nav >> text=Budgets")
    assert page.inner_text("h1") == "Budgets"
    assert page.locator("nav a[aria-current=page]").all_inner_texts() == ["Budgets"]
    cards = page.locator(".budget-card h2").all_inner_texts()
    assert cards == ["Ads inference", "Search inference", "Whole company"]
    search = page.locator(f"[data-budget='{budgets['search'].pk}']")
    assert search.locator("svg.budget-bar rect.spent").count() == 1
    assert "over budget" in search.inner_text()

    page.click("text=Search inference")
    page.wait_for_selector("#chart-budget .main-svg")
    legend = page.locator("#chart-budget .legendtext").all_text_contents()
    assert legend == ["Forecast band", "Forecast", "Actual (cumulative)", "Budget"]
    # The band is a filled area, the actual spend a line with markers.
    assert page.locator("#chart-budget .scatterlayer .trace").count() == 4
    assert page.locator("#chart-budget .scatterlayer path.js-fill").count() >= 1
    history = page.inner_text("#alerts")
    assert "100% on actual spend" in history and "finops" in history and "Pending" in history
    assert "finops@example.com" not in page.content()

    with page.expect_navigation():
        page.locator("#alerts button", has_text="Acknowledge").first.click()
    assert "acknowledged" in page.inner_text("#alerts")
    page.wait_for_selector("#chart-budget .main-svg")
    assert page.evaluate("window.__csp") == []
    assert page.errors == []


def test_a_lead_sees_their_teams_budget_only(budgets, open_as):
    team_lead("search", "lead")
    page = open_as("lead")
    page.click("nav >> text=Budgets")
    assert page.locator(".budget-card h2").all_inner_texts() == ["Search inference"]
    assert page.locator("text=New budget").count() == 0
    response = page.goto(page.url + f"{budgets['ads'].pk}/")
    assert response.status == 404
    page.errors.clear()  # the 404 above is the point, not a fault
    page.go_back()
    page.click("text=Search inference")
    page.wait_for_selector("#chart-budget .main-svg")
    assert page.evaluate("window.__csp") == []
    assert page.errors == []
