"""A local folder source: files that appeared or changed since the last poll are deliveries.

Options: `suffixes` (e.g. [".csv", ".csv.gz"]) to pick files, `group` ("file" or "folder";
billing formats default to "folder" so a month split into parts is stored whole). A file the
ingestion rejects is not retried until it changes: its modification time is the watermark.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from costapp.ingest.errors import IngestError
from costapp.ingest.files import InputFile
from costapp.ingest.formats import get_format

from .deliveries import Delivery, Entry, Watermark, plan


def by_folder(source) -> bool:
    """Billing deliveries replace whole periods, so by default they take their whole folder."""
    default = "folder" if get_format(source.format).KIND == "billing" else "file"
    return source.options.get("group", default) == "folder"


def list_entries(root: Path, suffixes: tuple[str, ...]) -> list[Entry[Path]]:
    if not root.is_dir():
        raise IngestError(f"{root}: no such folder")
    entries = []
    for path in root.rglob("*"):
        # Dot-files are editors' and sync tools' temporaries, never deliveries.
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if suffixes and not path.name.endswith(suffixes):
            continue
        key = path.relative_to(root).as_posix()
        entries.append(Entry(at=path.stat().st_mtime_ns, key=key, item=path))
    return entries


def deliveries(source) -> Iterator[Delivery]:
    root = Path(source.location).expanduser()
    watermark = Watermark.from_state(source.state)
    suffixes = tuple(source.options.get("suffixes", ()))
    for members, fresh in plan(
        list_entries(root, suffixes), watermark, by_folder=by_folder(source)
    ):
        watermark.advance(fresh)
        location = str(members[0].item) if len(members) == 1 else str(members[0].item.parent)
        yield Delivery(
            files=[InputFile.from_path(e.item) for e in members],
            location=location,
            state=watermark.state(source.state),
        )
