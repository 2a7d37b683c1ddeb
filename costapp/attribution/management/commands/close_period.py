"""`manage.py close_period 2026-10`: close a month (or `--reopen --reason "..."` to reopen it).

A closed month's allocations never change: edits and late data recompute only open hours.
Reopening needs a reason, is recorded, and recomputes the month with today's data and rules.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from costapp.attribution.periods import PeriodError, close_month, parse_month, reopen_month


class Command(BaseCommand):
    help = "Close a month (YYYY-MM) so its allocations never change, or reopen it with a reason."

    def add_arguments(self, parser) -> None:
        parser.add_argument("month", help="the month, YYYY-MM")
        parser.add_argument("--reopen", action="store_true", help="reopen a closed month")
        parser.add_argument("--reason", default="", help="why (required with --reopen)")
        parser.add_argument("--by", default="manage.py", help="who, for the record")

    def handle(self, *args, month: str, reopen: bool, reason: str, by: str, **options):
        try:
            when = parse_month(month)
            if reopen:
                reopen_month(when, by=by, reason=reason)
                self.stdout.write(f"{when:%Y-%m} reopened and recomputed")
            else:
                period = close_month(when, by=by, reason=reason)
                totals = period.totals.get("allocated", {})
                shown = ", ".join(f"{cur} {t['amortized']}" for cur, t in totals.items())
                self.stdout.write(f"{when:%Y-%m} closed ({shown or 'no allocations'})")
        except PeriodError as exc:
            raise CommandError(str(exc)) from exc
