"""`manage.py demo_data OUTDIR`: write the demo dataset as raw files (FOCUS, DCGM, JSONL)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand

from costapp.demo.dataset import DEFAULT_DAYS, DEFAULT_SEED, DEFAULT_START, generate_dataset


class Command(BaseCommand):
    help = "Generate the demo dataset as raw source files (nothing is written to the database)."

    def add_arguments(self, parser):
        parser.add_argument("outdir", type=Path)
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS)
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START)

    def handle(self, *args, outdir: Path, days: int, seed: int, start: date, **options):
        files = generate_dataset(outdir, seed=seed, start=start, days=days)
        for label, paths in (
            ("billing (FOCUS 1.0 CSV)", files.billing),
            ("telemetry (DCGM, Prometheus text)", files.telemetry),
            ("requests (JSON Lines)", files.requests),
        ):
            size = sum(p.stat().st_size for p in paths)
            self.stdout.write(
                f"{label}: {len(paths)} files, {size / 1e6:.1f} MB in {paths[0].parent}"
            )
