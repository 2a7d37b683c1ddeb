"""A small, strict parser of the Prometheus text exposition format (version 0.0.4).

Yields one `Sample(line_no, name, labels, value, timestamp)` per sample line; `# HELP` and
`# TYPE` comments are checked (known type, one TYPE per metric, before its samples) and other
comments are handed to an optional callback, which is how costapp.ingest.dcgm reads its
`# SCRAPE_TIME` convention. Anything malformed is a ParseError naming the line and the 1-based
column where reading stopped. Values are Decimals (NaN and +/-Inf allowed, as the format allows);
the optional timestamp is an int of milliseconds since the epoch.

Speed: `scan` is what the telemetry readers use. A scrape repeats each series' label block on
every scrape and most values too, so a line of the usual shape (`name{labels} value [ms]`,
single spaces) is cut with str.rpartition / str.find, and its `name{labels}` start is parsed
once and then looked up by its text. Any other line - and any line the short cut is unsure of - goes through the strict
reader below, which decides what it holds or where it is wrong; both give the same samples.
"""

from __future__ import annotations

import io
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
    for line_no, (name, _, labels), value, timestamp in scan(lines, file, on_comment=on_comment):
        yield Sample(line_no, name, dict(labels), Decimal(value), timestamp)


# Bounds on the look-up tables of scan: a scrape has a few hundred series and a few thousand
# distinct values; a table that fills up is emptied, so memory stays flat on any input.
LABEL_BLOCKS_HELD = 4096
VALUES_HELD = 65536


def _as_is(name: str, block: str, labels: dict[str, str]) -> tuple[str, str, dict[str, str]]:
    return name, block, labels


def scan(
    lines: Iterable[tuple[int, str]],
    file: str,
    *,
    on_comment: Callable[[int, str], None] | None = None,
    derive: Callable[[str, str, dict[str, str]], object] = _as_is,
) -> Iterator[tuple[int, object, str, int | None]]:
    """(line_no, head, value text, timestamp) per sample line, where head is what
    `derive(name, label block, labels)` makes of the line's start (by default that triple).

    A head is derived once per distinct line start and reused for every line that starts
    alike (a scrape repeats each series on every scrape), so the caller can hang on it what it
    works out from the labels. The label block is the text from `{` to `}` ("" without
    labels): equal blocks give equal labels. The labels dict is shared between the samples
    of one block: read it, never change it. The value text is one the format allows (FLOAT),
    for the caller to convert as it needs."""
    scanner = Scanner(file, on_comment, derive)
    heads, values, read = scanner.heads, scanner.values, scanner.read
    for line_no, raw in lines:
        line = raw.rstrip("\r\n")
        # The commonest line of all: a known start, one space, a value seen before. (A start is
        # only known once the strict reader accepted it, which no comment or blank line is.)
        head, _, value = line.rpartition(" ")
        known = heads.get(head)
        if known is not None and value in values:
            yield line_no, known, value, None
            continue
        if sample := read(line_no, line):
            yield sample


def numbered_pieces(chunks: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """The lines of text in pieces of whole lines (files.text_chunks), a list of them at a
    time with the number of its first: (first line number, lines without their line ends),
    numbered and split as files.numbered_lines splits them. Splitting a piece with str.split
    spares a generator step per line."""
    line_no = 1
    for chunk in chunks:
        if "\r" in chunk:  # "\r" ends a line too: split as the file reader does
            lines = [line.rstrip("\r\n") for line in io.StringIO(chunk, newline="")]
        else:
            lines = chunk.split("\n")
            if chunk[-1] == "\n":
                lines.pop()
        yield line_no, lines
        line_no += len(lines)


class Scanner:
    """What scan knows (`heads`: derived heads by line start; `values`: value texts FLOAT
    accepted) and its reading of a line, for a caller with a loop of its own (dcgm.parse):
    a line `head value` whose head is in `heads` and value in `values` is a sample of that
    head and value, no timestamp; `read` takes any line and gives what scan would yield for it.
    """

    def __init__(
        self,
        file: str,
        on_comment: Callable[[int, str], None] | None = None,
        derive: Callable[[str, str, dict[str, str]], object] = _as_is,
    ) -> None:
        self.reader = _Reader(file, on_comment)
        self.derive = derive
        # "name{labels}" -> derived head, for line starts the strict reader accepted; both
        # tables are emptied in place when full (callers hold them).
        self.heads: dict[str, object] = {}
        self.values: set[str] = set()

    def read(self, line_no: int, line: str) -> tuple[int, object, str, int | None] | None:
        """The sample of a line (its line end stripped) as scan yields it; None for a blank
        line or a comment (handed on); a ParseError where the line is wrong."""
        reader, derive, heads, values = self.reader, self.derive, self.heads, self.values
        if line[:1] in _BLANK_COMMENT_OR_NOTHING:
            return reader.line(line_no, line, derive)
        # The usual shape: name{labels} value [timestamp], one space apart.
        close = line.rfind("}") + 1 or line.find(" ")
        if close <= 0:
            close = len(line)
        known = heads.get(line[:close])
        if known is None:
            parts = reader.head(line[:close])
            if parts is None:
                return reader.line(line_no, line, derive)
            if len(heads) >= LABEL_BLOCKS_HELD:
                heads.clear()
            known = heads[line[:close]] = derive(*parts)
        rest = line[close:]
        space = rest.find(" ", 1)
        if space < 0:
            value, timestamp = rest[1:], None
        else:
            value, stamp = rest[1:space], rest[space + 1 :]
            timestamp = int(stamp) if TIMESTAMP.fullmatch(stamp) else _BAD
        if (
            rest[:1] != " "
            or timestamp is _BAD
            or (value not in values and not FLOAT.fullmatch(value))
        ):
            return reader.line(line_no, line, derive)
        if value not in values:
            if len(values) >= VALUES_HELD:
                values.clear()
            values.add(value)
        return line_no, known, value, timestamp


_BAD = object()
_BLANK_COMMENT_OR_NOTHING = frozenset({"", " ", "\t", "#"})


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

    def head(self, head: str) -> tuple[str, str, dict[str, str]] | None:
        """(name, label block, labels) of a sample line's start `name{labels}` (or `name`),
        or None when it does not read as exactly that (the caller then reads the whole line
        strictly, for its error). Noting the name as sampled keeps TYPE's order check."""
        brace = head.find("{")
        name, block = (head, "") if brace < 0 else (head[:brace], head[brace:])
        if not METRIC_NAME.fullmatch(name):
            return None
        labels: dict[str, str] = {}
        if block:
            try:
                labels, end = self.labels(0, block, 1)
            except ParseError:
                return None
            if end != len(block):
                return None
        self.sampled.add(name)
        return name, block, labels

    def line(self, line_no: int, line: str, derive: Callable) -> tuple | None:
        """A line read strictly: None for a blank line or a comment (handled), else its sample
        as scan yields it, or the ParseError locating what is wrong. Its label block is written
        the one way a block reads as these labels."""
        if not line.strip():
            return None
        if line.lstrip(" \t").startswith("#"):
            self.comment(line_no, line)
            return None
        name, labels, value, timestamp = self.sample(line_no, line)
        block = "{" + ",".join(f'{k}="{_escaped(v)}"' for k, v in labels.items()) + "}"
        return line_no, derive(name, block if labels else "", labels), value, timestamp

    def sample(self, line_no: int, line: str) -> tuple[str, dict[str, str], str, int | None]:
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
        value = match.group()
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
        return name, labels, value, timestamp

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


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
