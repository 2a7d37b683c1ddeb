"""GPU telemetry read back from Prometheus's HTTP API: `/api/v1/query` (vector) and
`/api/v1/query_range` (matrix) responses for the DCGM metrics, merged into one row per GPU reading.

A file holds one response, a JSON list of responses (one per metric), or one response a line.
The sources layer feeds live HTTP results through `rows_from_responses`, so files and live reads
share one code path. Metrics and fields are those of costapp.ingest.dcgm (GR_ENGINE_ACTIVE over
GPU_UTIL/100, FB_USED, POWER_USAGE); other series are ignored.

Merging: samples merge per (UUID, GPU_I_ID, timestamp). Range queries evaluate on a shared
start + k*step grid, so their timestamps agree exactly across metrics. Instant queries are
evaluated one after another (the fixtures differ by 260 ms), so vector timestamps within
VECTOR_TOLERANCE of an earlier vector's timestamp are snapped to it: one reading, not two halves.

Labels: Prometheus adds target labels (instance, job, service, endpoint) that describe the
exporter, not the workload; they are dropped. With honor_labels off (the default), the workload's
own pod/namespace/container arrive as exported_pod/..., and are stored under their plain names;
when no exported_* labels exist and `pod` names the exporter itself (it starts with the job or
service name, as "nvidia-dcgm-exporter-wqqqn" does), pod/namespace/container are dropped too.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

from .dcgm import IGNORED, SERIES_HELD, UNSEEN, VALUES_HELD, Reading, Readings, from_millis
from .errors import ParseError, Where
from .files import InputFile
from .jsondocs import documents
from .prom_text import FLOAT
from .rows import STREAMING, GpuSampleRow, ReadAgain

KIND = "telemetry"
VECTOR_TOLERANCE = timedelta(seconds=10)
TARGET_LABELS = frozenset({"instance", "job", "service", "endpoint", "prometheus"})
WORKLOAD_LABELS = ("pod", "namespace", "container", "pod_uid")
EXPECTED = "a Prometheus API response"


def parse(file: InputFile) -> Iterator[GpuSampleRow]:
    with _collector_paused():
        responses = list(documents(file, expected=EXPECTED))
    with _held_objects_frozen():
        yield from _rows(responses, file.name, None)


# A decoded range query is a list per point (a day of 256 GPUs at 15 s, three metrics: 1.1M
# lists), all alive until the file is read. Python's cyclic collector would scan them again and
# again, while decoding (each list is a new container) and then at every older-generation pass
# while the points are merged: a third of the parsing time (bench ingest). Nothing here makes
# reference cycles, so the collector is paused while decoding, and what is alive then is kept
# out of its passes (gc.freeze) while merging. A process that froze objects itself (a prefork
# server does so before forking) is left as it is: unfreezing would undo its freeze.


@contextmanager
def _collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _held_objects_frozen() -> Iterator[None]:
    ours = gc.get_freeze_count() == 0
    if ours:
        gc.freeze()
    try:
        yield
    finally:
        if ours:
            gc.unfreeze()


def rows_from_responses(
    responses: list[dict],
    source_name: str,
    metric_names: Sequence[str | None] | None = None,
) -> Iterator[GpuSampleRow]:
    """Rows from parsed API responses. `metric_names[i]` names the metric of response i when its
    query dropped `__name__` (any function applied, e.g. avg_over_time); errors use the
    response's position as the line."""
    yield from _rows(list(enumerate(responses, start=1)), source_name, metric_names)


def _rows(
    responses: Iterable[tuple[int, object]],
    source_name: str,
    metric_names: Sequence[str | None] | None,
) -> Iterator[GpuSampleRow]:
    """Every series is checked and planned first; its points are then fed slab by slab of time
    when the writer takes rows early (STREAMING) and every response is a matrix: a matrix
    series' points ascend in time, so once each series has fed its points before a slab's end,
    the readings held are complete and go to the writer while later slabs parse (the COPY
    overlaps the parsing, as it does for DCGM text). A point before a slab already fed (points
    out of order) would merge into a reading already written: ReadAgain, for the whole
    delivery read in one slab. Vectors snap instants to each other in reading order, so they
    are always fed in one slab."""
    merge = _Merge(source_name)
    plan = merge.plan(responses, metric_names)
    if not STREAMING.get() or merge.vectors or not plan:
        for series in plan:
            merge.feed(series, INFINITY, -INFINITY)
        yield from merge.readings.rows()
        return
    low = -INFINITY
    for stop in _slab_ends(plan):
        for series in plan:
            merge.feed(series, stop, low)
        yield from merge.readings.flush(keep=None)[0]
        low = stop


