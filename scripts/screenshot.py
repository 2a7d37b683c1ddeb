"""Take the README screenshots of a running dashboard (e.g. after `make demo`).

    .venv/bin/python scripts/screenshot.py http://127.0.0.1:8000 finance finance-demo \
        docs/screenshot.png [PATH]

PATH is the page to capture after logging in (default /). Uses the system Chromium, like the
browser tests; nothing is downloaded.
"""

from __future__ import annotations

import sys

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def screenshot(url: str, username: str, password: str, out: str, path: str = "/") -> None:
    base = url.rstrip("/")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        page.goto(f"{base}{path}")
        page.wait_for_load_state("networkidle")
        if page.query_selector(".js-plotly-plot"):
            page.wait_for_selector(".js-plotly-plot .main-svg")
        page.screenshot(path=out)
        browser.close()


if __name__ == "__main__":
    screenshot(*sys.argv[1:6])
