"""`manage.py rollups --rebuild`: rebuild every allocation rollup from the allocations.

The engine keeps the rollups of the hours it recomputes; this is for a database whose
allocations predate the rollups or were written by hand (costapp.attribution.rollups). Without
--rebuild it says whether the rollups are current.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from costapp.attribution import rollups
from costapp.attribution.models import RollupStale


class Command(BaseCommand):
    help = "Rebuild the allocation rollups the pages read (--rebuild), or say if they are stale."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="rebuild every rollup")

    def handle(self, *args, rebuild: bool = False, **options) -> None:
        if not rebuild:
            stale = RollupStale.objects.exists()
            self.stdout.write("rollups are stale: run --rebuild" if stale else "rollups current")
            return
        began = time.monotonic()
        rollups.rebuild()
        self.stdout.write(f"rebuilt the rollups in {time.monotonic() - began:.1f}s")
