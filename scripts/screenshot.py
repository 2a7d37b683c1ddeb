"""Take the README screenshots of a running dashboard loaded with the demo (`make demo`).

Every screenshot the README shows, into docs/ (logins are the demo's):

    .venv/bin/python scripts/screenshot.py http://127.0.0.1:8000

One page, as one user:

    .venv/bin/python scripts/screenshot.py http://127.0.0.1:8000 finance finance-demo \
        docs/screenshot.png [PATH]

PATH is the page to capture after logging in (default /). Uses the system Chromium, like the
browser tests; nothing is downloaded. Pages are captured at 1280 px wide, 900 px high.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 900}
DOCS = Path(__file__).resolve().parent.parent / "docs"
# The demo's logins (costapp/demo/load.py create_users).
LOGINS = {"finance": "finance-demo", "lead-search": "search-demo"}
# The budget whose page is shown: the demo sets it under its pace, so its forecast has fired.
SHOWN_BUDGET = "Assistant team: monthly"
# The scenario the what-if screenshot shows (docs/WHATIF.md explains each lever).
WHATIF_LEVERS = "caching_hit_rate=0.3&quantization=fp8&utilization_target=0.7&commitment_share=0.5"


@dataclass(frozen=True)
class Shot:
    out: str  # file name under docs/
    username: str
    # A page; "budget": the page of SHOWN_BUDGET (its id is the database's); "explain": one
    # team-hour of yesterday afternoon (the demo's data ends at the current hour).
    path: str
    # A CSS selector scrolled to the top of the window before capturing ("" = the page's top).
    anchor: str = ""


SHOTS = (
    Shot("screenshot.png", "finance", "/"),
    Shot("units.png", "finance", "/units/"),
    Shot("explain.png", "finance", "explain"),
    Shot("team.png", "lead-search", "/teams/search/"),
    Shot("explorer.png", "finance", "/explorer/?dims=team,model"),
    Shot("fleet.png", "finance", "/fleet/"),
    # Levers set, scrolled to the results: today vs projected and each lever's saving.
    Shot("whatif.png", "finance", f"/whatif/?{WHATIF_LEVERS}", anchor="section.cards"),
    Shot("budgets.png", "finance", "/budgets/"),
    Shot("budget.png", "finance", "budget"),
    Shot("periods.png", "finance", "/periods/"),
)


def _launch(playwright):
    return playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)


def _login(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    if "/login/" in page.url:
        raise SystemExit(f"could not log in as {username} at {base}")


def _capture(page: Page, base: str, path: str, out: str | Path, anchor: str = "") -> None:
    response = page.goto(f"{base}{path}")
    if response is None or response.status != 200:
        status = response.status if response else "no answer"
        raise SystemExit(f"{base}{path} answered {status}, not 200: no screenshot taken")
    page.wait_for_load_state("networkidle")
    if page.query_selector(".js-plotly-plot"):
        page.wait_for_selector(".js-plotly-plot .main-svg")
    if anchor:
        page.locator(anchor).first.evaluate(
            "el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 16)"
        )
    page.screenshot(path=str(out))


def _budget_path(page: Page, base: str) -> str:
    page.goto(f"{base}/budgets/")
    link = page.get_by_role("link", name=SHOWN_BUDGET).first
    href = link.get_attribute("href") if link.count() else None
    if not href or not re.fullmatch(r"/budgets/\d+/", href):
        raise SystemExit(f"no link to the budget {SHOWN_BUDGET!r} on /budgets/: run the demo")
    return href


def _explain_path() -> str:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    return f"/explain/?team=search&hour={hour.replace(hour=14):%Y-%m-%dT%H:00Z}"


def _path(page: Page, base: str, shot: Shot) -> str:
    if shot.path == "budget":
        return _budget_path(page, base)
    if shot.path == "explain":
        return _explain_path()
    return shot.path


def screenshot(url: str, username: str, password: str, out: str, path: str = "/") -> None:
    """One page as one user."""
    base = url.rstrip("/")
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page(viewport=VIEWPORT)
        _login(page, base, username, password)
        _capture(page, base, path, out)
        browser.close()


def screenshots(url: str, outdir: Path = DOCS) -> list[Path]:
    """Every README screenshot, one browser context per user."""
    base = url.rstrip("/")
    written = []
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        for username, password in LOGINS.items():
            page = browser.new_context(viewport=VIEWPORT).new_page()
            _login(page, base, username, password)
            for shot in (s for s in SHOTS if s.username == username):
                _capture(page, base, _path(page, base, shot), outdir / shot.out, shot.anchor)
                written.append(outdir / shot.out)
        browser.close()
    return written


if __name__ == "__main__":
    if len(sys.argv) == 2:
        for written in screenshots(sys.argv[1]):
            print(written)
    elif 5 <= len(sys.argv) <= 6:
        screenshot(*sys.argv[1:6])
    else:
        raise SystemExit(__doc__)
