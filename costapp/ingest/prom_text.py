"""A small, strict parser of the Prometheus text exposition format (version 0.0.4).

Yields one `Sample(line_no, name, labels, value, timestamp)` per sample line; `# HELP` and
`# TYPE` comments are checked (known type, one TYPE per metric, before its samples) and other
comments are handed to an optional callback, which is how costapp.ingest.dcgm reads its
`# SCRAPE_TIME` convention. Anything malformed is a ParseError naming the line and the 1-based
column where reading stopped. Values are Decimals (NaN and +/-Inf allowed, as the format allows);
the optional timestamp is an int of milliseconds since the epoch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import NamedTuple

from .errors import ParseError

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# Go's ParseFloat syntax as Prometheus writes it; Decimal alone would also take "1_000" or "sNaN".
FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Inf|inf)|NaN|nan")
TIMESTAMP = re.compile(r"-?\d+")
BLANKS = re.compile(r"[ \t]*")
TYPES = frozenset({"counter", "gauge", "histogram", "summary", "untyped"})
LABEL_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


class Sample(NamedTuple):
    line_no: int
    name: str
    labels: dict[str, str]
    value: Decimal
    timestamp: int | None  # milliseconds since the epoch, when the exposition gives one


def parse(
    lines: Iterable[tuple[int, str]],
    file: str,
    *,
    on_comment: Callable[[int, str], None] | None = None,
) -> Iterator[Sample]:
    """Samples from numbered lines (as costapp.ingest.files.numbered_lines gives them)."""
    reader = _Reader(file, on_comment)
    for line_no, raw in lines:
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        if line.lstrip(" \t").startswith("#"):
            reader.comment(line_no, line)
            continue
        yield reader.sample(line_no, line)


class _Reader:
    def __init__(self, file: str, on_comment: Callable[[int, str], None] | None) -> None:
        self.file = file
        self.on_comment = on_comment
        self.typed: set[str] = set()
        self.sampled: set[str] = set()

    def error(self, message: str, line_no: int, pos: int, expected: str = "") -> ParseError:
        return ParseError(message, file=self.file, line=line_no, column=pos + 1, expected=expected)

    def comment(self, line_no: int, line: str) -> None:
        body = line.lstrip(" \t")[1:].lstrip(" \t")
        keyword, _, rest = body.partition(" ")
        if keyword not in ("HELP", "TYPE"):
            if self.on_comment is not None:
                self.on_comment(line_no, body)
            return
        name, _, text = rest.strip(" \t").partition(" ")
        start = line.index(keyword) + len(keyword) + 1
        if not METRIC_NAME.fullmatch(name):
            raise self.error(f"{name!r} is not a metric name", line_no, start, "a metric name")
        if keyword == "TYPE":
            kind = text.strip(" \t")
            if kind not in TYPES:
                raise self.error(
                    f"unknown metric type {kind!r}",
                    line_no,
                    start + len(name) + 1,
                    "counter, gauge, histogram, summary or untyped",
                )
            if name in self.typed:
                raise self.error(f"a second TYPE line for {name}", line_no, start)
            if name in self.sampled:
                raise self.error(
                    f"TYPE for {name} comes after its samples", line_no, start, "TYPE first"
                )
            self.typed.add(name)

    def sample(self, line_no: int, line: str) -> Sample:
        pos = BLANKS.match(line).end()
        match = METRIC_NAME.match(line, pos)
        if not match:
            raise self.error("a sample line must start with a metric name", line_no, pos)
        name, pos = match.group(), match.end()
        labels: dict[str, str] = {}
        brace = BLANKS.match(line, pos).end()
        if brace < len(line) and line[brace] == "{":
            labels, pos = self.labels(line_no, line, brace + 1)
        after = BLANKS.match(line, pos).end()
        if after == pos:
            raise self.error("expected a space before the value", line_no, pos, "a space")
        match = FLOAT.match(line, after)
        if not match or (match.end() < len(line) and line[match.end()] not in " \t"):
            raise self.error("the value is not a number", line_no, after, "a float, NaN or +Inf")
        value = Decimal(match.group())
        pos = BLANKS.match(line, match.end()).end()
        timestamp = None
        if pos < len(line):
            match = TIMESTAMP.match(line, pos)
            if not match or (match.end() < len(line) and line[match.end()] not in " \t"):
                raise self.error(
                    "the timestamp is not a whole number", line_no, pos, "milliseconds"
                )
            timestamp = int(match.group())
            pos = BLANKS.match(line, match.end()).end()
            if pos < len(line):
                raise self.error("unexpected text after the timestamp", line_no, pos)
        self.sampled.add(name)
        return Sample(line_no, name, labels, value, timestamp)

    def labels(self, line_no: int, line: str, pos: int) -> tuple[dict[str, str], int]:
        labels: dict[str, str] = {}
        while True:
            pos = BLANKS.match(line, pos).end()
            if pos < len(line) and line[pos] == "}":
                return labels, pos + 1
            match = LABEL_NAME.match(line, pos)
            if not match:
                raise self.error("expected a label name or '}'", line_no, pos, "a label name")
            key, pos = match.group(), BLANKS.match(line, match.end()).end()
            if key in labels:
                raise self.error(f"label {key} appears twice", line_no, match.start())
            if line[pos : pos + 1] != "=":
                raise self.error(f"expected '=' after label {key}", line_no, pos, "'='")
            pos = BLANKS.match(line, pos + 1).end()
            if line[pos : pos + 1] != '"':
                raise self.error(f"expected a quoted value for label {key}", line_no, pos, '"')
            labels[key], pos = self.quoted(line_no, line, pos + 1)
            pos = BLANKS.match(line, pos).end()
            if line[pos : pos + 1] == ",":
                pos += 1
            elif line[pos : pos + 1] != "}":
                raise self.error("expected ',' or '}' after a label", line_no, pos, "',' or '}'")

    def quoted(self, line_no: int, line: str, pos: int) -> tuple[str, int]:
        out: list[str] = []
        while pos < len(line):
            char = line[pos]
            if char == '"':
                return "".join(out), pos + 1
            if char == "\\":
                escaped = LABEL_ESCAPES.get(line[pos + 1 : pos + 2])
                if escaped is None:
                    raise self.error(
                        "unknown escape in a label value", line_no, pos, '\\\\, \\" or \\n'
                    )
                out.append(escaped)
                pos += 2
                continue
            out.append(char)
            pos += 1
        raise self.error("the label value is not closed", line_no, pos, 'a closing "')
