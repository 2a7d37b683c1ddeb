"""Input files, wherever they come from: a name, a way to open the bytes, and a fingerprint."""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TextIO

from .errors import ParseError


@dataclass(frozen=True)
class InputFile:
    name: str
    opener: Callable[[], BinaryIO]
    size: int | None = None
    # A cheap identity when the store gives one (an S3 ETag); else the content is hashed.
    etag: str = ""
    # When the bytes were last written (file mtime, S3 LastModified), if the store says; a
    # scrape without timestamps of its own falls back to it (see costapp.ingest.dcgm).
    modified: datetime | None = None

    def open_binary(self) -> BinaryIO:
        return self.opener()

    def fingerprint(self) -> str:
        if self.etag:
            return f"etag:{self.etag}:{self.size}"
        digest = hashlib.sha256()
        with self.opener() as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()

    @classmethod
    def from_path(cls, path: str | Path) -> InputFile:
        path = Path(path)
        stat = path.stat()
        return cls(
            name=str(path),
            opener=lambda: path.open("rb"),
            size=stat.st_size,
            modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
        )

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> InputFile:
        return cls(name=name, opener=lambda: io.BytesIO(data), size=len(data))


def local_files(path: str | Path, suffixes: tuple[str, ...] = ()) -> list[InputFile]:
    """A file, or every file below a folder (sorted, so runs are repeatable)."""
    path = Path(path)
    if path.is_file():
        return [InputFile.from_path(path)]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such file or folder")
    found = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    if suffixes:
        found = [p for p in found if p.name.endswith(suffixes)]
    return [InputFile.from_path(p) for p in found]


class _CheckedGzip(io.RawIOBase):
    """Decompresses, turning a truncated or corrupt gzip into a ParseError naming the file."""

    def __init__(self, raw: BinaryIO, name: str) -> None:
        self._gz = gzip.GzipFile(fileobj=raw, mode="rb")
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._gz.read(len(buffer))
        except (EOFError, OSError, zlib.error) as exc:
            raise ParseError(
                f"the gzip stream is truncated or corrupt ({exc})", file=self._name
            ) from exc
        buffer[: len(data)] = data
        return len(data)


def open_binary(file: InputFile) -> BinaryIO:
    """Open the file's bytes, decompressing .gz (by name or magic bytes)."""
    raw = file.open_binary()
    head = raw.read(2) if raw.seekable() else b""
    if raw.seekable():
        raw.seek(0)
    if file.name.endswith(".gz") or head == b"\x1f\x8b":
        return io.BufferedReader(_CheckedGzip(raw, file.name), buffer_size=1 << 20)
    return raw


def open_text(file: InputFile) -> TextIO:
    """Open as UTF-8 text (a leading BOM is dropped; Azure exports carry one)."""
    return io.TextIOWrapper(open_binary(file), encoding="utf-8-sig", newline="")


def numbered_lines(file: InputFile) -> Iterator[tuple[int, str]]:
    """Lines with 1-based numbers; undecodable bytes become a ParseError with the line."""
    with open_text(file) as handle:
        line_no = 0
        try:
            for line_no, line in enumerate(handle, start=1):
                yield line_no, line
        except UnicodeDecodeError as exc:
            raise ParseError(
                f"not valid UTF-8 ({exc.reason})", file=file.name, line=line_no + 1
            ) from exc
