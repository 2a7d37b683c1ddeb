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
from .files import InputFile, open_binary, open_text
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
                result[str(item["key"])] = item.get("value")
            elif isinstance(item, list | tuple) and len(item) == 2:
                result[str(item[0])] = item[1]
            else:
                raise record.error(name, f"{item!r} is not a key/value pair", "key/value pairs")
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
        return json.loads(text, parse_float=Decimal, parse_int=Decimal)
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
        return {
            _literal_node(k, source): _literal_node(v, source)
            for k, v in zip(node.keys, node.values, strict=True)
            if k is not None
        }
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
def open_table(file: InputFile, *, ragged: bool = False) -> Iterator[Table]:
    """Open a CSV (.csv, .csv.gz) or Parquet file as a Table.

    ragged=True accepts rows shorter than the header (missing trailing cells read as null);
    otherwise a row whose field count differs from the header is an error, which is also how
    a plain-text file cut mid-row is caught.
    """
    if is_parquet(file):
        with _parquet_table(file) as table:
            yield table
    else:
        with open_text(file) as handle:
            yield _csv_table(file, handle, ragged=ragged)


def _csv_table(file: InputFile, handle, *, ragged: bool) -> Table:
    reader = csv.reader(handle, strict=True)
    first = _guarded(reader, file.name, lambda: 1)
    if first is None:
        raise ParseError("the file is empty", file=file.name, line=1, expected="a header row")
    header = Header(file.name, [name.strip() for name in first])

    def records() -> Iterator[Record]:
        width = len(header.names)
        while True:
            start = reader.line_num + 1
            values = _guarded(reader, file.name, lambda start=start: start)
            if values is None:
                return
            if not values:
                continue  # a blank line
            if len(values) != width and not (ragged and len(values) < width):
                raise ParseError(
                    f"the row has {len(values)} fields but the header has {width}",
                    file=file.name,
                    line=start,
                    expected=f"{width} comma-separated fields",
                )
            yield Record(header, values, file.name, start)

    return Table(header, records())


def _guarded(reader, name: str, line: Callable[[], int]) -> list[str] | None:
    """next(reader), with csv, decoding and gzip faults located to the record's line."""
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        raise ParseError(f"malformed CSV ({exc})", file=name, line=line()) from None
    except UnicodeDecodeError as exc:
        raise ParseError(f"not valid UTF-8 ({exc.reason})", file=name, line=line()) from None
    except ParseError as exc:
        if exc.line is None:  # a truncated gzip: say how far the file got
            exc.line = line()
        raise


@contextmanager
def _parquet_table(file: InputFile) -> Iterator[Table]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with _seekable(file) as handle:
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
def _seekable(file: InputFile) -> Iterator[BinaryIO]:
    """Parquet needs random access (its footer is at the end); spool a stream if need be."""
    handle = open_binary(file)
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
