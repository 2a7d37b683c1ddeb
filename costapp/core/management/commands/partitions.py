"""`manage.py partitions`: the monthly partitions of the big tables (costapp/core/partitions.py).

partitions list [TABLE]                  every partition with its month, rows and size
partitions ensure [--months-ahead N]     create the coming months' (the daily beat task)
partitions detach TABLE YYYY-MM          keep the month as a plain table, out of the parent
partitions drop TABLE YYYY-MM            detach and drop it: its rows are gone
  --force                                a kept table's month (allocations: a closed month;
                                         the hourly rollups); never needed for the others
"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from costapp.core import partitions


def _month(text: str) -> date:
    try:
        year, month = (int(part) for part in text.strip().split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError):
        raise CommandError(f"{text!r} is not a month (expected YYYY-MM, e.g. 2026-10)") from None


class Command(BaseCommand):
    help = "List, create ahead, detach or drop the monthly partitions of the big tables."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list", help="partitions with month, estimated rows, size")
        listing.add_argument("table", nargs="?", choices=sorted(partitions.TABLES))
        ensure = actions.add_parser("ensure", help="create the coming months' partitions")
        ensure.add_argument("--months-ahead", type=int, default=partitions.MONTHS_AHEAD)
        for name, text in (
            ("detach", "detach a month's partition, keeping it as a plain table"),
            ("drop", "detach and drop a month's partition and its rows"),
        ):
            action = actions.add_parser(name, help=text)
            action.add_argument("table", choices=sorted(partitions.TABLES))
            action.add_argument("month", type=_month, help="YYYY-MM")
            action.add_argument(
                "--force",
                action="store_true",
                help="also a kept table (the allocations, a closed month only; hourly rollups)",
            )

    def handle(self, *args, action: str, **options) -> None:
        try:
            if action == "list":
                self._list(options.get("table"))
            elif action == "ensure":
                created = partitions.ensure_partitions(months_ahead=options["months_ahead"])
                for name in created:
                    self.stdout.write(f"created {name}")
                self.stdout.write(f"{len(created)} partition(s) created")
            elif action == "detach":
                name = partitions.detach_partition(
                    options["table"], options["month"], force=options["force"]
                )
                self.stdout.write(f"detached {name} (a plain table now; drop it when done)")
            elif action == "drop":
                name, rows = partitions.drop_partition(
                    options["table"], options["month"], force=options["force"]
                )
                self.stdout.write(f"dropped {name} ({rows} rows)")
        except partitions.PartitionError as error:
            raise CommandError(str(error)) from None

    def _list(self, table: str | None) -> None:
        for name in [table] if table else sorted(partitions.TABLES):
            if not partitions.is_partitioned(name):
                self.stdout.write(f"{name}: not partitioned")
                continue
            self.stdout.write(f"{name} (by {partitions.TABLES[name].key}):")
            for part in partitions.partitions(name):
                month = "DEFAULT" if part.month is None else f"{part.month:%Y-%m}"
                state = "" if part.attached else "  DETACHED"
                rows = "?" if part.rows < 0 else f"~{part.rows}"
                self.stdout.write(
                    f"  {month:8} {part.name:40} {rows:>12} rows {part.bytes:>14} bytes{state}"
                )
