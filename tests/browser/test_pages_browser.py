"""The team, model, endpoint, fleet and explorer pages in a real browser, as finance and as a
team lead, at a laptop's width: charts drawn, no console or CSP error, nothing spilling out of
its card, and the finance-only fleet refused to the lead."""

from __future__ import annotations

import pytest

from tests.browser.test_layout_browser import HIDDEN_PARTS
from tests.dashboard.builders import finance_user, team_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FINANCE_PAGES = (
    "/teams/",
    "/teams/search/",
    "/teams/search/?idle=share",
    "/models/llama-3.1-70b-instruct/?grain=hour",
    "/endpoints/?name=/ads/chat",
    "/fleet/",
    "/fleet/?pool=",
    "/explorer/?dims=team,model,endpoint,pool,day&idle=share",
    "/explorer/?dims=day,pool&sort=-gpu_hours",
    "/units/?grain=hour&by=model",
)
LEAD_PAGES = (
    "/teams/",
    "/teams/ads/",
    "/models/mistral-7b-instruct/",
    "/endpoints/?name=/ads/chat&grain=hour",
    "/explorer/?dims=team,model,day",
)


def _open_each(page, visit, paths: tuple[str, ...]) -> None:
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    for path in paths:
        response = visit(page, path)
        assert response is not None and response.status == 200, path
        assert page.evaluate(HIDDEN_PARTS, False) == [], path
        assert problems == [], f"{path}: {problems}"


def test_finance_opens_every_page_at_1280px(fortnight, logged_in, visit):
    finance_user("finance")
    page = logged_in("finance")
    _open_each(page, visit, FINANCE_PAGES)
    visit(page, "/fleet/")
    assert page.locator("#chart-heatmap .heatmaplayer, #chart-heatmap .hm").count() >= 1
    page.click("nav >> text=Explorer")
    page.click("#slice thead >> text=Requests")
    assert "sort=-requests" in page.url


def test_a_lead_opens_their_pages_and_is_refused_the_fleet(fortnight, logged_in, visit):
    team_lead("ads", "lead")
    page = logged_in("lead")
    _open_each(page, visit, LEAD_PAGES)
    for path in LEAD_PAGES:
        visit(page, path)
        assert "search" not in page.inner_text("main"), path
    assert visit(page, "/fleet/").status == 403
    assert visit(page, "/teams/search/").status == 404
    assert page.locator("nav >> text=Fleet").count() == 0
