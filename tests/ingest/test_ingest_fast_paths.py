"""The writers' and parsers' fast paths give what the strict and staged paths give.

Telemetry and request logs take a short cut for the usual input (costapp/ingest/prom_text.py's
line scanner, store.py's direct COPY with rollups summed in Python); anything unusual goes the
strict way. These tests hold the two ways to the same results, values and errors.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from costapp.ingest import dcgm, files, prom_text
from costapp.ingest.errors import ParseError
from costapp.ingest.files import InputFile
from costapp.ingest.jsondocs import documents
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


# --- DCGM text read a piece at a time (files.text_chunks, prom_text.numbered_pieces) ---

LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r", ""])
LINE_TEXT = st.sampled_from(["", "m 1", "# c", "  ", "a\x0bb", "x\x85y", "é 2", 'm{a="b c"} 3'])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(LINE_TEXT, LINE_ENDS), min_size=1, max_size=12),
    st.sampled_from([1, 2, 5, 1 << 16]),
)
def test_pieces_number_and_split_lines_as_the_file_reader_does(tmp_path_factory, lines, piece):
    text = "".join(body + end for body, end in lines)
    path = tmp_path_factory.mktemp("pieces") / "m.prom"
    path.write_bytes(text.encode() or b"m 1")
    file = InputFile.from_path(path)
    expected = [(n, raw.rstrip("\r\n")) for n, raw in files.numbered_lines(file)]
    size = files.TEXT_CHUNK
    files.TEXT_CHUNK = piece
    try:
        got = [
            (first + k, line)
            for first, lines_ in prom_text.numbered_pieces(files.text_chunks(file))
            for k, line in enumerate(lines_)
        ]
    finally:
        files.TEXT_CHUNK = size
    assert got == expected


def _scrapes(end: str) -> str:
    return "".join(
        f"# SCRAPE_TIME 2026-11-01T10:0{k}:00Z{end}"
        + "".join(
            _series("DCGM_FI_DEV_GPU_UTIL", g, (k + g) % 2).replace("\n", end) for g in range(3)
        )
        + "".join(_series("DCGM_FI_DEV_FB_USED", g, 100 + g).replace("\n", end) for g in range(3))
        for k in range(3)
    )


@pytest.mark.parametrize("piece", [1, 40, 1 << 16])
@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_dcgm_reads_scrapes_in_small_pieces_and_any_line_end_as_the_full_way(
    write_file, monkeypatch, piece, end
):
    monkeypatch.setattr(files, "TEXT_CHUNK", piece)
    text = _scrapes(end)

    def rows(name: str, body: str) -> list[tuple]:
        parsed = dcgm.parse(InputFile.from_path(write_file(name, body)))
        return sorted(
            (r.ts, r.gpu_uuid, r.utilization, r.memory_used_mib, r.source_row) for r in parsed
        )

    short = rows("short.prom", text)
    full = rows("full.prom", _timestamped(text.replace("\r\n", "\n").replace("\r", "\n")))
    assert len(short) == 9 and short == full
    assert {r[-1] for r in short} == {2, 3, 4, 9, 10, 11, 16, 17, 18}


# --- Prometheus range points: the short way (_Merge._usual) as the vectors' full way ---


def _gpu_labels(metric: str, gpu: int) -> dict:
    labels = {"__name__": metric, "UUID": f"GPU-{gpu}", "Hostname": "i-0123456789abcdef0"}
    if gpu != 2:  # a GPU without an index label: its readings begin the full way
        labels["gpu"] = str(gpu)
    return labels


PROM_POINTS = {
    "DCGM_FI_DEV_GPU_UTIL": lambda g, k: ["37", "NaN", "0", "37", "100"][(g + k) % 5],
    # A second series of the same reading's utilization: its NaN keeps the value before.
    "nvidia_smi_utilization_gpu_ratio": lambda g, k: "NaN" if k % 2 else "0.25",
    "DCGM_FI_DEV_FB_USED": lambda g, k: str(100 + (g * k) % 3),
    "DCGM_FI_DEV_SM_CLOCK": lambda g, k: "1400",  # ignored
    "DCGM_FI_DEV_POWER_USAGE": lambda g, k: "NaN" if k == 4 else f"{300 + k}.5",
}


@pytest.mark.parametrize("streaming", [True, False])
def test_prometheus_range_points_read_as_the_same_points_one_instant_at_a_time(
    write_file, monkeypatch, streaming
):
    from costapp.ingest import prometheus

    monkeypatch.setattr(prometheus, "SLAB_POINTS", 4)  # several slabs, flushed between
    instants = [1762000000.0 + 15 * k for k in range(6)]
    matrix = [
        {
            "status": "success",
            "data": {
                "resultType": "matrix",
                "result": [
                    {
                        "metric": _gpu_labels(m, g),
                        "values": [[t, f(g, k)] for k, t in enumerate(instants)],
                    }
                    for g in range(3)
                ],
            },
        }
        for m, f in PROM_POINTS.items()
    ]
    # The same points, a vector response per metric and instant: vectors go the full way.
    vectors = [
        {
            "status": "success",
            "data": {
                "resultType": "vector",
                "result": [{"metric": _gpu_labels(m, g), "value": [t, f(g, k)]} for g in range(3)],
            },
        }
        for k, t in enumerate(instants)
        for m, f in PROM_POINTS.items()
    ]

    def rows(name: str, responses: list) -> list[tuple]:
        body = "\n".join(json.dumps(r) for r in responses)
        token = STREAMING.set(streaming)
        try:
            parsed = list(prometheus.parse(InputFile.from_path(write_file(name, body))))
        finally:
            STREAMING.reset(token)
        return sorted(
            (r.ts, r.gpu_uuid, r.gpu_index, r.resource_id, r.utilization, r.memory_used_mib,
             r.power_w, r.labels, r.source_row)
            for r in parsed
        )  # fmt: skip

    short, full = rows("range.json", matrix), rows("instants.json", vectors)
    # Each reading's row is the line of its first point: the matrix's first response, and
    # the vector of the instant's first metric.
    assert {r[-1] for r in short} == {1}
    assert {r[-1] for r in full} == {1 + len(PROM_POINTS) * k for k in range(6)}
    assert len(short) == 18 and [r[:-1] for r in short] == [r[:-1] for r in full]


# --- Prometheus range responses GPU by GPU (prometheus._Grid) against the full way ---

GRID_START = 1762000000.0
GRID_METRICS = {
    "DCGM_FI_DEV_GPU_UTIL": lambda g, k: "NaN" if (g + k) % 5 == 3 else f"{(g * 7 + k) % 90}.5",
    "DCGM_FI_DEV_FB_USED": lambda g, k: "NaN" if (g, k) in {(1, 2), (3, 5)} else f"{100 + g}",
    "DCGM_FI_DEV_SM_CLOCK": lambda g, k: "1400",  # ignored, its points still checked
    "DCGM_FI_DEV_POWER_USAGE": lambda g, k: "NaN" if k == 2 else f"{300 + k}.{g}",
    # GPU 0 only: the engine-active ratio, which wins over GPU_UTIL where it has a value
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE": lambda g, k: "NaN" if k == 1 else f"0.{k}",
}
# GPUs 1 and 2 are two MIG slices of one board; GPU 3 has no GPU_UTIL series (its first is
# FB_USED, on line 2); GPU 1 has nothing but NaN at instant 2 (no row).
GRID_GPUS = 4


def _grid_labels(metric: str, gpu: int) -> dict:
    labels = {"__name__": metric, "gpu": str(min(gpu, 2)), "Hostname": f"i-0{gpu}23456789abcdef0"}
    labels["UUID"] = "GPU-mig" if gpu in (1, 2) else f"GPU-{gpu}"
    if gpu in (1, 2):
        labels["GPU_I_ID"] = str(gpu)
        labels["exported_pod"] = f"pod-{gpu}"
    return labels


def _grid_responses(instants_of, labels_of=_grid_labels) -> list[dict]:
    """One matrix response per metric; instants_of(metric, gpu) lists a series' (k, instant)."""
    responses = []
    for metric, value in GRID_METRICS.items():
        result = [
            {
                "metric": labels_of(metric, g),
                "values": [[t, value(g, k)] for k, t in instants_of(metric, g)],
            }
            for g in range(GRID_GPUS)
            if (metric, g) != ("DCGM_FI_DEV_GPU_UTIL", 3)
            and (g == 0 or metric != "DCGM_FI_PROF_GR_ENGINE_ACTIVE")
        ]
        responses.append({"status": "success", "data": {"resultType": "matrix", "result": result}})
    return responses


