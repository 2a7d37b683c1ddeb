"""/api/docs/ in Chromium: Swagger UI draws every operation from our own static files under
the strict Content-Security-Policy, and a logged-in user can try a call from it. The profile
page makes a token that works."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client

# `watched` (a page recording CSP violations and errors) is registered by importing it.
from tests.browser.test_escaping_browser import _log_in, _no_csp_trouble, watched  # noqa: F401
from tests.dashboard.builders import explained_hour, finance_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Seven operations; Playwright's wait_for_function would eval(), which this CSP refuses.
LAST_OPERATION = ".opblock >> nth=6"


@pytest.fixture
def new_page(request):
    return request.getfixturevalue("watched")


def test_swagger_ui_renders_every_operation_with_no_csp_violation(new_page, live_server):
    finance_user()
    page = new_page()
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).hostname or ""))
    _log_in(page, live_server, "fin")
    page.goto(f"{live_server.url}/api/docs/")
    page.locator(LAST_OPERATION).wait_for()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert {p.replace("\u200b", "") for p in paths} >= {"/api/v1/explain", "/api/v1/budgets"}
    assert page.locator(".info .title").inner_text().startswith("Inference Ledger API")
    _no_csp_trouble(page)
    assert hosts == {"127.0.0.1"}, "nothing is loaded from a CDN"


def test_try_it_out_calls_the_api_with_the_session(new_page, live_server):
    finance_user()
    page = new_page()
    _log_in(page, live_server, "fin")
    page.goto(f"{live_server.url}/api/docs/")
    page.locator(LAST_OPERATION).wait_for()
    block = page.locator("#operations-budgets-budgets_list")
    if not block.locator(".try-out").is_visible():
        block.locator(".opblock-summary").click()
    block.locator(".try-out__btn").click()
    block.locator(".execute").click()
    status = block.locator(".live-responses-table tr.response .response-col_status")
    status.wait_for()
    assert status.inner_text().strip() == "200"
    _no_csp_trouble(page)


def test_a_token_made_on_the_profile_page_works_and_is_shown_once(new_page, live_server):
    explained_hour()
    finance_user()
    page = new_page()
    _log_in(page, live_server, "fin")
    page.click(".topbar .who")
    page.fill("input[name=name]", "notebook")
    page.click("text=Create token")
    secret = page.locator("#token-value").inner_text()
    response = Client().get(
        "/api/v1/explain?team=search&hour=2026-10-01T10:00Z",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200
    page.goto(f"{live_server.url}/profile/")
    assert secret not in page.content() and secret[:12] in page.content()
    _no_csp_trouble(page)
