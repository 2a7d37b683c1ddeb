"""Tables of named columns, read as a stream: CSV (plain or gzip) and Parquet share one Record
view, so the billing formats map columns without caring which container the rows came in.

A Record knows where each cell sits (file, line, column) and converts cells without ever going
through float: CSV text goes straight to Decimal; a Parquet float64 goes through repr(), whose
shortest round-trip form is the digits the provider wrote. For CSV, a record's line is the
physical line it starts on (a quoted newline makes a record span several lines); for Parquet it
is the 1-based row number.
"""

from __future__ import annotations

import ast
import csv
import json
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, BinaryIO

from .errors import ParseError
from .files import InputFile, not_utf8, open_binary, open_text
from .jsondocs import DECIMAL_DECODER, DuplicateKey
from .parsing import (
    CURRENCIES,
    DATETIMES,
    NULLS,
    Cell,
    parse_currency,
    parse_datetime,
    parse_decimal,
    plain_decimal,
)

PARQUET_MAGIC = b"PAR1"
BATCH_ROWS = 4096  # Parquet rows decoded at once: bounds memory whatever the file size


class Header:
    """Column names in file order; lookups are exact first, then case-insensitive (AWS has
    changed the case of CUR columns over the years, e.g. SavingsPlanARN / SavingsPlanArn)."""

    def __init__(self, file: str, names: list[str]) -> None:
        self.file = file
        self.names = names
        self.index: dict[str, int] = {}
        folded: dict[str, int] = {}
        for i, name in enumerate(names):
            if name in self.index and name:
                raise duplicate_column(file, name, self.index[name], i)
            self.index.setdefault(name, i)
            folded.setdefault(name.casefold(), i)
        self._folded = folded
        # Each spelling's position, resolved on first use: a Record reads ~26 cells a row.
        self.positions: dict[str | None, int | None] = {None: None}

    def find(self, name: str | None) -> int | None:
        try:
            return self.positions[name]
        except KeyError:
            pass
        found = self.index.get(name)
        if found is None:
            found = self._folded.get(name.casefold())
        self.positions[name] = found
        return found

    def has(self, name: str) -> bool:
        return self.find(name) is not None

    def first(self, *names: str) -> str | None:
        """The first of several spellings (a column renamed between versions) present here."""
        return next((n for n in names if self.has(n)), None)

    def require(self, groups: Iterable[tuple[str, ...]], expected: str) -> None:
        """Each group lists the accepted spellings of one required column."""
        missing = [group[0] for group in groups if self.first(*group) is None]
        if missing:
            raise ParseError(
                f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                file=self.file,
                line=1,
                expected=expected,
            )


def duplicate_column(file: str, name: str, first: int, again: int) -> ParseError:
    # Which of two same-named columns holds the value is a guess either way (csv.DictReader
    # takes the last, a position lookup the first): refuse the file rather than pick one. Only
    # exact repeats count: AWS tag columns may differ in case alone (user:Name, user:name),
    # and an unnamed column (a trailing comma) is never read.
    return ParseError(
        f"the column name {name!r} appears twice (columns {first + 1} and {again + 1})",
        file=file,
        line=1,
        column=name,
        expected="one column per name",
    )


class Record:
    """One row: raw values by column name, plus typed, located conversions."""

    __slots__ = ("file", "header", "line", "values")

    def __init__(self, header: Header, values: list[Any], file: str, line: int) -> None:
        self.header, self.values, self.file, self.line = header, values, file, line

    def raw(self, name: str | None) -> Any:
        """The cell's value, or None when the column is absent or the cell is a null spelling."""
        value = self._value(name)
        if isinstance(value, str) and (value in NULLS or value.strip() in NULLS):
            return None
        return value

    def _value(self, name: str | None) -> Any:
        """The cell as stored, null spellings included; None when the column is absent."""
        try:
            i = self.header.positions[name]
        except KeyError:
            i = self.header.find(name)
        if i is None or i >= len(self.values):
            return None
        return self.values[i]

    def cell(self, name: str | None) -> Cell:
        return Cell(self.file, self.line, name)

    def error(self, name: str | None, message: str, expected: str = "") -> ParseError:
        return ParseError(message, file=self.file, line=self.line, column=name, expected=expected)

    def text(self, name: str | None) -> str:
        value = self._value(name)
        if isinstance(value, str):
            value = value.strip()
            return "" if value in NULLS else value
        return "" if value is None else str(value).strip()

    # The typed readers below try the common case first and build the Cell (the error's
    # location) only when falling back to the general path, which raises the located error.

    def decimal(self, name: str | None, *, required: bool = False) -> Decimal | None:
        value = self._value(name)
        if isinstance(value, str):
            number = plain_decimal(value)
            if number is not None:
                return number
        return to_decimal(self.raw(name), self.cell(name), required=required)

    def datetime(self, name: str | None) -> datetime:
        value = self._value(name)
        if isinstance(value, str):
            known = DATETIMES.get(value)
            if known is not None:
                return known
        return to_datetime(self.raw(name), self.cell(name))

    def datetime_or_none(self, name: str | None) -> datetime | None:
        value = self.raw(name)
        if value is None:
            return None
        if isinstance(value, str):
            known = DATETIMES.get(value)
            if known is not None:
                return known
        return to_datetime(value, self.cell(name))

    def currency(self, name: str | None) -> str:
        text = self.text(name)
        code = text.upper()  # what parse_currency checks; it is only called to raise
        return code if code in CURRENCIES else parse_currency(text, self.cell(name))

    def structure(self, name: str | None) -> Any:
        """A JSON or Python-literal cell (GCP writes credits as a Python repr), or a Parquet
        map/struct/list, with numbers as Decimal."""
        value = self.raw(name)
        if value is None or not isinstance(value, str):
            return value
        try:
            return literal(value)
        except ValueError as exc:
            raise self.error(name, f"cannot read {value[:60]!r}: {exc}", "JSON") from None

    def mapping(self, name: str | None) -> dict[str, Any]:
        """A key/value cell as a dict: a JSON object, a Parquet map (list of pairs), or a
        list of {key, value} objects (GCP labels)."""
        return as_mapping(self.structure(name), self, name)