def _every(n: int):
    return lambda metric, gpu: [(k, GRID_START + 15 * k) for k in range(n)]


def _ragged(metric: str, gpu: int) -> list:
    # GPU 3 misses instants 4 and 5 and GPU 2 begins at instant 2, every series of each alike:
    # the slabs where all GPUs agree go by the grid, the others the full way.
    ks = [k for k in range(12) if not (gpu == 3 and k in (4, 5)) and not (gpu == 2 and k < 2)]
    return [(k, GRID_START + 15 * k) for k in ks]


def _power_differs(metric: str, gpu: int) -> list:
    ks = [k for k in range(8) if not (metric == "DCGM_FI_DEV_POWER_USAGE" and gpu == 1 and k == 3)]
    return [(k, GRID_START + 15 * k) for k in ks]


def _whole_seconds(metric: str, gpu: int) -> list:
    # int timestamps in one response, floats in the others: the same instants
    whole = metric == "DCGM_FI_DEV_FB_USED"
    return [(k, int(GRID_START) + 15 * k if whole else GRID_START + 15 * k) for k in range(8)]


def _power_has_more(metric: str, gpu: int) -> list:
    # GPU 1's power (not its first series, checked block by block) has a point just after
    # instant 3 (before a block's end, as blocks fall), and one past the last
    points = [(k, GRID_START + 15 * k) for k in range(8)]
    if metric == "DCGM_FI_DEV_POWER_USAGE" and gpu == 1:
        points[4:4] = [(3, GRID_START + 45.5)]
        points.append((7, GRID_START + 200))
    return points


