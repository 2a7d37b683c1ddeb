"""`manage.py attribute`: recompute attribution, for operators and scripts.

Without options every hour is recomputed; `--start`/`--end` (days, UTC) limit it to a window;
`--pending` does what the scheduler does: the hours of runs not attributed yet, and
`--retry-failed` first puts the runs whose attribution failed back among them. Only hours inside
the plausible time window (costapp.core.limits) are computed; what lies outside is reported.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError

from costapp.attribution.engine import attribute_pending, run_attribution
from costapp.attribution.engine import retry_failed as _retry_failed


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=UTC) if day else None


def _after(day: date) -> datetime | None:
    """Midnight after `day`; None (no end) past the last day a datetime can hold."""
    try:
        return _midnight(day + timedelta(days=1))
    except OverflowError:
        return None


class Command(BaseCommand):
    help = "Recompute attribution: every hour, the days given, or the pending runs' hours."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--start", type=date.fromisoformat, help="first day (UTC)")
        parser.add_argument("--end", type=date.fromisoformat, help="last day (UTC), included")
        parser.add_argument(
            "--pending", action="store_true", help="only the hours of runs not attributed yet"
        )
        parser.add_argument(
            "--retry-failed",
            action="store_true",
            help="with --pending: first put the runs whose attribution failed back in the queue",
        )

    def handle(
        self,
        *args,
        start: date | None,
        end: date | None,
        pending: bool,
        retry_failed: bool = False,
        **options,
    ):
        if pending and (start or end):
            raise CommandError("--pending recomputes the runs' own hours: give no days with it")
        if retry_failed and not pending:
            raise CommandError("--retry-failed goes with --pending")
        if start and end and end < start:
            raise CommandError(f"--end {end} is before --start {start}")
        if pending:
            if retry_failed:
                self.stdout.write(f"{_retry_failed()} failed run(s) back in the queue")
            result = attribute_pending()
            if result is None:
                self.stdout.write("nothing pending (or another worker is on it)")
                return
        else:
            result = run_attribution(_midnight(start), _after(end) if end else None)
        self.stdout.write(
            f"{result.hours} hours x {result.resources} resources: {result.allocations} "
            f"allocations in {result.seconds:.2f} s"
            + (f" ({result.windows} windows)" if result.windows > 1 else "")
        )
        if result.outside:
            self.stderr.write(f"not computed: {result.outside}")
        if result.failed:
            self.stderr.write(
                f"{result.failed} window(s) failed and were skipped: their runs carry the error"
                " (see /sources/)"
            )
