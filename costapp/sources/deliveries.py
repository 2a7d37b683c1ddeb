"""What a source hands the ingestion service: deliveries, and the watermark that finds new ones.

A delivery is what one ingest() call sees: one file, the files of one export manifest, or
every file of one billing folder. Billing deliveries must hold whole billing periods, because
storing one replaces that period's earlier rows; so for billing formats a new file brings its
whole folder along (see `plan`). The watermark is the newest (time, key) a source has handled,
so a poll lists only what arrived since.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Generic, TypeVar

from costapp.ingest.errors import IngestError
from costapp.ingest.files import InputFile

T = TypeVar("T")


@dataclass(frozen=True)
class Delivery:
    """One unit of ingestion, and the source state to keep once it has been handled."""

    files: list[InputFile]
    location: str
    state: dict | None = None  # the Source.state to save after this delivery
    parse: Callable[[InputFile], Iterable] | None = None  # rows handed over, not parsed
    failure: IngestError | None = None  # a permanent fault found before ingestion


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A listed object: its time (an integer: microseconds or nanoseconds), key and payload.

    `version` (an ETag) tells apart two writes of one key within the store's clock resolution.
    """

    at: int
    key: str
    item: T
    version: str = ""

    @property
    def identity(self) -> str:
        return f"{self.key}#{self.version}" if self.version else self.key

    @property
    def folder(self) -> str:
        return str(PurePosixPath(self.key).parent)


@dataclass
class Watermark:
    """The newest time handled, and the keys handled at exactly that time (clocks tie)."""

    at: int = -1
    keys: set[str] = field(default_factory=set)

    @classmethod
    def from_state(cls, state: dict) -> Watermark:
        mark = state.get("watermark") or {}
        return cls(at=int(mark.get("at", -1)), keys=set(mark.get("keys", [])))

    def is_new(self, entry: Entry) -> bool:
        return entry.at > self.at or (entry.at == self.at and entry.identity not in self.keys)

    def advance(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            if entry.at > self.at:
                self.at, self.keys = entry.at, {entry.identity}
            elif entry.at == self.at:
                self.keys.add(entry.identity)

    def state(self, base: dict) -> dict:
        return {**base, "watermark": {"at": self.at, "keys": sorted(self.keys)}}


def plan(
    entries: Sequence[Entry[T]], watermark: Watermark, *, by_folder: bool
) -> list[tuple[list[Entry[T]], list[Entry[T]]]]:
    """Group new entries into deliveries: [(members, new entries)], oldest news first.

    by_folder: a new entry brings every entry of its folder, so a billing period split into
    parts is always stored whole. Groups go in order of their newest new entry, so a poll cut
    short by a fault leaves the watermark where every unhandled group is still "new".
    """
    new = [e for e in entries if watermark.is_new(e)]
    if not by_folder:
        return [([e], [e]) for e in sorted(new, key=lambda e: (e.at, e.key))]
    folders: dict[str, list[Entry[T]]] = {}
    for entry in entries:
        folders.setdefault(entry.folder, []).append(entry)
    news: dict[str, list[Entry[T]]] = {}
    for entry in new:
        news.setdefault(entry.folder, []).append(entry)
    groups = [(sorted(folders[name], key=lambda e: e.key), fresh) for name, fresh in news.items()]
    return sorted(groups, key=lambda g: max((e.at, e.key) for e in g[1]))
