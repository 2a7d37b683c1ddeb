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

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from .dcgm import IGNORED, SERIES_HELD, UNSEEN, VALUES_HELD, Readings, from_millis
from .errors import ParseError, Where
from .files import InputFile
from .jsondocs import documents
from .prom_text import FLOAT
from .rows import GpuSampleRow

KIND = "telemetry"
VECTOR_TOLERANCE = timedelta(seconds=10)
TARGET_LABELS = frozenset({"instance", "job", "service", "endpoint", "prometheus"})
WORKLOAD_LABELS = ("pod", "namespace", "container", "pod_uid")
EXPECTED = "a Prometheus API response"


def parse(file: InputFile) -> Iterator[GpuSampleRow]:
    responses: list[tuple[int, object]] = []
    for line, doc in documents(file, expected=EXPECTED):
        responses.append((line, doc))
    yield from _rows(responses, file.name, None)


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
    readings = Readings(source_name)
    by_ts = readings.by_ts
    anchors: list[datetime] = []
    # A range query's grid repeats its instants and values across every series: each is
    # converted once. Bounded like Readings' tables.
    times: dict[int | float, datetime] = {}
    values: set[str] = set()
    for index, (line, response) in enumerate(responses):
        hint = metric_names[index] if metric_names else None
        where = Where(source_name, line, EXPECTED)
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
            labels = workload_labels(metric)
            if result_type == "vector":
                points, point_path = [series.get("value")], f"{path}.value"
            else:
                points = series.get("values")
                if not isinstance(points, list):
                    raise where.error("a matrix series needs a values list", f"{path}.values")
                point_path = ""
            entry = readings.entry(name, None, labels)  # what this series feeds, once
            for i, point in enumerate(points):
                # The usual point, [seconds, "value"] with both seen before, costs two look-ups;
                # anything else is read (and located when wrong) by _point.
                ts = value = None
                if type(point) is list and len(point) == 2:
                    raw_ts, value = point
                    if type(raw_ts) is float or type(raw_ts) is int:
                        ts = times.get(raw_ts)
                if ts is None or type(value) is not str or value not in values:
                    ts, value = _point(point, where, point_path or f"{path}.values[{i}]")
                    if len(times) >= SERIES_HELD:
                        times.clear()
                    if len(values) >= VALUES_HELD:
                        values.clear()
                    times[point[0]] = ts
                    values.add(value)
                if result_type == "vector":
                    ts = _snap(ts, anchors)
                if entry is IGNORED:
                    continue
                # Readings.put, inlined for the usual point: a reading its series has begun
                # (an earlier metric of the GPU at this instant), a value seen before.
                slot, gpu, known, _ = entry
                if slot is not None and gpu is not None:
                    at_ts = by_ts.get(ts)
                    reading = at_ts.get(gpu.device) if at_ts is not None else None
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
                        exc.message, point_path or f"{path}.values[{i}]", exc.expected
                    ) from None
    yield from readings.rows()


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
