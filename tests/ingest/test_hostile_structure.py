"""Broken structure in every format: each is a located error, and nothing of its file is stored.

One table: per format a valid file of many records (the builders of test_hostile_values) and,
per kind of fault, that file damaged the way a cut transfer, a careless edit or a wrong encoding
damages it: cut mid-row, cut inside quotes, a missing trailing field, an extra field, a
repeated column name or JSON key, a byte that is not UTF-8 on line N, an empty file and an
empty .gz. Each case first ingests a good file, then the damaged one, and asserts the run
FAILED at the file, line and column where the damage is, and that every stored count and sum
is as before. Then: which delivery of a bill is skipped, and which wins.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db.models import Sum

from costapp.ingest.files import InputFile
from costapp.ingest.models import CostLine, RunStatus
from costapp.ingest.runs import ingest

from .billing_cases import csv_text
from .test_focus import BASE as FOCUS_BASE
from .test_hostile_values import FORMATS, _records, snapshot

pytestmark = pytest.mark.django_db

RECORDS = 60  # enough lines that a bad byte on line ~43 is not in the first line's reach
DAMAGED = 41  # the record index the line-level faults damage
ANY = object()  # "some column": where exactly a cut lands inside a JSON text is the parser's
CSV_FORMATS = ("focus", "cur", "cur2", "gcp", "nvidia-smi")
JSON_FORMATS = ("jsonl", "litellm", "langfuse", "otel", "prometheus", "openai", "anthropic")
# A cell with a comma, so the writer quotes it: where the mid-quote cut goes.
QUOTED = {
    "cur": {"lineItem/LineItemDescription": "GPU hours, on demand"},
    "nvidia-smi": {"name": '"NVIDIA H100, 80GB HBM3"'},
}


def _many(fmt: str, batch: str) -> list[dict]:
    rows = [_records(fmt, f"{batch}{n:03d}")[0] for n in range(RECORDS)]
    rows[-1].update(QUOTED.get(fmt, {}))
    return rows


def _line_of(fmt: str, index: int) -> int:
    return FORMATS[fmt].line + index - 1  # FORMATS[fmt].line is record 1's


def _separators(line: str) -> list[int]:
    """Offsets of the commas between fields (outside quotes)."""
    found, quoted = [], False
    for i, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            found.append(i)
    return found


def _header(text: str) -> list[str]:
    return [name.strip() for name in text.splitlines()[0].split(",")]


# --- the faults: each takes (format, the file's text) and gives (bytes, line, column) ---


def _cut_mid_row(fmt: str, text: str):
    lines = text.splitlines(keepends=True)
    last = lines[-1]
    commas = _separators(last)
    kept = len(commas) // 2  # fields kept: the row stops at a field boundary, no line break
    body = "".join(lines[:-1]) + last[: commas[kept - 1]]
    if fmt in JSON_FORMATS:
        body = "".join(lines[:-1]) + last[: len(last) // 2]
        return body.encode(), _line_of(fmt, RECORDS - 1), ANY
    return body.encode(), _line_of(fmt, RECORDS - 1), _header(text)[kept]


def _cut_mid_quote(fmt: str, text: str):
    lines = text.splitlines(keepends=True)
    last = lines[-1]
    opening = next(i for i, c in enumerate(last) if c == '"' and last[:i].rstrip(" ").endswith(","))
    field = len([c for c in _separators(last) if c < opening])
    body = "".join(lines[:-1]) + last[: opening + 4]
    return body.encode(), _line_of(fmt, RECORDS - 1), _header(text)[field]


def _missing_trailing_field(fmt: str, text: str):
    lines = text.splitlines(keepends=True)
    line_no = _line_of(fmt, DAMAGED)
    line = lines[line_no - 1]
    lines[line_no - 1] = line[: _separators(line)[-1]] + "\n"
    return "".join(lines).encode(), line_no, _header(text)[-1]


def _extra_field(fmt: str, text: str):
    lines = text.splitlines(keepends=True)
    line_no = _line_of(fmt, DAMAGED)
    lines[line_no - 1] = lines[line_no - 1].rstrip("\n") + ",surplus\n"
    return "".join(lines).encode(), line_no, str(len(_header(text)) + 1)


def _duplicate_header(fmt: str, text: str):
    lines = text.splitlines(keepends=True)
    names = lines[0].rstrip("\n").split(",")
    names[1] = names[0]  # a column named twice (a careless edit, a merge of two exports)
    lines[0] = ",".join(names) + "\n"
    return "".join(lines).encode(), 1, names[0].strip()


def _duplicate_key(fmt: str, text: str):
    lines = text.splitlines(keepends=True)
    line_no = _line_of(fmt, DAMAGED)
    record = json.loads(lines[line_no - 1])
    key = next(iter(record))
    again = json.dumps({key: "a second value"})[1:-1]
    lines[line_no - 1] = "{" + again + ", " + lines[line_no - 1][1:]
    return "".join(lines).encode(), line_no, key


def _bad_byte(fmt: str, text: str):
    lines = [line.encode() for line in text.splitlines(keepends=True)]
    line_no = _line_of(fmt, DAMAGED)
    lines[line_no - 1] = lines[line_no - 1][:5] + b"\xff" + lines[line_no - 1][5:]
    return b"".join(lines), line_no, "6"


FAULTS: dict[str, tuple[Callable, tuple[str, ...], str]] = {
    # fault: (damage, formats, what the message says)
    "cut mid-row": (_cut_mid_row, CSV_FORMATS + JSON_FORMATS, ""),
    "cut inside quotes": (_cut_mid_quote, CSV_FORMATS, "inside a quoted field"),
    "missing trailing field": (_missing_trailing_field, CSV_FORMATS, "cut short"),
    "extra field": (_extra_field, CSV_FORMATS, ""),
    "duplicate header": (_duplicate_header, CSV_FORMATS, "twice"),
    "duplicate JSON key": (_duplicate_key, JSON_FORMATS, "appears twice"),
    "bad UTF-8 byte": (_bad_byte, (*CSV_FORMATS, *JSON_FORMATS, "dcgm"), "not valid UTF-8"),
}
CASES = [(fmt, fault) for fault, (_, formats, _) in FAULTS.items() for fmt in formats]
EMPTY = {
    "0 bytes": ("", b""),
    "0-byte .gz": (".gz", b""),
    ".gz of nothing": (".gz", gzip.compress(b"")),
}


def _good_first(write_file, fmt: str) -> None:
    path = write_file("good" + FORMATS[fmt].suffix, FORMATS[fmt].build(_many(fmt, "good")))
    run = ingest([InputFile.from_path(path)], fmt)
    assert run.status == RunStatus.SUCCEEDED, run.error


@pytest.mark.parametrize(("fmt", "fault"), CASES, ids=[f"{f}: {fault}" for f, fault in CASES])
def test_a_damaged_file_fails_its_run_located_and_stores_nothing(write_file, fmt, fault):
    _good_first(write_file, fmt)
    before = snapshot()
    damage, _, mentions = FAULTS[fault]
    data, line, column = damage(fmt, FORMATS[fmt].build(_many(fmt, "bad")))
    path = write_file("damaged" + FORMATS[fmt].suffix, data)

    run = ingest([InputFile.from_path(path)], fmt)

    assert run.status == RunStatus.FAILED, f"{fault}: {run.status} {run.error}"
    assert (run.error_file, run.error_line) == (str(path), line), run.error
    if column is ANY:
        assert run.error_column, run.error
    else:
        assert run.error_column == column, run.error
    assert f"line {line}, column {run.error_column}" in run.error
    assert mentions in run.error
    assert snapshot() == before


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("empty", list(EMPTY))
def test_an_empty_file_is_one_located_error_in_every_format(write_file, fmt, empty):
    _good_first(write_file, fmt)
    before = snapshot()
    suffix, data = EMPTY[empty]
    path = write_file("empty" + FORMATS[fmt].suffix + suffix, data)

    run = ingest([InputFile.from_path(path)], fmt)

    assert run.status == RunStatus.FAILED, run.error
    assert run.error_file == str(path)
    assert run.error.startswith(f"{path}: the file is empty (expected "), run.error
    assert snapshot() == before


def test_a_csv_holding_only_its_header_succeeds_and_changes_nothing(write_file):
    _good_first(write_file, "focus")
    before = snapshot()
    header_only = FORMATS["focus"].build([]).splitlines()[0] + "\n"
    run = ingest([InputFile.from_path(write_file("header.csv", header_only))], "focus")
    assert (run.status, run.rows_stored) == (RunStatus.SUCCEEDED, 0)
    assert snapshot() == before


def test_the_request_tagged_twice_is_refused_not_charged_to_the_last_team(write_file):
    _good_first(write_file, "jsonl")
    text = (
        FORMATS["jsonl"]
        .build(_many("jsonl", "bad"))
        .replace('"team": "search"', '"team": "search", "team": "ads"', 1)
    )
    run = ingest([InputFile.from_path(write_file("tagged.jsonl", text))], "jsonl")
    assert (run.status, run.error_line, run.error_column) == (RunStatus.FAILED, 1, "team")


@pytest.mark.parametrize(
    ("fmt", "cell", "value"),
    [
        ("focus", "Tags", '{"team": "search", "team": "ads"}'),
        ("gcp", "labels", "[{'key': 'team', 'value': 'search'}, {'key': 'team', 'value': 'ads'}]"),
    ],
)
def test_a_key_given_twice_inside_a_cell_is_refused_in_that_cell(write_file, fmt, cell, value):
    _good_first(write_file, fmt)
    before = snapshot()
    rows = _many(fmt, "bad")
    rows[DAMAGED][cell] = value
    path = write_file("cell.csv", FORMATS[fmt].build(rows))
    run = ingest([InputFile.from_path(path)], fmt)
    assert (run.status, run.error_line, run.error_column) == (
        RunStatus.FAILED,
        _line_of(fmt, DAMAGED),
        cell,
    ), run.error
    assert "'team' appears twice" in run.error
    assert snapshot() == before


def test_the_koku_style_cur_whose_rows_all_lack_the_last_column_still_reads(write_file):
    text = FORMATS["cur"].build(_many("cur", "good"))
    header, *rows = text.splitlines()
    narrow = "\n".join([header + ",costCategory/CostCenter", *rows]) + "\n"
    run = ingest([InputFile.from_path(write_file("narrow.csv", narrow))], "cur")
    assert (run.status, run.rows_stored) == (RunStatus.SUCCEEDED, RECORDS), run.error
    # ... but such a file cut at the end of a row, where the field count cannot tell, is not.
    cut = narrow.rstrip("\n")[:-1]
    run = ingest([InputFile.from_path(write_file("narrow-cut.csv", cut))], "cur")
    assert (run.status, run.error_line) == (RunStatus.FAILED, RECORDS + 1), run.error
    assert "no line break" in run.error


# --- which delivery of a bill is skipped, and which wins ---


def _bill(write_file, name: str, cost: str, month: str = "11"):
    base = {
        **FOCUS_BASE,
        "BillingPeriodStart": f"2026-{month}-01 00:00:00",
        "BillingPeriodEnd": f"2026-{int(month) + 1}-01 00:00:00",
        "ChargePeriodStart": f"2026-{month}-03 10:00:00",
        "ChargePeriodEnd": f"2026-{month}-03 11:00:00",
    }
    text = csv_text(base, ({"BilledCost": cost, "EffectiveCost": cost},))
    return ingest([InputFile.from_path(write_file(name, text))], "focus")


def _billed() -> Decimal:
    return CostLine.objects.aggregate(total=Sum("billed_cost"))["total"]


def test_an_earlier_version_sent_again_after_a_restatement_wins(write_file):
    v1 = _bill(write_file, "v1.csv", "10")
    v2 = _bill(write_file, "v2.csv", "20")
    again = _bill(write_file, "v1-again.csv", "10")
    assert [r.status for r in (v1, v2, again)] == [RunStatus.SUCCEEDED] * 3
    assert _billed() == Decimal(10)
    assert set(CostLine.objects.values_list("run_id", flat=True)) == {again.pk}


def test_the_same_bill_twice_in_a_row_is_skipped(write_file):
    first = _bill(write_file, "v1.csv", "10")
    again = _bill(write_file, "v1.csv", "10")
    assert (first.status, again.status) == (RunStatus.SUCCEEDED, RunStatus.SKIPPED)
    assert f"same content as run {first.pk}" in again.error
    assert _billed() == Decimal(10)


def test_a_month_delivered_apart_is_skipped_while_it_is_what_is_stored(write_file):
    november = _bill(write_file, "11.csv", "10", month="11")
    _bill(write_file, "10.csv", "5", month="10")
    again = _bill(write_file, "11.csv", "10", month="11")
    assert (november.status, again.status) == (RunStatus.SUCCEEDED, RunStatus.SKIPPED)
    assert _billed() == Decimal(15)
