"""JSON documents out of a file, however the tool wrote them, each with the line it starts on.

Accepted layouts: JSON Lines (one document a line, as the OTel file exporter and most log
shippers write; streamed, so memory stays flat), one document (possibly pretty-printed), several
documents one after another, or a top-level JSON array whose elements are the documents. Only
the last three are read whole, since a single JSON value cannot be streamed without a parser
we do not ship. Shared by the OTLP, LiteLLM, Langfuse and Prometheus API readers.

One key per name: json.loads keeps the last of two equal keys (a request tagged team "search"
then "ads" would be charged to ads), so every reader here refuses a repeated key instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from .errors import ParseError
from .files import EMPTY_EXPECTED, InputFile, numbered_lines

WHITESPACE = " \t\r\n"


class DuplicateKey(ValueError):
    """A JSON object (or Python dict literal) names one key twice."""

    def __init__(self, key: object) -> None:
        self.key = str(key)
        super().__init__(f"the key {self.key!r} appears twice in one object")


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return found


# The check costs little: the C scanner hands each object's pairs to _unique, whose dict() and
# len() are C calls too. Measured on a flat request record, decoding takes ~10-25% longer than
# without it, about 1% of a JSON Lines ingest (bench/ingest.py); cleverer pre-checks (counting
# '":' in the text) cost more than that in Python.
DECODER = json.JSONDecoder(object_pairs_hook=_unique)
DECIMAL_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique, parse_float=Decimal, parse_int=Decimal
)
loads = DECODER.decode  # json.loads, refusing a repeated key (DuplicateKey, a ValueError)


def documents(
    file: InputFile, *, expected: str, decoder: json.JSONDecoder = DECODER
) -> Iterator[tuple[int, object]]:
    """(line, document) pairs; malformed JSON or a repeated key is a ParseError with its line
    and column (a repeated key's column is the key); an empty file is one too. DECIMAL_DECODER
    as `decoder` keeps every number exact (money written as a JSON number)."""
    lines = numbered_lines(file, expected=expected or EMPTY_EXPECTED)
    head: list[str] = []
    for line_no, line in lines:
        head.append(line)
        if not line.strip():
            continue
        if not line.lstrip().startswith("["):
            try:
                first = decoder.decode(line)
            except json.JSONDecodeError:
                break  # a document spread over lines: read it whole below
            except DuplicateKey as exc:
                raise duplicate_key(exc, file.name, line_no, expected) from None
            yield line_no, first
            yield from _json_lines(lines, file.name, expected, decoder)
            return
        break
    else:
        return  # nothing but blank lines
    text = "".join(head) + "".join(line for _, line in lines)
    yield from _whole(text, file.name, expected, decoder)


def _json_lines(
    lines, name: str, expected: str, decoder: json.JSONDecoder = DECODER
) -> Iterator[tuple[int, object]]:
    for line_no, line in lines:
        if not line.strip():
            continue
        try:
            yield line_no, decoder.decode(line)
        except DuplicateKey as exc:
            raise duplicate_key(exc, name, line_no, f"one {expected} per line") from None
        except json.JSONDecodeError as exc:
            raise ParseError(
                f"invalid JSON ({exc.msg})",
                file=name,
                line=line_no,
                column=exc.colno,
                expected=f"one {expected} per line",
            ) from None


def _whole(
    text: str, name: str, expected: str, decoder: json.JSONDecoder = DECODER
) -> Iterator[tuple[int, object]]:
    lines = _LineCounter(text)
    pos = _skip(text, 0)
    if text.startswith("[", pos):
        pos = _skip(text, pos + 1)
        if text.startswith("]", pos):
            pos = pos + 1
        else:
            while True:
                value, end = _decode(text, pos, name, expected, decoder)
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
        value, end = _decode(text, pos, name, expected, decoder)
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


def _decode(
    text: str, pos: int, name: str, expected: str, decoder: json.JSONDecoder = DECODER
) -> tuple[object, int]:
    try:
        value, end = decoder.raw_decode(text, pos)
    except DuplicateKey as exc:
        # The document's first line: the decoder does not say where inside it the key was.
        line = text.count("\n", 0, pos) + 1
        raise duplicate_key(exc, name, line, expected) from None
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


def duplicate_key(exc: DuplicateKey, file: str, line: int, expected: str = "") -> ParseError:
    return ParseError(
        str(exc),
        file=file,
        line=line,
        column=exc.key,
        expected=f"one value per key{f' in {expected}' if expected else ''}",
    )
