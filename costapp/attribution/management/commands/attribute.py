"""`manage.py attribute`: recompute attribution, for operators and scripts.

Without options every hour is recomputed; `--start`/`--end` (days, UTC) limit it to a window;
`--pending` does what the scheduler does: the hours of runs not attributed yet.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError

from costapp.attribution.engine import attribute_pending, run_attribution


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=UTC) if day else None


class Command(BaseCommand):
    help = "Recompute attribution: every hour, the days given, or the pending runs' hours."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--start", type=date.fromisoformat, help="first day (UTC)")
        parser.add_argument("--end", type=date.fromisoformat, help="last day (UTC), included")
        parser.add_argument(
            "--pending", action="store_true", help="only the hours of runs not attributed yet"
        )

    def handle(self, *args, start: date | None, end: date | None, pending: bool, **options):
        if pending and (start or end):
            raise CommandError("--pending recomputes the runs' own hours: give no days with it")
        if start and end and end < start:
            raise CommandError(f"--end {end} is before --start {start}")
        if pending:
            result = attribute_pending()
            if result is None:
                self.stdout.write("nothing pending (or another worker is on it)")
                return
        else:
            last = _midnight(end + timedelta(days=1)) if end else None
            result = run_attribution(_midnight(start), last)
        self.stdout.write(
            f"{result.hours} hours x {result.resources} resources: {result.allocations} "
            f"allocations in {result.seconds:.2f} s"
            + (f" ({result.windows} windows)" if result.windows > 1 else "")
        )
