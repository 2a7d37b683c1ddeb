"""`manage.py ingest --format FORMAT PATH`: ingest a local file or folder as one delivery.

`--tz ZONE` (an IANA name such as Europe/Paris) gives the zone of nvidia-smi logs, whose stamps
are the logging machine's local time; only that format takes it. A Source could carry the zone
later; for now it is the command's and the parser's argument.

The same service the scheduler uses; prints the run's counts and exits non-zero when it failed.
"""

from __future__ import annotations

from functools import partial
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.management.base import BaseCommand, CommandError

from costapp.ingest import nvidia_smi
from costapp.ingest.files import local_files
from costapp.ingest.formats import FORMATS
from costapp.ingest.models import RunStatus
from costapp.ingest.runs import ingest
from costapp.sources.models import Source


class Command(BaseCommand):
    help = "Ingest a local file or folder (all its files form one delivery) in the given format."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--format", required=True, choices=sorted(FORMATS), dest="fmt")
        parser.add_argument("path", help="a file, or a folder whose files are read in order")
        parser.add_argument(
            "--source", help="name of a configured source to record the run under (its stream)"
        )
        parser.add_argument(
            "--tz",
            help="IANA time zone of nvidia-smi log stamps, e.g. Europe/Paris (default UTC)",
        )

    def handle(
        self, *args, fmt: str, path: str, source: str | None, tz: str | None, **options
    ) -> None:
        parse = None
        if tz is not None:
            if fmt != "nvidia-smi":
                raise CommandError(f"--tz applies to nvidia-smi logs only, not to {fmt!r}")
            try:
                zone = ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                raise CommandError(
                    f"--tz {tz!r}: unknown time zone (expected an IANA name such as Europe/Paris)"
                ) from None
            parse = partial(nvidia_smi.parse, tz=zone)
        configured = None
        if source:
            configured = Source.objects.filter(name=source).first()
            if configured is None:
                raise CommandError(f"no source named {source!r}")
        try:
            files = local_files(path)
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        if not files:
            raise CommandError(f"{path}: no files to ingest")
        run = ingest(files, fmt, source=configured, location=path, parse=parse)
        seconds = (run.duration_ms or 0) / 1000
        summary = (
            f"run {run.pk} {run.status}: {run.files} file(s), {run.rows_read} rows read, "
            f"{run.rows_stored} stored, {run.rows_rejected} rejected, "
            f"{run.bytes_read} bytes, {seconds:.2f} s"
        )
        if run.status == RunStatus.FAILED:
            raise CommandError(f"{summary}\n{run.error}")
        self.stdout.write(summary)
        for warning in run.warnings:
            self.stderr.write(f"warning: {warning}")
        if run.status == RunStatus.SKIPPED:
            self.stdout.write(run.error)
