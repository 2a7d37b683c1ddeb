"""Browser tests: Playwright drives the system Chromium against pytest-django's live server."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from costapp.attribution.models import LineKind
from tests.dashboard.builders import PASSWORD, allocation, gpu_resource

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request, Response

CHROMIUM = Path("/usr/bin/chromium")
# The live server binds here, so "nothing left 127.0.0.1" is something a test can check.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")
# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run inside
# one unless told it is safe (it is: the loop only drives the browser).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# True once plotly has drawn every chart on the page (at once on a page without charts).
CHARTS_DRAWN = (
    "[...document.querySelectorAll('.plot')].every(plot => plot.querySelector('.main-svg'))"
)

# Each team serves one model from one endpoint, /<team>/chat.
TEAMS = {
    "search": "llama-3.1-70b-instruct",
    "assistant": "qwen2.5-72b-instruct",
    "ads": "mistral-7b-instruct",
}


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def fortnight() -> dict[str, str]:
    """Fourteen days of one node: three teams' usage with a weekday rhythm, idle and unallocated.

    Returns TEAMS, team to model.
    """
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
    return TEAMS


@pytest.fixture
def visit(live_server):
    """Opens `path` of the live server in `page` and waits until every chart on it is drawn."""

    def go(page: Page, path: str) -> Response | None:
        response = page.goto(f"{live_server.url}{path}")
        page.wait_for_function(CHARTS_DRAWN)
        return response

    return go


@pytest.fixture
def logged_in(browser, live_server, visit):
    """Opens a 1280x900 page, logs in as `username` (the builders' password) and returns it on the
    overview, charts drawn. `on_request` sees every request, the login page's too.
    """
    pages = []

    def open_page(username: str, on_request: Callable[[Request], None] | None = None) -> Page:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        pages.append(page)
        if on_request:
            page.on("request", on_request)
        visit(page, "/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        page.wait_for_function(CHARTS_DRAWN)
        return page

    yield open_page
    for page in pages:
        page.close()
