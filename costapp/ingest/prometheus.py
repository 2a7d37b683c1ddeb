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
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import chain, islice, repeat
from operator import is_, lt

from .dcgm import (
    ENGINE_ACTIVE,
    GPU_UTIL,
    IGNORED,
    MEASURES,
    MEMORY_USED,
    POWER,
    SERIES_HELD,
    UNSEEN,
    VALUES_HELD,
    Reading,
    Readings,
    _ec2_instance,
    from_millis,
)
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
    with _collector_paused() as resume:
        responses = list(documents(file, expected=EXPECTED))
        resume()
        yield from _rows(responses, file.name, None)


# A decoded range query is a list per point (a day of 256 GPUs at 15 s, three metrics: 1.1M
# lists), all alive until the file is read. Python's cyclic collector would scan them again and
# again, while decoding (each list is a new container) and then at every older-generation pass
# while the points are merged: a third of the parsing time (bench ingest). Nothing here makes
# reference cycles, so the collector is paused while decoding, and what is alive then is kept
# out of its passes (gc.freeze) while merging. It is frozen before the collector resumes:
# else the first allocation after would scan all of it once, as the youngest generation. A
# process that froze objects itself (a prefork server does so before forking) is left as it
# is: unfreezing would undo its freeze.


@contextmanager
def _collector_paused() -> Iterator[Callable[[], None]]:
    """The collector paused; the function given freezes what is alive and resumes it."""
    enabled = gc.isenabled()
    ours = gc.get_freeze_count() == 0
    frozen = False

    def resume() -> None:
        nonlocal frozen
        if ours:
            gc.freeze()
            frozen = True
        if enabled:
            gc.enable()

    gc.disable()
    try:
        yield resume
    finally:
        if frozen:
            gc.unfreeze()
        if enabled:
            gc.enable()


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
    by_gpu: bool = True,
) -> Iterator[GpuSampleRow]:
    """Every series is checked and planned first; its points are then fed slab by slab of time
    when the writer takes rows early (STREAMING) and every response is a matrix: a matrix
    series' points ascend in time, so once each series has fed its points before a slab's end,
    the readings held are complete and go to the writer while later slabs parse (the COPY
    overlaps the parsing, as it does for DCGM text). A point before a slab already fed (points
    out of order) would merge into a reading already written: ReadAgain, for the whole
    delivery read in one slab. Vectors snap instants to each other in reading order, so they
    are always fed in one slab. The usual matrix's slabs are made GPU by GPU (_Grid), with
    the same rows in the same order (`by_gpu` False: every point the full way, which the tests
    compare it with)."""
    merge = _Merge(source_name)
    plan = merge.plan(responses, metric_names)
    if merge.vectors or not plan:
        for series in plan:
            merge.feed(series, INFINITY, -INFINITY)
        yield from merge.readings.rows()
        return
    # The usual range response goes GPU by GPU (_Grid); a slab it cannot take, the full way.
    ends = _slab_ends(plan) if STREAMING.get() else [INFINITY]
    grid = _grid(merge, plan, ends) if by_gpu else None
    low = -INFINITY
    for n, stop in enumerate(ends):
        rows = grid.slab(n, low) if grid is not None else None
        if rows is None:
            if grid is not None:
                grid.sync()
                if grid.refused:
                    grid = None  # its series may go on unlike each other: the full way
            for series in plan:
                merge.feed(series, stop, low)
            if grid is not None:
                grid.synced()
            rows = merge.readings.flush(keep=None)[0]
        yield from rows
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
    return _instant(raw_ts), raw_value


def _instant(raw_ts: int | float) -> datetime:
    # repr keeps the millisecond digits Prometheus wrote, without binary float noise.
    return from_millis((Decimal(repr(raw_ts)) * 1000).to_integral_value())


def _snap(ts: datetime, anchors: list[datetime]) -> datetime:
    for anchor in anchors:
        if abs(ts - anchor) <= VECTOR_TOLERANCE:
            return anchor
    anchors.append(ts)
    return ts


# --- the usual range response, GPU by GPU ---
#
# A range query evaluates every series on one start + k*step grid, so the series of one GPU
# (utilization, memory, power) carry the same instants. Such a GPU's readings are its series'
# values side by side. _grid checks each point's shape and each distinct list of instants
# once per file (as _point would); its values are converted block by block of slabs (each
# distinct text once, as Readings.put would), the first block small so that the first rows
# reach the writer early, while the next ones parse. A slab's rows are made column by column,
# in the order the full way flushes them: instant by instant, and within an instant, GPUs in
# the order of their first series.
#
# Anything else goes the full way, so the rows, their order and every error stay the full
# way's: a file with a series the grid does not take (GPU info, no UUID, an index
# Reading.describe reports, another label set or other instants for one GPU, a point of
# another shape, instants out of order or two in one millisecond) from its start; a slab
# whose GPUs' instants differ there; from a block with a value the full way refuses (it
# raises where the full way raises, after the same rows).


