"""`manage.py demo`: generate the demo files into var/demo, ingest, attribute, create users."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from costapp.demo.dataset import DEFAULT_DAYS, DEFAULT_SEED, DEFAULT_START
from costapp.demo.load import load_demo


class Command(BaseCommand):
    help = "Load the demo dataset through the real ingestion and attribution, and print logins."

    def add_arguments(self, parser):
        parser.add_argument("--fresh", action="store_true", help="forget earlier demo data first")
        parser.add_argument("--outdir", type=Path, default=settings.BASE_DIR / "var" / "demo")
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS)
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START)

    def handle(self, *args, fresh, outdir, days, seed, start, **options):
        summary = load_demo(outdir, seed=seed, start=start, days=days, fresh=fresh)
        write = self.stdout.write
        for note in summary.notes:
            write(note)
        runs = ", ".join(f"{count} {status}" for status, count in sorted(summary.runs.items()))
        write(f"Ingestion runs: {runs}")
        for fmt, rows in summary.rows.items():
            write(f"  {fmt}: {rows:,} rows stored")
        if summary.failures:
            raise CommandError("demo ingestion failed:\n  " + "\n  ".join(summary.failures))
        if summary.allocations is not None:
            write(f"GPU resources: {summary.gpu_resources}; allocations: {summary.allocations:,}")
            write(
                f"Total spend: ${summary.amortized_total:,.2f} amortized, ${summary.billed_total:,.2f} billed"
            )
        write("\nDemo logins (demo-only passwords):")
        for login in summary.logins:
            write(f"  {login.username:<16} {login.password:<16} {login.role}")
        write("\nDashboard: http://127.0.0.1:8000/")
