"""Take the README screenshot of a running dashboard (e.g. after `make demo`).

    .venv/bin/python tests/browser/screenshot.py http://127.0.0.1:8000 finance finance-demo docs/screenshot.png

Uses the system Chromium, like the browser tests; nothing is downloaded.
"""

from __future__ import annotations

import sys

from playwright.sync_api import sync_playwright


def screenshot(url: str, username: str, password: str, out: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url.rstrip('/')}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_selector("#chart-daily .main-svg")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=out)
        browser.close()


if __name__ == "__main__":
    screenshot(*sys.argv[1:5])
