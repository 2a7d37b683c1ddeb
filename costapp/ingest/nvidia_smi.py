"""GPU telemetry from `nvidia-smi --query-gpu=... --format=csv` logs, one row per GPU per line.

Any subset of fields in any order, with or without units: the header may say `memory.used [MiB]`
(and values `575 MiB`, or bare `575` with `--format=csv,nounits`). Values nvidia-smi puts in
brackets (`[N/A]`, `[Not Supported]`, `[Requested functionality has been deprecated]`) are null.
Required: `timestamp` and `uuid` (a ParseError names the missing one). Read when present:
index, name, utilization.gpu (percent, stored as 0..1), memory.used (MiB), power.draw (else
power.draw.average, else power.draw.instant, W), hostname; pci.bus_id and mig.mode.current are
kept as labels. A repeated header line (logs appended by successive `nvidia-smi -l` runs) is
skipped.

nvidia-smi writes `2026/07/14 08:12:38.696` in the machine's local time with no zone; it is read
in `tz` (UTC unless given: `manage.py ingest --format nvidia-smi --tz Europe/Paris`; a Source may
carry the zone later). In the hour a DST change repeats, the first occurrence is taken. An ISO
8601 timestamp with an offset is honoured as written.
`--query-gpu` reports whole GPUs: MIG slices are not broken out (utilization is [N/A] there).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from decimal import Decimal

from .errors import ParseError
from .files import InputFile, not_utf8, open_text
from .parsing import Cell, parse_datetime, parse_decimal
from .rows import GpuSampleRow
from .tabular import cut_field

KIND = "telemetry"
REQUIRED = ("timestamp", "uuid")
HEADER_FIELD = re.compile(r"(?P<name>[A-Za-z0-9_.]+)(?:\s*\[(?P<unit>[^\]]*)\])?")
VALUE_WITH_UNIT = re.compile(r"(?P<number>[-+]?\d+(?:\.\d+)?)(?:\s*(?P<unit>[A-Za-z%]+))?")
# field -> the unit nvidia-smi reports it in
UNITS = {
    "utilization.gpu": "%",
    "memory.used": "MiB",
    "power.draw": "W",
    "power.draw.average": "W",
    "power.draw.instant": "W",
}
POWER_FIELDS = ("power.draw", "power.draw.average", "power.draw.instant")
LABEL_FIELDS = ("pci.bus_id", "mig.mode.current")
SMI_TIME_FORMATS = ("%Y/%m/%d %H:%M:%S.%f", "%Y/%m/%d %H:%M:%S")
HUNDRED = Decimal(100)
EXPECTED = "a --query-gpu CSV header (timestamp, uuid, ...), then one line per GPU"


def parse(file: InputFile, tz: tzinfo = UTC) -> Iterator[GpuSampleRow]:
    with open_text(file, expected=EXPECTED) as handle:
        # strict: a line cut inside quotes is an error, not a shorter value
        reader = csv.reader(handle, skipinitialspace=True, strict=True)
        fields: list[_Field] = []
        try:
            header = next(reader, None)
            if header is None:
                return
            raw_header = [h.strip() for h in header]
            fields = _fields(raw_header, file.name)
            for values in reader:
                line = reader.line_num
                if not any(v.strip() for v in values):
                    continue
                if [v.strip() for v in values] == raw_header:
                    continue
                yield _row(fields, values, file.name, line, tz)
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                labels = [f.label for f in fields]
                raise ParseError(
                    "the line stops inside a quoted field: the file is cut short",
                    file=file.name,
                    line=reader.line_num,
                    column=cut_field(file, labels, skipinitialspace=True),
                    expected='a closing " and the rest of the line',
                ) from None
            raise ParseError(
                f"not valid CSV ({exc})", file=file.name, line=reader.line_num
            ) from None
        except UnicodeDecodeError:
            raise not_utf8(file) from None


class _Field:
    __slots__ = ("column", "label", "name", "unit")

    def __init__(self, name: str, unit: str, label: str) -> None:
        self.name, self.unit, self.label = name, unit, label


def _fields(header: list[str], file: str) -> list[_Field]:
    fields = []
    for n, text in enumerate(header, start=1):
        match = HEADER_FIELD.fullmatch(text)
        if not match:
            raise ParseError(
                f"{text!r} is not a --query-gpu field",
                file=file,
                line=1,
                column=n,
                expected="a field name such as utilization.gpu [%]",
            )
        if any(f.name == match["name"] for f in fields):
            raise ParseError(
                f"the field {match['name']} appears twice",
                file=file,
                line=1,
                column=text,
                expected="one column per field",
            )
        fields.append(_Field(match["name"], match["unit"] or "", text))
    names = [f.name for f in fields]
    for required in REQUIRED:
        if required not in names:
            raise ParseError(
                f"the header has no {required} column",
                file=file,
                line=1,
                column=required,
                expected=f"--query-gpu=timestamp,uuid,... ({', '.join(REQUIRED)} are required)",
            )
    return fields


def _row(fields: list[_Field], values: list[str], file: str, line: int, tz: tzinfo) -> GpuSampleRow:
    if len(values) != len(fields):
        # A short line is a log cut mid-write (or a field left out): its first missing field
        # is named; a long one is located at its first extra value.
        short = len(values) < len(fields)
        raise ParseError(
            f"{len(values)} values for {len(fields)} header fields"
            + (": the line is cut short or misses a field" if short else ""),
            file=file,
            line=line,
            column=fields[len(values)].label if short else len(fields) + 1,
            expected="one value per header field",
        )
    by_name = {f.name: (f, v.strip()) for f, v in zip(fields, values, strict=True)}

    def text(name: str) -> str:
        value = by_name.get(name, (None, ""))[1]
        return "" if _is_null(value) else value

    def number(name: str) -> Decimal | None:
        if name not in by_name:
            return None
        field, value = by_name[name]
        if _is_null(value):
            return None
        return _number(field, value, Cell(file, line, field.label))

    uuid = text("uuid")
    if not uuid:
        raise ParseError(
            "the uuid is empty", file=file, line=line, column="uuid", expected="GPU-..."
        )
    index = text("index")
    if index and not index.isdigit():
        raise ParseError(
            f"{index!r} is not a GPU index",
            file=file,
            line=line,
            column="index",
            expected="0, 1, ...",
        )
    utilization = number("utilization.gpu")
    if utilization is not None and utilization > HUNDRED:
        raise ParseError(
            f"utilization {utilization} is above 100",
            file=file,
            line=line,
            column=by_name["utilization.gpu"][0].label,
            expected="a percentage 0..100",
        )
    power = next((p for p in (number(name) for name in POWER_FIELDS) if p is not None), None)
    return GpuSampleRow(
        ts=_timestamp(text("timestamp"), Cell(file, line, "timestamp"), tz),
        gpu_uuid=uuid,
        gpu_index=int(index) if index else None,
        gpu_model=text("name"),
        hostname=text("hostname"),
        utilization=None if utilization is None else utilization / HUNDRED,
        memory_used_mib=number("memory.used"),
        power_w=power,
        labels={name: text(name) for name in LABEL_FIELDS if text(name)},
        source_file=file,
        source_row=line,
    )


def _is_null(value: str) -> bool:
    return not value or (value.startswith("[") and value.endswith("]")) or value == "N/A"


def _number(field: _Field, value: str, where: Cell) -> Decimal:
    match = VALUE_WITH_UNIT.fullmatch(value)
    unit = field.unit or UNITS.get(field.name, "")
    if not match or (match["unit"] and match["unit"] != unit):
        raise ParseError(
            f"{value!r} is not a number" + (f" in {unit}" if unit else ""),
            file=where.file,
            line=where.line,
            column=where.column,
            expected=f"a number, optionally followed by {unit}" if unit else "a number",
        )
    number = parse_decimal(match["number"], where)
    if number < 0:
        raise ParseError(
            f"{value!r} is negative",
            file=where.file,
            line=where.line,
            column=where.column,
            expected="a number >= 0",
        )
    return number


def _timestamp(value: str, where: Cell, tz: tzinfo) -> datetime:
    for pattern in SMI_TIME_FORMATS:
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=tz).astimezone(UTC)
        except ValueError:
            continue
    return parse_datetime(value, where)
