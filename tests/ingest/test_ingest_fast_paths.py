"""The writers' and parsers' fast paths give what the strict and staged paths give.

Telemetry and request logs take a short cut for the usual input (costapp/ingest/prom_text.py's
line scanner, store.py's direct COPY with rollups summed in Python); anything unusual goes the
strict way. These tests hold the two ways to the same results, values and errors.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from costapp.ingest import dcgm, prom_text
from costapp.ingest.errors import ParseError
from costapp.ingest.files import InputFile
from costapp.ingest.models import GpuSample, IngestionRun, RunStatus, SeenRequest, UsageRollup
from costapp.ingest.rows import STREAMING, RequestRow
from costapp.ingest.runs import ingest
from costapp.ingest.store import store_requests

HOUR = datetime(2026, 11, 1, 10, tzinfo=UTC)


# --- the Prometheus text scanner against the strict reader, line by line ---


def _strict(lines: list[str]) -> list:
    """What the strict reader alone makes of the lines: samples, or the error."""
    reader = prom_text._Reader("m.prom", None)
    out = []
    try:
        for line_no, raw in enumerate(lines, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            if line.lstrip(" \t").startswith("#"):
                reader.comment(line_no, line)
                continue
            name, labels, value, stamp = reader.sample(line_no, line)
            out.append((line_no, name, labels, Decimal(value), stamp))
    except ParseError as exc:
        out.append((exc.line, exc.column, exc.message))
    return out


def _fast(lines: list[str]) -> list:
    out = []
    try:
        for s in prom_text.parse(enumerate(lines, start=1), "m.prom"):
            out.append((s.line_no, s.name, s.labels, s.value, s.timestamp))
    except ParseError as exc:
        out.append((exc.line, exc.column, exc.message))
    return out


def _same(a: list, b: list) -> bool:
    # NaN != NaN: compare values by their text
    return repr(a) == repr(b)


PIECES = [
    "m",
    "DCGM_FI_DEV_GPU_UTIL",
    "9x",
    "{",
    "}",
    'gpu="0"',
    'UUID="GPU-a"',
    ",",
    " ",
    "  ",
    "\t",
    '"',
    "\\",
    "\\n",
    "1",
    "37",
    "-1.5e3",
    ".5",
    "NaN",
    "+Inf",
    "1_000",
    "1762000000000",
    "x",
    "#",
    "TYPE",
    "\x0b",
    "=",
    'a="}"',
    "\r\n",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=12).map("".join), max_size=4))
def test_the_scanner_reads_any_line_as_the_strict_reader_does(lines):
    assert _same(_fast(lines), _strict(lines))


@pytest.mark.parametrize(
    "line",
    [
        'm{gpu="0",UUID="GPU-a"} 37',
        'm{gpu="0",UUID="GPU-a"} 37 1762000000000',
        'm{gpu="0",UUID="GPU-a",} 37',
        'm{a="}"} 1',
        'm{a="x\\"y"} 1',
        "m 1",
        "m{} 1",
        "m 1 2 3",
        "m  1",
        "m\t1",
        "m 1\t",
        "m 1 ",
        'm {gpu="0"} 1',
        'm{gpu="0"}1',
        'm{gpu="0"} 1 }',
        '  m{gpu="0"} 1',
        "\x0b",
        "m NaN",
        "m 1e",
    ],
)
def test_lines_of_every_shape_read_alike(line):
    lines = ['ok{gpu="0"} 1\n', line + "\n", 'ok{gpu="0"} 2\n']
    assert _same(_fast(lines), _strict(lines))


# --- request rollups: the fast path sums as the staged path does ---


def _requests(prefix: str) -> list[RequestRow]:
    seconds = [Decimal("0.1234567890123456789012345678901"), None, Decimal("2.5"), Decimal("1e-9")]
    return [
        RequestRow(
            ts=HOUR + timedelta(minutes=7 * i),
            request_id=f"{prefix}-{i}\t\\x",  # escapes in COPY's text format
            team=["search", "ads"][i % 2],
            model="m",
            endpoint="/v1/chat",
            source_file="push",
            source_row=i + 1,
            resource_id="i-1",
            input_tokens=10 + i,
            output_tokens=3 * i,
            latency_ms=100 + i,
            cache_hit=i % 3 == 0,
            gpu_seconds=seconds[i % 4],
        )
        for i in range(20)
    ]


def _rollups(run: int) -> list[tuple]:
    return sorted(
        UsageRollup.objects.filter(run_id=run).values_list(
            "hour",
            "team",
            "model",
            "endpoint",
            "resource_id",
            "requests",
            "input_tokens",
            "output_tokens",
            "gpu_seconds",
            "cache_hits",
            "latency_ms_sum",
        )
    )


@pytest.mark.django_db
def test_fast_and_staged_request_paths_store_the_same_rollups():
    fast, staged = (IngestionRun.objects.create(format="jsonl").pk for _ in range(2))
    with transaction.atomic():
        # A list can be read again: fast path. A one-pass iterator with no replay: staged.
        store_requests(_requests("f"), fast)
        store_requests(iter(_requests("s")), staged)
    assert _rollups(fast) == _rollups(staged) != []
    ids = set(SeenRequest.objects.filter(run_id=fast).values_list("request_id", flat=True))
    assert ids == {f"f-{i}\t\\x" for i in range(20)}


@pytest.mark.django_db
def test_a_repeated_id_in_the_fast_path_falls_back_and_counts_the_others_once():
    first, second = (IngestionRun.objects.create(format="jsonl").pk for _ in range(2))
    rows = _requests("r")
    with transaction.atomic():
        store_requests(rows[:5], first)
        stats = store_requests(rows, second)
    assert (stats.rows_read, stats.rows_stored) == (20, 15)
    assert sum(r[5] for r in _rollups(second)) == 15
    assert SeenRequest.objects.count() == 20


# --- deleting a run still takes its rows (no database FK on the hot tables) ---


@pytest.mark.django_db
def test_deleting_a_run_deletes_its_samples_and_request_ids(write_file):
    scrape = write_file(
        "s.prom",
        "# SCRAPE_TIME 2026-11-01T10:00:00Z\n"
        'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a",Hostname="h"} 50\n',
    )
    log = write_file(
        "r.jsonl",
        '{"timestamp": "2026-11-01T10:00:00Z", "request_id": "x", "team": "t", "model": "m",'
        ' "endpoint": "/e"}\n',
    )
    runs = [
        ingest([InputFile.from_path(scrape)], "dcgm"),
        ingest([InputFile.from_path(log)], "jsonl"),
    ]
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED] * 2
    assert GpuSample.objects.count() == SeenRequest.objects.count() == 1
    for run in runs:
        run.delete()
    assert GpuSample.objects.count() == SeenRequest.objects.count() == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ingest_usagerollup")
        assert cursor.fetchone()[0] == 0


# --- telemetry: a re-sent reading overwrites through the staged path ---


@pytest.mark.django_db
def test_a_scrape_overlapping_stored_readings_overwrites_them(write_file):
    def scrape(name: str, util: int, gpus: int) -> InputFile:
        lines = "".join(
            f'DCGM_FI_DEV_GPU_UTIL{{gpu="{g}",UUID="GPU-{g}",pod="p\\\\{g}"}} {util}\n'
            for g in range(gpus)
        )
        return InputFile.from_path(write_file(name, "# SCRAPE_TIME 2026-11-01T10:00:00Z\n" + lines))

    assert ingest([scrape("a.prom", 10, 2)], "dcgm").status == RunStatus.SUCCEEDED
    run = ingest([scrape("b.prom", 30, 3)], "dcgm")
    assert (run.status, run.rows_read, run.rows_stored) == (RunStatus.SUCCEEDED, 3, 3)
    stored = GpuSample.objects.order_by("gpu_uuid").values_list("gpu_uuid", "utilization", "labels")
    assert list(stored) == [(f"GPU-{g}", Decimal("0.3"), {"pod": f"p\\{g}"}) for g in range(3)]


# --- DCGM scrapes streamed scrape by scrape (the writer's fast path) ---


def _stored_readings() -> list[tuple]:
    return sorted(
        GpuSample.objects.values_list(
            "ts", "gpu_uuid", "gpu_index", "utilization", "memory_used_mib", "source_row"
        )
    )


def _series(metric: str, gpu: int, value) -> str:
    return f'{metric}{{gpu="{gpu}",UUID="GPU-{gpu}",modelName="H100"}} {value}\n'


@pytest.mark.django_db
def test_streamed_scrapes_store_what_the_whole_file_reads_as(write_file):
    text = "".join(
        f"# SCRAPE_TIME 2026-11-01T10:0{k}:00Z\n"
        + "".join(_series("DCGM_FI_DEV_GPU_UTIL", g, 10 * k + g) for g in range(2))
        + "".join(_series("DCGM_FI_DEV_FB_USED", g, 100 + k) for g in range(2))
        for k in range(3)
    )
    path = write_file("scrapes.prom", text)
    whole = sorted(
        (r.ts, r.gpu_uuid, r.gpu_index, r.utilization, r.memory_used_mib, r.source_row)
        for r in dcgm.parse(InputFile.from_path(path))
    )
    run = ingest([InputFile.from_path(path)], "dcgm")
    assert (run.status, run.rows_stored) == (RunStatus.SUCCEEDED, 6)
    assert _stored_readings() == whole


def _timestamped(text: str) -> str:
    """The scrape with each sample line carrying its # SCRAPE_TIME as a timestamp, which
    dcgm.parse never reads the short way."""
    out, millis = [], None
    for line in text.splitlines(keepends=True):
        if line.startswith("# SCRAPE_TIME "):
            moment = datetime.fromisoformat(line.split()[2].replace("Z", "+00:00"))
            millis = int(moment.timestamp() * 1000)
        elif line.strip() and not line.startswith("#"):
            line = f"{line.rstrip()} {millis}\n"
        out.append(line)
    return "".join(out)


@pytest.mark.parametrize("streaming", [True, False])
def test_dcgm_reads_a_scrape_the_short_way_as_the_full_way(write_file, streaming):
    # Series seen before and new ones, values seen before and new (NaN too), other metrics,
    # comments and blank lines between samples, and a second scrape.
    text = "".join(
        f"# SCRAPE_TIME 2026-11-01T10:0{k}:00Z\n"
        + "".join(_series("DCGM_FI_DEV_GPU_UTIL", g, (10 * k + g) % 3) for g in range(3))
        + "# HELP DCGM_FI_DEV_SM_CLOCK SM clock\n"
        + "".join(_series("DCGM_FI_DEV_SM_CLOCK", g, 1400 + k) for g in range(2))
        + "\n"
        + "".join(_series("DCGM_FI_DEV_FB_USED", g, "NaN" if g == k else 100) for g in range(3))
        + _series("DCGM_FI_DEV_POWER_USAGE", k, 300 + k)
        for k in range(3)
    )

    def rows(name: str, body: str) -> list[tuple]:
        token = STREAMING.set(streaming)
        try:
            parsed = list(dcgm.parse(InputFile.from_path(write_file(name, body))))
        finally:
            STREAMING.reset(token)
        return sorted(
            (r.ts, r.gpu_uuid, r.gpu_index, r.utilization, r.memory_used_mib, r.power_w,
             r.labels, r.source_row)
            for r in parsed
        )  # fmt: skip

    short = rows("short.prom", text)
    assert len(short) == 9 and short == rows("full.prom", _timestamped(text))


@pytest.mark.django_db
def test_a_scrape_time_repeated_further_down_still_merges_into_one_reading(write_file):
    text = (
        "# SCRAPE_TIME 2026-11-01T10:00:00Z\n"
        + _series("DCGM_FI_DEV_GPU_UTIL", 0, 10)
        + "# SCRAPE_TIME 2026-11-01T10:01:00Z\n"
        + _series("DCGM_FI_DEV_GPU_UTIL", 0, 20)
        + "# SCRAPE_TIME 2026-11-01T10:00:00Z\n"
        + _series("DCGM_FI_DEV_FB_USED", 0, 512)
    )
    run = ingest([InputFile.from_path(write_file("again.prom", text))], "dcgm")
    assert (run.status, run.rows_stored) == (RunStatus.SUCCEEDED, 2)
    assert _stored_readings() == [
        (HOUR, "GPU-0", 0, Decimal("0.1"), Decimal(512), 2),
        (HOUR + timedelta(minutes=1), "GPU-0", 0, Decimal("0.2"), None, 4),
    ]


@pytest.mark.django_db
def test_a_delivery_read_again_keeps_its_parser_warnings_once(write_file):
    # The first file makes the streamed reading start over (a scrape time repeated further
    # down) before the second, dated by its name, has been read to its end and warned.
    repeated = write_file(
        "a/again.prom",
        "# SCRAPE_TIME 2026-11-01T10:00:00Z\n"
        + _series("DCGM_FI_DEV_GPU_UTIL", 0, 10)
        + "# SCRAPE_TIME 2026-11-01T10:01:00Z\n"
        + _series("DCGM_FI_DEV_GPU_UTIL", 0, 20)
        + "# SCRAPE_TIME 2026-11-01T10:00:00Z\n"
        + _series("DCGM_FI_DEV_FB_USED", 0, 512),
    )
    named = write_file("b/node_20261101T110000Z.prom", _series("DCGM_FI_DEV_GPU_UTIL", 1, 30))
    run = ingest([InputFile.from_path(repeated), InputFile.from_path(named)], "dcgm")
    assert (run.status, run.rows_stored) == (RunStatus.SUCCEEDED, 3)
    (warning,) = run.warnings
    assert str(named) in warning and "file name" in warning


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("utilization", Decimal("NaN")),
        ("memory_used_mib", Decimal("1e12")),
        ("power_w", Decimal("-Infinity")),
    ],
)
def test_the_writer_checks_a_reading_of_a_device_and_instant_it_has_seen(field, bad):
    """The COPY path checks a row whose device and instant passed before with a short cut;
    a value outside the limits still fails, located, and nothing is stored."""
    from costapp.ingest.rows import GpuSampleRow
    from costapp.ingest.store import store_gpu_samples

    def row(gpu: str, minute: int, line: int, **values) -> GpuSampleRow:
        readings = {
            "utilization": Decimal("0.5"),
            "memory_used_mib": Decimal(100),
            "power_w": Decimal(300),
            **values,
        }
        return GpuSampleRow(
            ts=HOUR + timedelta(minutes=minute),
            gpu_uuid=gpu,
            gpu_index=0,
            source_file="s.prom",
            source_row=line,
            **readings,
        )

    rows = [row("GPU-a", 0, 1), row("GPU-b", 1, 2), row("GPU-a", 1, 3, **{field: bad})]
    run = IngestionRun.objects.create(format="dcgm", location="s.prom")
    with pytest.raises(ParseError) as caught, transaction.atomic():
        store_gpu_samples(rows, run.pk, "dcgm", replay=lambda: rows)
    assert (caught.value.file, caught.value.line, caught.value.column) == ("s.prom", 3, field)
    assert not GpuSample.objects.exists()
