"""The Prometheus text-format parser: samples, escapes, comments, and located errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from costapp.ingest import prom_text
from costapp.ingest.errors import ParseError


def _parse(text: str, on_comment=None) -> list[prom_text.Sample]:
    lines = enumerate(text.splitlines(keepends=True), start=1)
    return list(prom_text.parse(lines, "m.prom", on_comment=on_comment))


def test_samples_carry_name_labels_value_and_optional_millisecond_timestamp():
    samples = _parse(
        'up 1\n\nDCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a",} 37 1762000000000\n'
        'temp { gpu = "1" }\t29.5\n'
    )
    assert samples == [
        prom_text.Sample(1, "up", {}, Decimal(1), None),
        prom_text.Sample(
            3, "DCGM_FI_DEV_GPU_UTIL", {"gpu": "0", "UUID": "GPU-a"}, Decimal(37), 1762000000000
        ),
        prom_text.Sample(4, "temp", {"gpu": "1"}, Decimal("29.5"), None),
    ]


def test_label_values_unescape_backslash_quote_and_newline():
    (sample,) = _parse(r'm{path="C:\\gpu",msg="say \"hi\"\nbye"} 1' + "\n")
    assert sample.labels == {"path": "C:\\gpu", "msg": 'say "hi"\nbye'}


def test_nan_infinities_and_exponents_are_values():
    values = [s.value for s in _parse("a NaN\nb +Inf\nc -Inf\nd 1.98e+09\ne .5\n")]
    assert values[0].is_nan()
    assert values[1:] == [
        Decimal("Infinity"),
        Decimal("-Infinity"),
        Decimal("1.98e9"),
        Decimal("0.5"),
    ]


def test_help_and_type_are_checked_and_other_comments_reach_the_callback():
    seen = []
    samples = _parse(
        "# HELP m A help text with \\\\ escapes.\n# TYPE m gauge\n# SCRAPE_TIME 2026-11-01T10:00:00Z\nm 3\n",
        on_comment=lambda line, text: seen.append((line, text)),
    )
    assert seen == [(3, "SCRAPE_TIME 2026-11-01T10:00:00Z")]
    assert [s.name for s in samples] == ["m"]


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        ('m{gpu="0"}', 11, "expected a space before the value"),
        ('m{gpu="0"} abc', 12, "the value is not a number"),
        ("m 1_000", 3, "the value is not a number"),
        ('m{gpu="0} 1', 12, "the label value is not closed"),
        ('m{gpu="\\t"} 1', 8, "unknown escape"),
        ('m{gpu="0",gpu="1"} 1', 11, "label gpu appears twice"),
        ("m{gpu=0} 1", 7, "expected a quoted value"),
        ('m{gpu="0" uuid="a"} 1', 11, "expected ',' or '}'"),
        ("m 1 17000 x", 11, "unexpected text after the timestamp"),
        ("m 1 1.5", 5, "the timestamp is not a whole number"),
        ("9m 1", 1, "must start with a metric name"),
        ("# TYPE m gauges", 10, "unknown metric type"),
    ],
)
def test_malformed_lines_are_located_to_line_and_column(line, column, message):
    with pytest.raises(ParseError) as caught:
        _parse("ok 1\n" + line + "\n")
    assert (caught.value.file, caught.value.line, caught.value.column) == ("m.prom", 2, str(column))
    assert message in caught.value.message


def test_type_after_the_metrics_samples_or_twice_is_an_error():
    with pytest.raises(ParseError, match="comes after its samples"):
        _parse("m 1\n# TYPE m gauge\n")
    with pytest.raises(ParseError, match="a second TYPE line"):
        _parse("# TYPE m gauge\n# TYPE m counter\n")
