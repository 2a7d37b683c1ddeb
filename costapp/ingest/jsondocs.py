"""JSON documents out of a file, however the tool wrote them, each with the line it starts on.

Accepted layouts: JSON Lines (one document a line, as the OTel file exporter and most log
shippers write; streamed, so memory stays flat), one document (possibly pretty-printed), several
documents one after another, or a top-level JSON array whose elements are the documents. Only
the last three are read whole, since a single JSON value cannot be streamed without a parser
we do not ship. Shared by the OTLP, LiteLLM and Prometheus API readers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from .errors import ParseError
from .files import InputFile, numbered_lines

DECODER = json.JSONDecoder()
WHITESPACE = " \t\r\n"


def documents(file: InputFile, *, expected: str) -> Iterator[tuple[int, object]]:
    """(line, document) pairs; malformed JSON is a ParseError with its line and column."""
    lines = numbered_lines(file)
    head: list[str] = []
    for line_no, line in lines:
        head.append(line)
        if not line.strip():
            continue
        if not line.lstrip().startswith("["):
            try:
                first = json.loads(line)
            except json.JSONDecodeError:
                break  # a document spread over lines: read it whole below
            yield line_no, first
            yield from _json_lines(lines, file.name, expected)
            return
        break
    else:
        return  # empty file
    text = "".join(head) + "".join(line for _, line in lines)
    yield from _whole(text, file.name, expected)


def _json_lines(lines, name: str, expected: str) -> Iterator[tuple[int, object]]:
    for line_no, line in lines:
        if not line.strip():
            continue
        try:
            yield line_no, json.loads(line)
        except json.JSONDecodeError as exc:
            raise ParseError(
                f"invalid JSON ({exc.msg})",
                file=name,
                line=line_no,
                column=exc.colno,
                expected=f"one {expected} per line",
            ) from None


def _whole(text: str, name: str, expected: str) -> Iterator[tuple[int, object]]:
    lines = _LineCounter(text)
    pos = _skip(text, 0)
    if text.startswith("[", pos):
        pos = _skip(text, pos + 1)
        if text.startswith("]", pos):
            pos = pos + 1
        else:
            while True:
                value, end = _decode(text, pos, name, expected)
                yield lines.at(pos), value
                pos = _skip(text, end)
                if text.startswith(",", pos):
                    pos = _skip(text, pos + 1)
                    continue
                if not text.startswith("]", pos):
                    raise _error(text, pos, name, "expected ',' or ']'", expected)
                pos += 1
                break
        if _skip(text, pos) < len(text):
            raise _error(text, _skip(text, pos), name, "text after the JSON array", expected)
        return
    while pos < len(text):
        value, end = _decode(text, pos, name, expected)
        yield lines.at(pos), value
        pos = _skip(text, end)


class _LineCounter:
    """Line numbers of increasing offsets, counting each stretch of text once."""

    def __init__(self, text: str) -> None:
        self.text, self.pos, self.line = text, 0, 1

    def at(self, pos: int) -> int:
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def _decode(text: str, pos: int, name: str, expected: str) -> tuple[object, int]:
    try:
        value, end = DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"invalid JSON ({exc.msg})",
            file=name,
            line=exc.lineno,
            column=exc.colno,
            expected=expected,
        ) from None
    return value, end


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in WHITESPACE:
        pos += 1
    return pos


def _error(text: str, pos: int, name: str, message: str, expected: str) -> ParseError:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return ParseError(message, file=name, line=line, column=column, expected=expected)