def as_mapping(value: Any, record: Record, name: str | None) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, list | tuple):
        result: dict[str, Any] = {}
        for item in value:
            if isinstance(item, Mapping) and "key" in item:
                key, item_value = str(item["key"]), item.get("value")
            elif isinstance(item, list | tuple) and len(item) == 2:
                key, item_value = str(item[0]), item[1]
            else:
                raise record.error(name, f"{item!r} is not a key/value pair", "key/value pairs")
            if key in result:
                raise record.error(name, f"the key {key!r} appears twice", "one value per key")
            result[key] = item_value
        return result
    raise record.error(name, f"{value!r} is not a set of key/value pairs", "a JSON object")


def to_decimal(value: Any, where: Cell, *, required: bool = False) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        return parse_decimal(str(value), where, required=required)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # repr is the shortest string that round-trips: the digits the provider meant.
        return parse_decimal(repr(value), where, required=required)
    return parse_decimal(value, where, required=required)


def to_datetime(value: Any, where: Cell) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return parse_datetime(None if value is None else str(value), where)


def literal(text: str) -> Any:
    """Parse JSON, or a Python literal (lists, dicts, strings, numbers, None/True/False).

    Numbers become Decimal from their source text: ast.literal_eval would go through float.
    """
    try:
        return DECIMAL_DECODER.decode(text)
    except json.JSONDecodeError:
        pass
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(exc.msg) from None
    return _literal_node(tree.body, text.strip())


_NAMES = {"None": None, "null": None, "True": True, "true": True, "False": False, "false": False}


def _literal_node(node: ast.AST, source: str) -> Any:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, int | float) and not isinstance(node.value, bool):
            return Decimal(ast.get_source_segment(source, node) or repr(node.value))
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _literal_node(node.operand, source)
        if isinstance(inner, Decimal):
            return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal_node(item, source) for item in node.elts]
    if isinstance(node, ast.Dict):
        result = {}
        for k, v in zip(node.keys, node.values, strict=True):
            if k is None:
                continue
            key = _literal_node(k, source)
            if key in result:
                raise DuplicateKey(key)
            result[key] = _literal_node(v, source)
        return result
    if isinstance(node, ast.Name) and node.id in _NAMES:
        return _NAMES[node.id]
    raise ValueError(f"unsupported expression {type(node).__name__}")


class Table:
    """A header and a one-pass stream of records."""

    def __init__(self, header: Header, records: Iterator[Record]) -> None:
        self.header = header
        self.records = records

    def __iter__(self) -> Iterator[Record]:
        return self.records


def is_parquet(file: InputFile) -> bool:
    if file.name.endswith(".parquet"):
        return True
    if file.name.endswith((".csv", ".csv.gz", ".gz")):
        return False  # spares a second read of a remote object
    with file.open_binary() as handle:
        return handle.read(4) == PARQUET_MAGIC


@contextmanager
def open_table(
    file: InputFile, *, ragged: bool = False, expected: str = "a header row, then rows"
) -> Iterator[Table]:
    """Open a CSV (.csv, .csv.gz) or Parquet file as a Table.

    Every CSV row has the header's width: a short row (a file cut mid-row, a field left out) or
    a long one is a ParseError at its line, in the first missing column or at the first extra
    field. ragged=True is for writers whose rows are all narrower than their header by the same
    trailing columns (read as null): the first row sets the width every other row must have,
    and the last row must end with a line break, so a file cut mid-row is still refused.
    An empty file (0 bytes, or a .gz of nothing) is a ParseError naming `expected`.
    """
    if is_parquet(file):
        with _parquet_table(file, expected) as table:
            yield table
    else:
        with open_text(file, expected=expected) as handle:
            yield _csv_table(file, handle, ragged=ragged)