def _power_ends_early(metric: str, gpu: int) -> list:
    last = 6 if metric == "DCGM_FI_DEV_POWER_USAGE" and gpu == 1 else 8
    return [(k, GRID_START + 15 * k) for k in range(last)]


def _one_millisecond(metric: str, gpu: int) -> list:
    # two timestamps in one millisecond: one reading the full way
    return [(k, GRID_START + 15 * (k // 2) + 0.0002 * (k % 2)) for k in range(8)]


def _extra_label(metric: str, gpu: int) -> dict:
    labels = _grid_labels(metric, gpu)
    if metric == "DCGM_FI_DEV_FB_USED" and gpu == 3:
        labels["exported_container"] = "main"  # a second label set for one GPU
    return labels


GRID_CASES = {
    # case: (responses, whether the grid takes some slab: always, only in slabs, never)
    "usual": (lambda: _grid_responses(_every(8)), "always"),
    "one instant": (lambda: _grid_responses(_every(1)), "always"),
    # Read in one slab, the ragged GPUs disagree there: the full way.
    "ragged": (lambda: _grid_responses(_ragged), "in slabs"),
    "whole seconds": (lambda: _grid_responses(_whole_seconds), "always"),
    # The slabs before the missing point by the grid, the full way from its block on.
    "a GPU's series differ": (lambda: _grid_responses(_power_differs), "in slabs"),
    "a GPU's series has more": (lambda: _grid_responses(_power_has_more), "in slabs"),
    "a GPU's series ends early": (lambda: _grid_responses(_power_ends_early), "in slabs"),
    "a GPU's label sets differ": (lambda: _grid_responses(_every(8), _extra_label), "never"),
    "one millisecond": (lambda: _grid_responses(_one_millisecond), "never"),
}


def _grid_rows(
    write_file, monkeypatch, responses, streaming, grid: bool, slab_points: int = 10
) -> tuple[list, list]:
    """The rows in the order parsed (every field), and which slabs the grid took; with
    grid=False, every point goes the full way."""
    from costapp.ingest import prometheus

    monkeypatch.setattr(prometheus, "SLAB_POINTS", slab_points)  # several slabs
    slabs: list[bool] = []
    real_slab = prometheus._Grid.slab

    def slab(self, n, low):
        rows = real_slab(self, n, low)
        slabs.append(rows is not None)
        return rows

    monkeypatch.setattr(prometheus._Grid, "slab", slab)
    body = "\n".join(json.dumps(r) for r in responses)
    token = STREAMING.set(streaming)
    try:
        path = write_file("range.json", body)
        file = InputFile.from_path(path)
        parsed = (
            prometheus.parse(file)
            if grid
            else prometheus._rows(
                list(documents(file, expected=prometheus.EXPECTED)), file.name, None, by_gpu=False
            )
        )
        rows = [
            (r.ts, r.gpu_uuid, r.mig_instance, r.source_file, r.source_row, r.gpu_index,
             r.gpu_model, r.hostname, r.resource_id, r.utilization, r.memory_used_mib,
             r.power_w, r.labels)
            for r in parsed
        ]  # fmt: skip
    finally:
        STREAMING.reset(token)
        monkeypatch.undo()
    return rows, slabs


@pytest.mark.parametrize("slab_points", [7, 10, 16])  # slabs and blocks end elsewhere
@pytest.mark.parametrize("streaming", [True, False])
@pytest.mark.parametrize("case", GRID_CASES)
def test_prometheus_range_reads_gpu_by_gpu_as_point_by_point(
    write_file, monkeypatch, case, streaming, slab_points
):
    make, taken = GRID_CASES[case]
    short, slabs = _grid_rows(write_file, monkeypatch, make(), streaming, True, slab_points)
    full, none = _grid_rows(write_file, monkeypatch, make(), streaming, False, slab_points)
    assert short == full  # every field, in the same order
    assert none == [] and short
    assert any(slabs) is (taken == "always" or (taken == "in slabs" and streaming))
    if taken == "in slabs" and streaming:
        assert not all(slabs)  # and slabs the full way
    if case == "usual":
        assert len(short) == 8 * GRID_GPUS - 1
        assert {(r[1], r[4]) for r in short} == {("GPU-0", 1), ("GPU-mig", 1), ("GPU-3", 2)}
        engine = [r[9] for r in short if r[1] == "GPU-0"]
        assert engine[:3] == [Decimal("0.0"), Decimal("0.015"), Decimal("0.2")]


def test_prometheus_range_rows_are_the_instant_by_instant_rows(write_file, monkeypatch):
    """The grid's rows against the same points as vectors (always the full way)."""
    from costapp.ingest import prometheus

    matrix = _grid_responses(_ragged)
    vectors = []
    for k in range(12):
        for response in matrix:
            result = [
                {"metric": s["metric"], "value": point}
                for s in response["data"]["result"]
                for point in s["values"]
                if point[0] == GRID_START + 15 * k
            ]
            vectors.append(
                {"status": "success", "data": {"resultType": "vector", "result": result}}
            )
    short, slabs = _grid_rows(write_file, monkeypatch, matrix, True, grid=True)
    body = "\n".join(json.dumps(r) for r in vectors)
    full = list(prometheus.parse(InputFile.from_path(write_file("range.json", body))))
    assert any(slabs) and len(short) == len(full)
    assert sorted(r[:4] + r[5:] for r in short) == sorted(
        (r.ts, r.gpu_uuid, r.mig_instance, r.source_file, r.gpu_index, r.gpu_model, r.hostname,
         r.resource_id, r.utilization, r.memory_used_mib, r.power_w, r.labels)
        for r in full
    )  # fmt: skip


GRID_ERRORS = {
    # (metric's response, the point's new value, the error's column): GPU 2 at instant 5
    "negative": (3, "-1", "data.result[2].values[5]"),
    "above 100%": (0, "101", "data.result[2].values[5]"),
    "not a number": (3, "12W", "data.result[2].values[5][1]"),
    "a number, not text": (3, 12, "data.result[2].values[5][1]"),
    "a list": (3, [], "data.result[2].values[5][1]"),
    "a timestamp as text": (3, None, "data.result[2].values[5][0]"),
    "in an ignored series": (2, "12W", "data.result[2].values[5][1]"),
    "a point of one item": (3, "drop", "data.result[2].values[5]"),
}


@pytest.mark.parametrize("streaming", [True, False])
@pytest.mark.parametrize("case", GRID_ERRORS)
def test_a_point_the_full_way_refuses_is_located_alike(write_file, monkeypatch, case, streaming):
    metric, value, column = GRID_ERRORS[case]
    responses = _grid_responses(_every(8))
    point = responses[metric]["data"]["result"][2]["values"][5]
    if value is None:
        point[0] = str(point[0])
    elif value == "drop":
        del point[1]
    else:
        point[1] = value
    errors = []
    for grid in (True, False):
        with pytest.raises(ParseError) as caught:
            _grid_rows(write_file, monkeypatch, responses, streaming, grid=grid)
        errors.append((caught.value.line, caught.value.column, caught.value.message))
    assert errors[0] == errors[1]
    assert errors[0][:2] == (metric + 1, column)