class _Instants:
    """A list of instants shared by GPUs: raw timestamps, datetimes, the next point's index
    (lo), the slab's end (hi), and the end of the values converted (end)."""

    __slots__ = ("at", "block", "end", "hi", "lo", "raw", "series")

    def __init__(self, raw: tuple, at: list[datetime]) -> None:
        self.raw, self.at = raw, at
        self.lo = self.hi = self.end = 0
        self.block: tuple = ()  # raw[lo:end]
        self.series: list[list] = []  # planned series on these instants, to sync PLAN_NEXT


class _Gpu:
    """A GPU's series on one list of instants, and their values over the block converted
    (the point at index `base` first)."""

    __slots__ = ("base", "fields", "instants", "labels", "memory", "power", "series", "util")

    def __init__(self, instants: _Instants, fields: tuple, labels: dict) -> None:
        self.instants, self.fields, self.labels = instants, fields, labels
        # (slot, value texts or None, points, its metric's converted values, name, line)
        self.series: list[tuple] = []
        self.base = 0
        self.util: list = []
        self.memory: list = []
        self.power: list = []


class _Grid:
    """The rows of GPUs whose series share their instants, slab by slab."""

    def __init__(self, merge: _Merge, ignored: list[list], ends: list[float]) -> None:
        self.merge = merge
        self.ignored = ignored  # fed the full way: their points are checked, nothing kept
        self.ends = ends
        self.instants: list[_Instants] = []
        self.gpus: list[_Gpu] = []
        self.fields: list[list] = []  # per field from gpu_uuid to resource_id: GPU by GPU
        self.labels: list[dict] = []
        self.nones: list[None] = []
        self.sparse = False  # some instant of a GPU in the block has no value (all NaN)
        self.block_end = 0  # the slab the block converted ends before
        self.block_slabs = 1
        self.refused = False  # a value the full way refuses: the full way from that block on

    def slab(self, n: int, low: float) -> list[GpuSampleRow] | None:
        """The rows of the points before slab n's end; None when the full way is to read the
        slab (nothing is consumed then)."""
        if n >= self.block_end and not self.refused:
            self.block_end = min(len(self.ends), n + self.block_slabs)
            self.block_slabs *= 2
            self.refused = not self._convert(self.ends[self.block_end - 1])
        if self.refused:
            return None
        stop = self.ends[n]
        first = self.instants[0]
        stamps = None
        for instants in self.instants:
            instants.hi = bisect_left(instants.raw, stop, instants.lo)
            if stamps is None:
                stamps = first.raw[first.lo : first.hi]
            elif instants.raw[instants.lo : instants.hi] != stamps:
                return None
        for series in self.ignored:
            self.merge.feed(series, stop, low)
        gpus = self.gpus
        count = first.hi - first.lo
        util: list[list] = []
        memory: list[list] = []
        power: list[list] = []
        for gpu in gpus:
            lo, hi = gpu.instants.lo - gpu.base, gpu.instants.hi - gpu.base
            util.append(gpu.util[lo:hi])
            memory.append(gpu.memory[lo:hi])
            power.append(gpu.power[lo:hi])
        rows = list(
            map(
                GpuSampleRow,
                chain.from_iterable(map(repeat, first.at[first.lo : first.hi], repeat(len(gpus)))),
                *(chain.from_iterable(repeat(field, count)) for field in self.fields),
                # each GPU's values of the slab, instant by instant
                *(chain.from_iterable(zip(*c, strict=True)) for c in (util, memory, power)),
                chain.from_iterable(repeat(self.labels, count)),
            )
        )
        for instants in self.instants:
            instants.lo = instants.hi
        if self.sparse:
            rows = [
                r
                for r in rows
                if r.utilization is not None
                or r.memory_used_mib is not None
                or r.power_w is not None
            ]
        return rows

    def _convert(self, stop: float) -> bool:
        """Convert the values of the points from each GPU's next one up to `stop`; False when
        one is not a value the full way takes."""
        for instants in self.instants:
            instants.end = bisect_left(instants.raw, stop, instants.lo)
            instants.block = instants.raw[instants.lo : instants.end]
        merge, nones = self.merge, self.nones
        sparse = False
        for gpu in self.gpus:
            lo, hi = gpu.instants.lo, gpu.instants.end
            columns: list[list | None] = [None, None, None, None]
            for slot, texts, points, known, name, line in gpu.series:
                if texts is None:
                    texts = _texts_on(points, gpu.instants, stop)
                    if texts is None:
                        return False
                else:
                    texts = texts[lo:hi]
                converted = _values(merge, name, known, texts, line)
                if converted is None:
                    return False
                columns[slot], nan = converted
                sparse = sparse or nan
            engine, util = columns[ENGINE_ACTIVE], columns[GPU_UTIL]
            if engine is not None and util is not None:
                util = [u if e is None else e for e, u in zip(engine, util, strict=True)]
            else:
                util = engine if util is None else util
            gpu.util = nones if util is None else util
            gpu.memory = nones if columns[MEMORY_USED] is None else columns[MEMORY_USED]
            gpu.power = nones if columns[POWER] is None else columns[POWER]
            gpu.base = lo
        self.sparse = sparse
        return True

    def sync(self) -> None:
        """Before the full way feeds a slab: each series goes on from where the grid is."""
        for instants in self.instants:
            for series in instants.series:
                series[PLAN_NEXT] = instants.lo

    def synced(self) -> None:
        """After: the grid goes on from where the full way stopped."""
        for instants in self.instants:
            instants.lo = instants.series[0][PLAN_NEXT]