def _csv_table(file: InputFile, handle, *, ragged: bool) -> Table:
    last_line: list[str] = [""]
    reader = csv.reader(_remembering(handle, last_line) if ragged else handle, strict=True)
    first = _guarded(reader, file, None, lambda: 1)
    if first is None:  # a BOM and nothing else
        raise ParseError("the file is empty", file=file.name, expected="a header row")
    header = Header(file.name, [name.strip() for name in first])

    def records() -> Iterator[Record]:
        width = len(header.names)
        previous: Record | None = None
        while True:
            start = reader.line_num + 1
            values = _guarded(reader, file, header, lambda start=start: start)
            if values is None:
                if ragged and previous is not None and not last_line[0].endswith(("\n", "\r")):
                    raise _unterminated(previous)
                return
            if not values:
                continue  # a blank line
            if len(values) != width:
                if not (ragged and previous is None and len(values) < width):
                    raise _misfit(header, values, width, file.name, start, previous)
                width = len(values)  # a narrow writer: every row must be this wide
            previous = Record(header, values, file.name, start)
            yield previous

    return Table(header, records())


def _remembering(lines: Iterable[str], last: list[str]) -> Iterator[str]:
    for line in lines:
        last[0] = line
        yield line


def _misfit(
    header: Header, values: list[str], width: int, file: str, line: int, previous: Record | None
) -> ParseError:
    """A row whose field count is not the file's, located to its first missing column or its
    first extra field."""
    names = header.names
    than = "the header has" if width == len(names) else "the rows before it have"
    expected = f"{width} comma-separated fields a row"
    if len(values) < width:
        column: str | int = names[len(values)] or len(values) + 1
        message = (
            f"the row has {len(values)} fields but {than} {width}: it is cut short or misses"
            f" a field from column {column} on"
        )
    else:
        column = width + 1
        message = f"the row has {len(values)} fields but {than} {width}"
    return ParseError(message, file=file, line=line, column=column, expected=expected)


def _unterminated(last: Record) -> ParseError:
    # A ragged writer ends every row with a line break (AWS does), so a last row without one
    # was cut, perhaps inside its last field, where the field count cannot tell.
    column = last.header.names[len(last.values) - 1] if last.values else None
    return ParseError(
        "the last row has no line break: the file is cut short",
        file=last.file,
        line=last.line,
        column=column,
        expected="a line break after every row",
    )


def _guarded(
    reader, file: InputFile, header: Header | None, line: Callable[[], int]
) -> list[str] | None:
    """next(reader), with csv, decoding and gzip faults located to the record's line."""
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise ParseError(
                "the row stops inside a quoted field: the file is cut short",
                file=file.name,
                line=line(),
                column=cut_field(file, header.names if header else []),
                expected='a closing " and the rest of the row',
            ) from None
        raise ParseError(f"malformed CSV ({exc})", file=file.name, line=line()) from None
    except UnicodeDecodeError:
        raise not_utf8(file) from None
    except ParseError as exc:
        if exc.line is None:  # a truncated gzip: say how far the file got
            exc.line = line()
        raise


def cut_field(file: InputFile, names: list[str], **options: bool) -> str | int | None:
    """The column of the field a CSV cut inside quotes stops in: read again leniently, the
    cut row is the last one, and its last field is the open one. Only a failing file pays."""
    last: list[str] = []
    try:
        with open_text(file) as handle:
            for last in csv.reader(handle, **options):  # noqa: B007 - the last row is wanted
                pass
    except (csv.Error, UnicodeDecodeError, ParseError):
        return None
    if not names or not last:
        return None
    index = len(last) - 1
    return names[index] if index < len(names) else index + 1


@contextmanager
def _parquet_table(file: InputFile, expected: str) -> Iterator[Table]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with _seekable(file, expected) as handle:
        try:
            parquet = pq.ParquetFile(handle)
        except (pa.ArrowInvalid, OSError) as exc:
            raise ParseError(
                f"not a readable Parquet file ({exc})", file=file.name, expected="Parquet"
            ) from None
        header = Header(file.name, list(parquet.schema_arrow.names))

        def records() -> Iterator[Record]:
            row = 0
            batches = parquet.iter_batches(batch_size=BATCH_ROWS)
            while True:
                try:
                    batch = next(batches)
                except StopIteration:
                    return
                except (pa.ArrowException, OSError) as exc:
                    raise ParseError(
                        f"the Parquet data is corrupt ({exc})", file=file.name, line=row + 1
                    ) from None
                columns = [column.to_pylist() for column in batch.columns]
                for values in zip(*columns, strict=True):
                    row += 1
                    yield Record(header, list(values), file.name, row)

        yield Table(header, records())


@contextmanager
def _seekable(file: InputFile, expected: str) -> Iterator[BinaryIO]:
    """Parquet needs random access (its footer is at the end); spool a stream if need be."""
    handle = open_binary(file, expected=expected)
    try:
        if handle.seekable():
            yield handle
            return
        with tempfile.SpooledTemporaryFile(max_size=64 << 20) as spool:
            shutil.copyfileobj(handle, spool, 1 << 20)
            spool.seek(0)
            yield spool
    finally:
        handle.close()
