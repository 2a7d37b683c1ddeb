"""`manage.py demo_data OUTDIR`: write the demo dataset as raw files (FOCUS, DCGM, JSONL)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from costapp.demo.dataset import current_hour, generate_dataset

from .demo import add_window_arguments


class Command(BaseCommand):
    help = "Generate the demo dataset as raw source files (nothing is written to the database)."

    def add_arguments(self, parser):
        parser.add_argument("outdir", type=Path)
        add_window_arguments(parser)

    def handle(self, *args, outdir: Path, days: int, seed: int, end: datetime | None, **options):
        if days < 1:
            raise CommandError(f"--days: {days} is not a number of days (expected 1 or more)")
        files = generate_dataset(outdir, seed=seed, end=end or current_hour(), days=days)
        for label, paths in (
            ("billing (FOCUS 1.0 CSV)", files.billing),
            ("telemetry (DCGM, Prometheus text)", files.telemetry),
            ("requests (JSON Lines)", files.requests),
        ):
            size = sum(p.stat().st_size for p in paths)
            self.stdout.write(
                f"{label}: {len(paths)} files, {size / 1e6:.1f} MB in {paths[0].parent}"
            )