def _grid(merge: _Merge, plan: list[list], ends: list[float]) -> _Grid | None:
    """The plan's GPUs as a _Grid; None when any series is not the usual one."""
    ignored: list[list] = []
    by_gpu: dict[tuple[str, str], list[list]] = {}
    for series in plan:
        entry = series[PLAN_ENTRY]
        if entry is IGNORED:
            ignored.append(series)
        elif series[PLAN_POINTS]:  # a series without points feeds nothing
            slot, gpu, _, _ = entry
            if slot is None or gpu is None or gpu.gpu_index is None:
                return None  # GPU info, no UUID, or an index Reading.describe reports
            by_gpu.setdefault(gpu.device, []).append(series)
    if not by_gpu:
        return None
    grid = _Grid(merge, ignored, ends)
    shared: dict[tuple, _Instants] = {}
    for group in by_gpu.values():
        first = group[0]
        gpu = first[PLAN_ENTRY][1]
        points = first[PLAN_POINTS]
        if set(map(type, points)) != {list} or set(map(len, points)) != {2}:
            return None
        raw, texts = zip(*points, strict=True)
        instants = shared.get(raw) or _shared_instants(raw, merge.times, shared)
        if instants is None:
            return None
        host = gpu.hostname
        fields = (
            gpu.uuid,
            merge.readings.file,
            first[PLAN_LINE],
            gpu.mig,
            gpu.gpu_index,
            gpu.model,
            host,
            host if _ec2_instance(host) else "",
        )
        found = _Gpu(instants, fields, gpu.labels)
        grid.gpus.append(found)
        slots: set[int] = set()
        for series in group:
            slot, series_gpu, known, name = series[PLAN_ENTRY]
            if series_gpu is not gpu or slot in slots:
                return None  # another label set of the GPU, or a second series of a value
            slots.add(slot)
            instants.series.append(series)
            # The GPU's further series are checked block by block (_texts_on), so that the
            # first rows go out sooner.
            found.series.append(
                (
                    slot,
                    texts if series is first else None,
                    series[PLAN_POINTS],
                    known,
                    name,
                    series[PLAN_LINE],
                )
            )
    grid.instants = list(shared.values())
    grid.fields = [list(field) for field in zip(*(g.fields for g in grid.gpus), strict=True)]
    grid.labels = [g.labels for g in grid.gpus]
    grid.nones = [None] * max(len(instants.raw) for instants in grid.instants)
    return grid


def _shared_instants(raw: tuple, times: dict, shared: dict) -> _Instants | None:
    """The instants `raw` names, when each is a timestamp _point takes and they ascend."""
    if not set(map(type, raw)) <= {int, float} or not all(map(lt, raw, islice(raw, 1, None))):
        return None
    try:
        at = [times.get(t) or _instant(t) for t in raw]
    except (ArithmeticError, ValueError):  # NaN, Infinity or out of range: _point says so
        return None
    # Two timestamps in one millisecond are one instant: the full way merges their readings.
    if not all(map(lt, at, islice(at, 1, None))):
        return None
    instants = shared[raw] = _Instants(raw, at)
    return instants


def _texts_on(points: list, instants: _Instants, stop: float) -> tuple | None:
    """The value texts of a GPU's further series over the block, when its points there are
    the usual ones on the GPU's instants and the next one is where the full way stops."""
    piece = points[instants.lo : instants.end]
    if not piece:
        texts: tuple = ()
        if instants.block:
            return None
    elif set(map(type, piece)) != {list} or set(map(len, piece)) != {2}:
        return None
    else:
        raw, texts = zip(*piece, strict=True)
        if raw != instants.block:
            return None
    if instants.end < len(points):
        after = points[instants.end]
        if not (
            type(after) is list
            and len(after) == 2
            and type(after[0]) in (int, float)
            and after[0] >= stop
        ):
            return None
    return texts


def _values(
    merge: _Merge, name: str, known: dict, texts: tuple, line: int
) -> tuple[list[Decimal | None], bool] | None:
    """The values converted as Readings.put converts them, and whether one is NaN (None);
    None when a text is not a value the full way takes (it locates the error). Looked up in
    C (map), each text new to the metric converted once."""
    try:
        column = list(map(known.get, texts, repeat(UNSEEN)))
    except TypeError:  # a list or object: not a value
        return None
    if any(map(is_, column, repeat(UNSEEN))):
        if len(known) >= VALUES_HELD:
            known.clear()
        readings = merge.readings
        for text in set(texts).difference(known):
            if type(text) is not str or not FLOAT.fullmatch(text):
                return None
            try:
                known[text] = readings._scaled(name, MEASURES[name], text, line, "")
            except ParseError:
                return None
        column = list(map(known.__getitem__, texts))
    return column, any(map(is_, column, repeat(None)))
