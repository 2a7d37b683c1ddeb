"""Shared by the billing format tests: CSV built from a base row, and a bad file failing its run
cleanly."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

from costapp.ingest.files import InputFile
from costapp.ingest.models import CostLine, IngestionRun, RunStatus
from costapp.ingest.runs import ingest


def csv_text(base: dict, rows: tuple[dict, ...], columns: list[str] | None = None) -> str:
    """A CSV of `rows`, each the base row with its own cells over it, in `columns` order
    (default: the base row's); cells outside `columns` are left out."""
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=columns or list(base), extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({**base, **row})
    return out.getvalue()


def stored() -> list[tuple]:
    return list(CostLine.objects.order_by("pk").values_list("pk", "run_id", "billed_cost"))


def ingest_path(path: Path, fmt: str) -> IngestionRun:
    return ingest([InputFile.from_path(path)], fmt)


def assert_fails_cleanly(
    path: Path, fmt: str, *, line: int | None = None, column: str = "", mentions: tuple = ()
) -> IngestionRun:
    """The run is FAILED with its error located; nothing of the file is stored and what
    earlier runs stored is untouched."""
    before = stored()
    assert before, "ingest a good file first, so 'earlier data untouched' means something"
    run = ingest_path(path, fmt)
    assert run.status == RunStatus.FAILED, run.error
    assert run.error_file == str(path)
    assert str(path) in run.error
    if line is not None:
        assert run.error_line == line, run.error
        assert f"line {line}" in run.error
    if column:
        assert run.error_column == column, run.error
        assert f"column {column}" in run.error
    for text in mentions:
        assert text in run.error, run.error
    assert not CostLine.objects.filter(run=run).exists()
    assert stored() == before
    return run


def truncated_gzip(data: bytes) -> bytes:
    """A gzip cut short, as an interrupted download leaves it."""
    compressed = gzip.compress(data)
    return compressed[: len(compressed) * 2 // 3]
