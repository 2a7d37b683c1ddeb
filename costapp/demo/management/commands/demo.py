"""`manage.py demo`: generate the demo files into var/demo, ingest, attribute, create users.

The demo's days end at the current hour (`--end` gives a fixed end, as the tests do), so its
data is as fresh as a live deployment's; run again later, it replaces the earlier window.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from costapp.demo.dataset import DEFAULT_DAYS, DEFAULT_SEED, current_hour, parse_end
from costapp.demo.load import load_demo


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


class Command(BaseCommand):
    help = "Load the demo dataset through the real ingestion and attribution, and print logins."

    def add_arguments(self, parser):
        parser.add_argument("--fresh", action="store_true", help="forget earlier demo data first")
        parser.add_argument("--outdir", type=Path, default=settings.BASE_DIR / "var" / "demo")
        add_window_arguments(parser)

    def handle(self, *args, fresh, outdir, days, seed, end, **options):
        if days < 1:
            raise CommandError(f"--days: {days} is not a number of days (expected 1 or more)")
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
        write("\nDemo logins (demo-only passwords):")
        for login in summary.logins:
            write(f"  {login.username:<16} {login.password:<16} {login.role}")
        write("\nDashboard: http://127.0.0.1:8000/  ·  configuration (finance): /admin/")
