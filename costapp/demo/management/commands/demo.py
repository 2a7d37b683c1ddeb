"""`manage.py demo`: generate the demo files into var/demo, ingest, attribute, close the oldest
complete month, set up budgets and alert rules, create users, and print the pages to open.

The demo's days end at the current hour (`--end` gives a fixed end, as the tests do), so its
data is as fresh as a live deployment's; run again later, it replaces the earlier window.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from costapp.demo.budgets import CHANNEL_TARGET
from costapp.demo.dataset import DEFAULT_DAYS, DEFAULT_SEED, current_hour, parse_end
from costapp.demo.fleet import TEAMS
from costapp.demo.load import DemoSummary, load_demo


def end_argument(value: str):
    try:
        return parse_end(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_window_arguments(parser) -> None:
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--end",
        type=end_argument,
        default=None,
        help="where the data ends (exclusive), YYYY-MM-DD or YYYY-MM-DDTHH:00 UTC;"
        " default: the start of the current hour",
    )


def main_pages(summary: DemoSummary) -> list[tuple[str, str]]:
    """The pages worth opening first, with who sees them."""
    team = next(iter(TEAMS))
    pages = [
        ("/", "overview: spend by team, model, endpoint; idle"),
        ("/units/", "unit economics: cost per 1M tokens and per request"),
        ("/units/?by=model", "cost per 1M tokens per model, hosted (Bedrock) and self-hosted"),
        ("/teams/", "teams"),
        (f"/teams/{team}/", "one team's page (its lead sees it too)"),
        ("/models/llama-3.1-70b-instruct/", "one model's page"),
        ("/endpoints/?name=/search/answer", "one endpoint's page"),
        ("/explorer/", "any slice, sorted and paged"),
        ("/explain/", "why a team was charged what it was"),
        ("/whatif/", "what-if: right-size, commit, route"),
        ("/budgets/", "budgets, forecasts and alerts"),
    ]
    if summary.alerts is not None and summary.alerts.budgets:
        pages.append((f"/budgets/{summary.alerts.budgets[0].pk}/", "one budget"))
    pages += [
        ("/budgets/channels/", "alert channels (finance)"),
        ("/fleet/", "GPU pools, utilization heatmap, prices (finance)"),
        ("/sources/", "sources and freshness (finance)"),
        ("/hosted/", "the hosted model's bill against list price (finance)"),
        ("/periods/", "closed periods (finance)"),
    ]
    if summary.closed_month is not None:
        month = f"{summary.closed_month:%Y-%m}"
        pages.append((f"/chargeback/{month}/", "the closed month's chargeback (finance)"))
    pages += [
        ("/profile/", "API tokens"),
        ("/api/docs/", "the JSON API"),
        ("/admin/", "configuration (finance)"),
    ]
    return pages


class Command(BaseCommand):
    help = "Load the demo dataset through the real ingestion and attribution, and print logins."

    def add_arguments(self, parser):
        parser.add_argument("--fresh", action="store_true", help="forget earlier demo data first")
        parser.add_argument("--outdir", type=Path, default=settings.BASE_DIR / "var" / "demo")
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="where the pages will be served, for the URLs printed at the end",
        )
        add_window_arguments(parser)

    def handle(self, *args, fresh, outdir, days, seed, end, base_url, **options):
        if days < 1:
            raise CommandError(f"--days: {days} is not a number of days (expected 1 or more)")
        base = base_url.rstrip("/")
        summary = load_demo(outdir, seed=seed, end=end or current_hour(), days=days, fresh=fresh)
        write = self.stdout.write
        for note in summary.notes:
            write(note)
        write(f"Demo window: {summary.start:%Y-%m-%d %H:%M} to {summary.end:%Y-%m-%d %H:%M} UTC")
        runs = ", ".join(f"{count} {status}" for status, count in sorted(summary.runs.items()))
        write(f"Ingestion runs: {runs}")
        for fmt, rows in summary.rows.items():
            write(f"  {fmt}: {rows:,} rows stored")
        if summary.failures:
            raise CommandError("demo ingestion failed:\n  " + "\n  ".join(summary.failures))
        if summary.allocations is not None:
            write(f"GPU resources: {summary.gpu_resources}; allocations: {summary.allocations:,}")
            write(
                f"Total spend: ${summary.amortized_total:,.2f} amortized,"
                f" ${summary.billed_total:,.2f} billed"
            )
        if summary.alerts is not None:
            alerts = summary.alerts
            write(
                f"Budgets: {len(alerts.budgets)}; alert rules: {len(alerts.rules)};"
                f" alerts fired by this evaluation: {alerts.fired}"
            )
            write(
                f"Alert channel: {CHANNEL_TARGET} (a local mailbox; the outbox waits for a"
                " worker and an SMTP server on localhost)"
            )
        write("\nDemo logins (demo-only passwords):")
        for login in summary.logins:
            write(f"  {login.username:<16} {login.password:<16} {login.role}")
        write(f"\nPages ({base}):")
        for path, what in main_pages(summary):
            write(f"  {base}{path:<34} {what}")
