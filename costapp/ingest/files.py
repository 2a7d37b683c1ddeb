"""Input files, wherever they come from: a name, a way to open the bytes, and a fingerprint."""

from __future__ import annotations

import codecs
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


# Why an empty file is an error in every format: a 0-byte delivery (or a .gz holding nothing) is
# almost always a failed transfer, while a source with nothing new delivers no file at all.
# Succeeding on it would show the failure as a fresh delivery that happened to hold nothing.
EMPTY_EXPECTED = "at least one record"


def open_binary(file: InputFile, *, expected: str = EMPTY_EXPECTED) -> BinaryIO:
    """Open the file's bytes, decompressing .gz (by name or magic bytes).

    An empty file, or a .gz that decompresses to nothing, is a ParseError naming the file and
    `expected`, what its format should have held.
    """
    raw = file.open_binary()
    head = raw.read(2) if raw.seekable() else b""
    if raw.seekable():
        raw.seek(0)
    if file.name.endswith(".gz") or head == b"\x1f\x8b":
        handle: BinaryIO = io.BufferedReader(_CheckedGzip(raw, file.name), buffer_size=1 << 20)
    elif hasattr(raw, "peek"):
        handle = raw
    elif raw.seekable():
        if not head:
            raw.close()
            raise empty_file(file, expected)
        return raw
    else:
        handle = io.BufferedReader(raw, buffer_size=1 << 20)
    try:
        if not handle.peek(1):
            raise empty_file(file, expected)
    except BaseException:
        handle.close()
        raise
    return handle


def empty_file(file: InputFile, expected: str) -> ParseError:
    return ParseError("the file is empty", file=file.name, expected=expected)


def open_text(file: InputFile, *, expected: str = EMPTY_EXPECTED) -> TextIO:
    """Open as UTF-8 text (a leading BOM is dropped; Azure exports carry one)."""
    handle = open_binary(file, expected=expected)
    return io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")


def numbered_lines(file: InputFile, *, expected: str = EMPTY_EXPECTED) -> Iterator[tuple[int, str]]:
    """Lines with 1-based numbers; undecodable bytes become a ParseError at their line."""
    with open_text(file, expected=expected) as handle:
        try:
            yield from enumerate(handle, start=1)
        except UnicodeDecodeError:
            raise not_utf8(file) from None


TEXT_CHUNK = 1 << 16  # characters per text_chunks piece, before it is completed to a line end


def text_chunks(file: InputFile, *, expected: str = EMPTY_EXPECTED) -> Iterator[str]:
    """The text in pieces of whole lines, for a reader that splits lines itself (in C, a piece
    at a time): each piece ends where a line of numbered_lines does (after "\\n", "\\r" or
    "\\r\\n"), or at the end of the file. Undecodable bytes are numbered_lines' ParseError,
    raised when their piece is read (up to a piece ahead of the lines handed out)."""
    with open_text(file, expected=expected) as handle:
        try:
            while chunk := handle.read(TEXT_CHUNK):
                if chunk[-1] != "\n":
                    # A "\r" last may be the first half of "\r\n": the next line completes it.
                    chunk += handle.readline()
                yield chunk
        except UnicodeDecodeError:
            raise not_utf8(file) from None


def not_utf8(file: InputFile) -> ParseError:
    """The ParseError for a file that is not UTF-8, at its first bad byte's line and column.

    Readers decode ahead of the line they hand out (a TextIOWrapper decodes 8 KB at a time), so
    their UnicodeDecodeError tells nothing of the line: the file is read again, as bytes, to
    find it. Only a failing file pays for the second read.
    """
    line, column, reason = _first_bad_byte(file)
    return ParseError(
        f"not valid UTF-8 ({reason})", file=file.name, line=line, column=column, expected="UTF-8"
    )


def _first_bad_byte(file: InputFile) -> tuple[int | None, int | None, str]:
    line, current, pending = 1, b"", b""  # current: the bytes of the line read so far
    with open_binary(file) as handle:
        while True:
            chunk = handle.read(1 << 20)
            data, pending = pending + chunk, b""
            if not data:
                return None, None, "undecodable bytes"  # not found again: say what we know
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                if not (chunk and exc.reason == "unexpected end of data"):
                    return _located(data, exc, line, current)
                # A character split across two chunks: decided with the next one.
                data, pending = data[: exc.start], data[exc.start :]
            newlines = data.count(b"\n")
            line += newlines
            current = data[data.rfind(b"\n") + 1 :] if newlines else current + data


def _located(
    data: bytes, exc: UnicodeDecodeError, line: int, current: bytes
) -> tuple[int, int, str]:
    bad = exc.start
    newlines = data.count(b"\n", 0, bad)
    line += newlines
    prefix = data[data.rfind(b"\n", 0, bad) + 1 : bad] if newlines else current + data[:bad]
    if line == 1 and prefix.startswith(codecs.BOM_UTF8):
        prefix = prefix[3:]  # dropped by the reader: not a character of the line
    column = len(prefix.decode("utf-8", "replace")) + 1
    return line, column, f"byte 0x{data[bad]:02x}: {exc.reason}"
