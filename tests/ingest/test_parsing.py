"""Cell parsers and the Record view: the fast paths give the general path's values and errors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from costapp.ingest import focus, parsing
from costapp.ingest.errors import ParseError
from costapp.ingest.files import InputFile
from costapp.ingest.parsing import Cell, parse_datetime, parse_decimal, parse_int
from costapp.ingest.tabular import Header, Record

HERE = Cell("f.csv", 7, "Cost")


@pytest.mark.parametrize(
    ("text", "number"),
    [(" 1.50 ", Decimal("1.50")), ("1,234.5", Decimal("1234.5")), ("-0", Decimal("-0"))],
)
def test_a_number_cell_reads_padded_and_with_thousands_separators(text, number):
    assert parse_decimal(text, HERE) == number


@pytest.mark.parametrize("text", ["", " NULL ", "N/A", "None"])
def test_a_null_number_is_none_unless_required(text):
    assert parse_decimal(text, HERE, required=False) is None
    with pytest.raises(ParseError, match="a number is required here") as raised:
        parse_decimal(text, HERE)
    assert (raised.value.line, raised.value.column) == (7, "Cost")


@pytest.mark.parametrize(
    ("text", "message"),
    [(" 1.2.3", "' 1.2.3' is not a number"), ("NaN", "'NaN' is not a finite number")],
)
def test_a_bad_number_is_quoted_as_written(text, message):
    with pytest.raises(ParseError, match=message):
        parse_decimal(text, HERE)


def test_a_whole_number_reads_from_an_int_or_integral_text_but_not_a_bool():
    assert parse_int(812, HERE) == 812
    assert parse_int(" 3.0 ", HERE) == 3
    with pytest.raises(ParseError, match="True is not a whole number"):
        parse_int(True, HERE)


def test_a_timestamp_parsed_twice_is_the_same_instant_and_a_bad_one_fails_each_time():
    first = parse_datetime("2026-11-03T10:00:00Z", HERE)
    assert (
        parse_datetime("2026-11-03T10:00:00Z", HERE)
        == first
        == datetime(2026, 11, 3, 10, tzinfo=UTC)
    )
    for _ in range(2):
        with pytest.raises(ParseError, match="'2026-13-01' is not a timestamp"):
            parse_datetime("2026-13-01", HERE)


def test_remembered_timestamps_stay_bounded(monkeypatch):
    monkeypatch.setattr(parsing, "DATETIMES", {})
    monkeypatch.setattr(parsing, "DATETIMES_HELD", 3)
    for hour in range(10):
        parse_datetime(f"2026-11-03T{hour:02d}:00:00", HERE)
    assert 0 < len(parsing.DATETIMES) <= 3


def record(values: list, names: list[str] | None = None) -> Record:
    header = Header("f.csv", names or ["Cost", "Start", "Name"])
    return Record(header, values, "f.csv", 9)


def test_a_record_reads_columns_case_insensitively_and_absent_ones_as_null():
    row = record([" 2.5 ", "2026-11-03 10:00:00", " a "], ["cost", "START", "Name"])
    assert row.decimal("Cost") == Decimal("2.5")
    assert row.datetime("Start") == row.datetime("start") == datetime(2026, 11, 3, 10, tzinfo=UTC)
    assert (row.text("Name"), row.text("Missing"), row.raw(None)) == ("a", "", None)


def test_a_record_reads_null_spellings_and_cells_past_a_short_row_as_null():
    row = record(["NULL", " "])
    assert row.decimal("Cost") is None and row.datetime_or_none("Start") is None
    assert row.text("Name") == "" and row.raw("Name") is None


def test_a_record_locates_a_bad_cell_on_its_line_and_column():
    row = record(["12x", "soon", "a"])
    with pytest.raises(ParseError) as raised:
        row.decimal("Cost")
    assert (raised.value.line, raised.value.column) == (9, "Cost")
    with pytest.raises(ParseError, match="'soon' is not a timestamp") as raised:
        row.datetime("Start")
    assert raised.value.column == "Start"
    with pytest.raises(ParseError, match="unknown currency 'a'"):
        row.currency("Name")


def test_focus_rows_with_the_same_tags_text_get_their_own_tag_dicts():
    header = (
        "ProviderName,BilledCost,EffectiveCost,BillingCurrency,ChargeCategory,"
        "ChargePeriodStart,ChargePeriodEnd,Tags"
    )
    line = 'AWS,1,1,usd,usage,2026-11-03T10:00:00Z,2026-11-03T11:00:00Z,"{""team"": 1}"'
    text = "\n".join([header, line, line]) + "\n"
    first, second = focus.parse(InputFile.from_bytes("f.csv", text.encode()))
    assert first.tags == second.tags == {"team": "1"}
    first.tags["team"] = "changed"
    assert second.tags == {"team": "1"}
    assert (first.billing_currency, first.charge_category, first.region) == ("USD", "Usage", "")