INFINITY = float("inf")
SLAB_POINTS = 4096  # points per slab, about: each slab ends in one flush of its readings
SLABS_MAX = 256


def _slab_ends(plan: list[list]) -> list[float]:
    """Slab ends evenly spread over the plan's time span, the last one past every point."""
    firsts, lasts, points = [], [], 0
    for series in plan:
        found = series[PLAN_POINTS]
        points += len(found)
        for point in (found[0], found[-1]) if found else ():
            if type(point) is list and len(point) == 2 and type(point[0]) in (int, float):
                firsts.append(point[0])
                lasts.append(point[0])
    if not firsts:
        return [INFINITY]
    start, end = min(firsts), max(lasts)
    slabs = max(1, min(SLABS_MAX, points // SLAB_POINTS))
    step = (end - start) / slabs
    if step <= 0:
        return [INFINITY]
    return [start + step * k for k in range(1, slabs)] + [INFINITY]


# A planned series: [points, next point's index, entry (Readings.entry), Where, line, path of
# the series in its response, path of its points ("" for a matrix: each point's own)].
PLAN_POINTS, PLAN_NEXT, PLAN_ENTRY, PLAN_WHERE, PLAN_LINE, PLAN_PATH, PLAN_POINT_PATH = range(7)


class _Merge:
    """Points of every series merged into readings (costapp.ingest.dcgm.Readings)."""

    def __init__(self, source_name: str) -> None:
        self.readings = Readings(source_name)
        self.anchors: list[datetime] = []
        self.vectors = False
        # A range query's grid repeats its instants and values across every series: each is
        # converted once. Bounded like Readings' tables.
        self.times: dict[int | float, datetime] = {}
        self.values: set[str] = set()

    def plan(
        self, responses: Iterable[tuple[int, object]], metric_names: Sequence[str | None] | None
    ) -> list[list]:
        """Each series checked (shape, name) and what it feeds worked out, in file order."""
        planned = []
        for index, (line, response) in enumerate(responses):
            hint = metric_names[index] if metric_names else None
            where = Where(self.readings.file, line, EXPECTED)
            result_type, result = _result(response, where)
            for n, series in enumerate(result):
                path = f"data.result[{n}]"
                if not isinstance(series, dict) or not isinstance(series.get("metric"), dict):
                    raise where.error("a series must be an object with a metric", f"{path}.metric")
                metric = series["metric"]
                name = metric.get("__name__") or hint
                if not name:
                    raise where.error(
                        "the series has no __name__ and no metric name was given", f"{path}.metric"
                    )
                if result_type == "vector":
                    self.vectors = True
                    points, point_path = [series.get("value")], f"{path}.value"
                else:
                    points = series.get("values")
                    if not isinstance(points, list):
                        raise where.error("a matrix series needs a values list", f"{path}.values")
                    point_path = ""
                entry = self.readings.entry(name, None, workload_labels(metric))
                planned.append([points, 0, entry, where, line, path, point_path])
        return planned

    def feed(self, series: list, stop: float, low: float) -> None:
        """Feed the series' points from where it stopped up to `stop` (seconds, excluded); a
        point before `low` (a slab already flushed) raises ReadAgain."""
        points, i, entry, where, line, path, point_path = series
        times, values, readings = self.times, self.values, self.readings
        by_ts = readings.by_ts
        slot, gpu, known, _ = entry if entry is not IGNORED else (None, None, None, None)
        vector = bool(point_path)
        end = len(points)
        while i < end:
            point = points[i]
            # The usual point, [seconds, "value"] with both seen before, costs two look-ups;
            # anything else is read (and located when wrong) by _point.
            ts = value = None
            if type(point) is list and len(point) == 2:
                raw_ts, value = point
                if type(raw_ts) is float or type(raw_ts) is int:
                    if raw_ts >= stop:
                        break
                    if raw_ts < low:
                        raise ReadAgain
                    ts = times.get(raw_ts)
            if ts is None or type(value) is not str or value not in values:
                ts, value = _point(point, where, point_path or f"{path}.values[{i}]")
                if len(times) >= SERIES_HELD:
                    times.clear()
                if len(values) >= VALUES_HELD:
                    values.clear()
                times[point[0]] = ts
                values.add(value)
            i += 1
            if vector:
                ts = _snap(ts, self.anchors)
            if entry is IGNORED:
                continue
            # Readings.put, inlined for the usual point: a reading its series begins or has
            # begun (an earlier metric of the GPU at this instant), a value seen before.
            if slot is not None and gpu is not None:
                at_ts = by_ts.get(ts)
                if at_ts is None:
                    at_ts = by_ts[ts] = {}
                reading = at_ts.get(gpu.device)
                if reading is None and gpu.gpu_index is not None:
                    reading = at_ts[gpu.device] = Reading(ts, gpu, line)
                if reading is not None and reading.series is gpu:
                    scaled = known.get(value, UNSEEN)
                    if scaled is not UNSEEN:
                        if scaled is not None:
                            reading.values[slot] = scaled
                        continue
            try:
                readings.put(entry, value, ts, line, "")
            except ParseError as exc:  # located here: most points never need their path
                raise where.error(
                    exc.message, point_path or f"{path}.values[{i - 1}]", exc.expected
                ) from None
        series[PLAN_NEXT] = i


def workload_labels(metric: dict[str, str]) -> dict[str, str]:
    """The series' labels as the exporter meant them (see the module docstring)."""
    labels = {k: str(v) for k, v in metric.items() if k not in TARGET_LABELS}
    exported = {k: v for k, v in labels.items() if k.startswith("exported_")}
    if exported:
        for key, value in exported.items():
            del labels[key]
            labels[key.removeprefix("exported_")] = value
        return labels
    target = metric.get("job") or metric.get("service") or ""
    if target and labels.get("pod", "").startswith(target):
        for key in WORKLOAD_LABELS:
            labels.pop(key, None)
    return labels


def _result(response: object, where: Where) -> tuple[str, list]:
    if not isinstance(response, dict):
        raise where.error("not a JSON object", "")
    if response.get("status") != "success":
        detail = response.get("error") or response.get("status")
        raise where.error(f"the query did not succeed ({detail})", "status")
    data = response.get("data")
    if not isinstance(data, dict):
        raise where.error("no data object", "data")
    result_type = data.get("resultType")
    if result_type not in ("vector", "matrix"):
        raise where.error(
            f"resultType {result_type!r} is not a vector or matrix", "data.resultType"
        )
    result = data.get("result")
    if not isinstance(result, list):
        raise where.error("data.result must be a list", "data.result")
    return result_type, result


def _point(point: object, where: Where, path: str) -> tuple[datetime, str]:
    """The point's instant and its value's text (a number FLOAT allows)."""
    if not (isinstance(point, list) and len(point) == 2):
        raise where.error('a sample must be [timestamp, "value"]', path)
    raw_ts, raw_value = point
    if isinstance(raw_ts, bool) or not isinstance(raw_ts, int | float):
        raise where.error(f"{raw_ts!r} is not a Unix timestamp", f"{path}[0]")
    if not isinstance(raw_value, str) or not FLOAT.fullmatch(raw_value):
        raise where.error(f"{raw_value!r} is not a number", f"{path}[1]")
    # repr keeps the millisecond digits Prometheus wrote, without binary float noise.
    millis = (Decimal(repr(raw_ts)) * 1000).to_integral_value()
    return from_millis(millis), raw_value


def _snap(ts: datetime, anchors: list[datetime]) -> datetime:
    for anchor in anchors:
        if abs(ts - anchor) <= VECTOR_TOLERANCE:
            return anchor
    anchors.append(ts)
    return ts
