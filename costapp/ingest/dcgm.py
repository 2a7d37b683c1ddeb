"""GPU telemetry from a DCGM-exporter /metrics scrape (Prometheus text), one row per GPU reading.

Samples are grouped by GPU identity (UUID, plus GPU_I_ID for a MIG slice) and instant into one
GpuSampleRow:
- utilization: DCGM_FI_PROF_GR_ENGINE_ACTIVE (a 0..1 ratio) when present, which measures the
  share of time the engine did work; else DCGM_FI_DEV_GPU_UTIL / 100, which only says a kernel
  was running and overstates busy time;
- memory_used_mib: DCGM_FI_DEV_FB_USED; power_w: DCGM_FI_DEV_POWER_USAGE;
- gpu_index <- `gpu`, gpu_model <- `modelName`, hostname <- `Hostname`, mig_instance <-
  `GPU_I_ID`; resource_id <- `Hostname` when it is an EC2 instance id (`i-` and 8 or 17 hex
  digits, as on kops and self-managed nodes), else "" (GPU mappings resolve the rest);
- labels: every other non-empty label (pod, namespace, container, GPU_I_PROFILE, ...), minus
  per-device constants (driver version, PCI bus id, device name) that only bloat storage.

The nvidia_gpu_exporter family is read too: nvidia_smi_utilization_gpu_ratio,
nvidia_smi_memory_used_bytes, nvidia_smi_power_draw_watts, with model and index from
nvidia_smi_gpu_info / nvidia_smi_index. Its `uuid` label lacks nvidia-smi's "GPU-" prefix, which
is restored so both exporters name a GPU alike. Every other metric is ignored. An identity with
no utilization, memory or power reading yields no row.

The instant of a reading, first found wins:
1. the sample's own timestamp (milliseconds), as federation or `promtool` dumps carry;
2. the latest `# SCRAPE_TIME <ISO 8601>` comment above the sample (our convention for a
   saved scrape: `echo "# SCRAPE_TIME $(date -u +%FT%TZ)"; curl .../metrics`);
3. a timestamp in the file name: `..._20261101T100000Z.prom` or `..._2026-11-01T10-00-00Z.prom`;
4. the file's modification time (local mtime or S3 LastModified, from InputFile.modified) -
   for a file saved as it was scraped that is the scrape time to within the write. It is logged
   and kept as a warning on the ingestion run;
5. none of these (bytes pushed with no time): a ParseError; never silently "now".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Generator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import PurePosixPath

from . import prom_text
from .errors import ParseError
from .files import InputFile, text_chunks
from .parsing import Cell, parse_datetime
from .rows import STREAMING, GpuSampleRow, ReadAgain

KIND = "telemetry"
EXPECTED = "Prometheus text exposition lines, as a DCGM exporter scrape"
log = logging.getLogger(__name__)

EC2_INSTANCE_ID = re.compile(r"i-(?:[0-9a-f]{8}|[0-9a-f]{17})")
FILE_NAME_TIME = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})T(\d{2})[:-]?(\d{2})[:-]?(\d{2})Z")
MIB = Decimal(1 << 20)
HUNDRED = Decimal(100)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Labels that become row fields, or that are the same for every reading of a device.
IDENTITY_LABELS = frozenset(
    {"__name__", "UUID", "uuid", "gpu", "modelName", "Hostname", "GPU_I_ID"}
)
DEVICE_CONSTANTS = frozenset({"DCGM_FI_DRIVER_VERSION", "pci_bus_id", "device"})

# metric name -> (field, factor): the field of the reading it feeds and what to multiply by.
MEASURES: dict[str, tuple[str, Decimal]] = {
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE": ("engine_active", Decimal(1)),
    "DCGM_FI_DEV_GPU_UTIL": ("gpu_util", 1 / HUNDRED),
    "DCGM_FI_DEV_FB_USED": ("memory_used_mib", Decimal(1)),
    "DCGM_FI_DEV_POWER_USAGE": ("power_w", Decimal(1)),
    "nvidia_smi_utilization_gpu_ratio": ("gpu_util", Decimal(1)),
    "nvidia_smi_memory_used_bytes": ("memory_used_mib", 1 / MIB),
    "nvidia_smi_power_draw_watts": ("power_w", Decimal(1)),
}
NVIDIA_SMI_INFO = frozenset({"nvidia_smi_gpu_info", "nvidia_smi_index"})


# The value slots of a reading, in MEASURES' order of fields.
ENGINE_ACTIVE, GPU_UTIL, MEMORY_USED, POWER = range(4)
SLOTS = {"engine_active": ENGINE_ACTIVE, "gpu_util": GPU_UTIL, "memory_used_mib": MEMORY_USED}
SLOTS["power_w"] = POWER
SLOT_OF = {name: SLOTS[field] for name, (field, _) in MEASURES.items()}
# Bounds on Readings' look-up tables (emptied when full), so memory stays flat on any input.
SERIES_HELD = 4096
VALUES_HELD = 65536
UNSEEN = object()  # a look-up miss, where None is a value (NaN: no reading)
IGNORED = object()  # Readings.entry of a metric that is neither a measure nor GPU info


class Series:
    """What one label set says of its GPU, worked out once: a scrape repeats every series'
    labels on every scrape. `labels` is shared by the readings it describes (read only)."""

    __slots__ = (
        "device",
        "gpu_index",
        "hostname",
        "index",
        "info",
        "labels",
        "mig",
        "model",
        "uuid",
    )

    def __init__(self, uuid: str, labels: dict[str, str]) -> None:
        if not uuid.startswith(("GPU-", "MIG-")):
            uuid = f"GPU-{uuid}"  # nvidia_gpu_exporter strips nvidia-smi's prefix
        self.uuid = uuid
        self.mig = labels.get("GPU_I_ID", "")
        self.device = (uuid, self.mig)
        self.index = labels.get("gpu") or labels.get("index")
        self.model = labels.get("modelName") or labels.get("name", "")
        self.hostname = labels.get("Hostname", "")
        # The index as a reading takes it; None as well when it is no whole number, which
        # Reading.describe then reports at the sample.
        self.gpu_index = int(self.index) if self.index and self.index.isdecimal() else None
        # nvidia_smi_gpu_info: its labels describe the device, not a workload.
        self.info = "name" in labels
        self.labels = {} if self.info else _workload(labels)


def _workload(labels: dict[str, str]) -> dict[str, str]:
    return {
        key: value
        for key, value in labels.items()
        if value and key not in IDENTITY_LABELS and key not in DEVICE_CONSTANTS
    }


class Reading:
    """One GPU (or MIG slice) at one instant, filled metric by metric. Each description
    (index, model, host, labels) is the first any of its samples gave."""

    __slots__ = (
        "gpu_index",
        "gpu_model",
        "gpu_uuid",
        "hostname",
        "labels",
        "line",
        "mig_instance",
        "series",
        "shared",
        "ts",
        "values",
    )

    def __init__(self, ts: datetime, series: Series, line: int) -> None:
        """A reading begun by a sample of `series` whose index (if any) is a whole number:
        described by it, as describe() would."""
        self.ts = ts
        self.gpu_uuid = series.uuid
        self.mig_instance = series.mig
        self.line = line
        self.gpu_index: int | None = series.gpu_index
        self.gpu_model = series.model
        self.hostname = series.hostname
        self.labels = series.labels
        self.shared = True  # labels is still the series' dict: copied before it changes
        self.series: Series | None = series
        self.values: list[Decimal | None] = [None, None, None, None]

    def describe(self, series: Series, error: Callable[[str, str], ParseError]) -> None:
        """Take what `series` adds; describing twice by one series changes nothing."""
        index = series.index
        if index and self.gpu_index is None:
            if not index.isdecimal():  # int() refuses some digits, such as "²"
                raise error(f"gpu label {index!r} is not a GPU index", "a whole number")
            self.gpu_index = int(index)
        self.gpu_model = self.gpu_model or series.model
        self.hostname = self.hostname or series.hostname
        if self.series is not None and series.labels is not self.labels:
            missing = series.labels.keys() - self.labels.keys()
            if missing:
                if self.shared:
                    self.labels, self.shared = dict(self.labels), False
                for key, value in series.labels.items():
                    self.labels.setdefault(key, value)
        self.series = series

    def row(self, source_file: str) -> GpuSampleRow | None:
        engine, util, memory, power = self.values
        if engine is None and util is None and memory is None and power is None:
            return None
        hostname = self.hostname
        # Positional, in GpuSampleRow's field order: a keyword call costs a third more.
        return GpuSampleRow(
            self.ts,
            self.gpu_uuid,
            source_file,
            self.line,
            self.mig_instance,
            self.gpu_index,
            self.gpu_model,
            hostname,
            hostname if _ec2_instance(hostname) else "",
            util if engine is None else engine,
            memory,
            power,
            self.labels,
        )


_EC2 = {"": False}


def _ec2_instance(hostname: str) -> bool:
    found = _EC2.get(hostname)
    if found is None:
        if len(_EC2) >= SERIES_HELD:
            _EC2.clear()
        found = _EC2[hostname] = EC2_INSTANCE_ID.fullmatch(hostname) is not None
    return found


class Readings:
    """Collects samples into readings keyed by (UUID, MIG instance, instant).

    Shared with costapp.ingest.prometheus. A file's readings are held until it ends, which is
    bounded by the scrape (a few hundred series), not by how long the log grows across files.
    Rows share their series' labels dict (GpuSampleRow.labels): read it, never change it.
    """

    def __init__(self, file: str) -> None:
        self.file = file
        # instant -> (UUID, MIG instance) -> reading: a scrape's samples share their instant.
        self.by_ts: dict[datetime, dict[tuple[str, str], Reading]] = {}
        self.series_by_labels: dict[object, Series] = {}
        self.entries: dict[object, tuple | None] = {}
        self.scaled: dict[str, dict[str, Decimal | None]] = {}
        self._ts: datetime | None = None
        self._at_ts: dict[tuple[str, str], Reading] = {}

    def add(
        self,
        name: str,
        labels: dict[str, str],
        value: str,
        ts: datetime,
        line: int,
        column: str | int = "",
        key: object = None,
    ) -> None:
        """Feed one sample, its value as the exposition wrote it (prom_text.FLOAT); metrics
        that are neither measures nor GPU info are ignored. `key` names the series when the
        caller has a name for it (equal keys, equal name and labels): its entry is kept."""
        entry = self.entries.get(key) if key is not None else None
        if entry is None:
            entry = self.entry(name, None, labels)
            if key is not None:
                if len(self.entries) >= SERIES_HELD:
                    self.entries.clear()
                self.entries[key] = entry
        if entry is not IGNORED:
            self.put(entry, value, ts, line, column)

    def entry(self, name: str, block: str | None, labels: dict[str, str]) -> tuple | object:
        """What a series (metric name and labels) feeds, worked out once per series:
        (value slot or None for GPU info, Series or None when no label names the GPU,
        converted values of the metric, name); IGNORED for any other metric. `block` is the
        labels' text when the caller has it (prom_text.scan), a cheaper key than the labels."""
        slot = SLOT_OF.get(name)
        if slot is None and name not in NVIDIA_SMI_INFO:
            return IGNORED
        uuid = labels.get("UUID") or labels.get("uuid") or ""
        series = None
        if uuid:
            # Not by name: each metric of a GPU shares its Series (Series ignores __name__).
            key = (
                block
                if block is not None
                else tuple(i for i in labels.items() if i[0] != "__name__")
            )
            series = self.series_by_labels.get(key)
            if series is None:
                if len(self.series_by_labels) >= SERIES_HELD:
                    self.series_by_labels.clear()
                series = self.series_by_labels[key] = Series(uuid, labels)
        known = None
        if slot is not None:
            known = self.scaled.get(name)
            if known is None:
                known = self.scaled[name] = {}
        return slot, series, known, name

    def put(self, entry: tuple, value: str, ts: datetime, line: int, column: str | int) -> None:
        """Feed one sample of a measure or GPU info series (`entry`, from entry())."""
        slot, series, known, name = entry
        if series is None:
            raise self._error(
                f"{name} has no UUID label", line, column, "a UUID label naming the GPU"
            )
        if ts is not self._ts:
            self._ts = ts
            self._at_ts = self.by_ts.get(ts) or self.by_ts.setdefault(ts, {})
        reading = self._at_ts.get(series.device)
        if reading is None and (series.gpu_index is not None or not series.index):
            reading = self._at_ts[series.device] = Reading(ts, series, line)
        elif reading is None or reading.series is not series:
            if reading is None:  # its index is no number: describe() says so, located
                reading = Reading(ts, series, line)
                reading.series, reading.gpu_index = None, None
            reading.describe(series, lambda message, want: self._error(message, line, column, want))
        if slot is None:
            return
        scaled = known.get(value, UNSEEN)
        if scaled is UNSEEN:
            scaled = self._scaled(name, MEASURES[name], value, line, column)
            if len(known) >= VALUES_HELD:
                known.clear()
            known[value] = scaled
        if scaled is not None:  # NaN: no reading of this measure, unless another sample has one
            reading.values[slot] = scaled

    def _scaled(
        self, name: str, measure: tuple[str, Decimal], text: str, line: int, column: str | int
    ) -> Decimal | None:
        field, factor = measure
        value = Decimal(text)
        if value.is_nan():
            return None
        if not value.is_finite() or value < 0:
            raise self._error(f"{name} is {value}", line, column, "a number >= 0")
        scaled = value * factor
        if field in ("engine_active", "gpu_util") and scaled > 1:
            raise self._error(
                f"{name} is {value}, above 100%",
                line,
                column,
                "a busy ratio in 0..1 (or percent in 0..100 for DCGM_FI_DEV_GPU_UTIL)",
            )
        return scaled

    def _error(self, message: str, line: int, column: str | int, expected: str) -> ParseError:
        """An error located at a sample of this file, for the caller to raise."""
        return ParseError(message, file=self.file, line=line, column=column, expected=expected)

    def rows(self) -> Iterator[GpuSampleRow]:
        for at_ts in self.by_ts.values():
            for reading in at_ts.values():
                row = reading.row(self.file)
                if row is not None:
                    yield row

    def current(self) -> tuple[datetime | None, dict[tuple[str, str], Reading]]:
        """The instant put() last filled, and its readings by (UUID, MIG instance)."""
        return self._ts, self._at_ts

    def flush(self, keep: datetime) -> tuple[list[GpuSampleRow], list[datetime]]:
        """The rows of every instant but `keep`, which are forgotten, and those instants."""
        done = [ts for ts in self.by_ts if ts != keep]
        rows = []
        for ts in done:
            for reading in self.by_ts.pop(ts).values():
                row = reading.row(self.file)
                if row is not None:
                    rows.append(row)
        self._ts = None
        return rows, done


def from_millis(millis: int | Decimal) -> datetime:
    return EPOCH + timedelta(milliseconds=int(millis))


def file_name_time(name: str) -> datetime | None:
    match = FILE_NAME_TIME.search(PurePosixPath(name).name)
    if not match:
        return None
    try:
        return datetime(*(int(part) for part in match.groups()), tzinfo=UTC)
    except ValueError:
        return None


def parse(file: InputFile) -> Generator[GpuSampleRow, None, list[str]]:
    """The rows; returns the warnings for the ingestion run (see runs._rows)."""
    scrape = _Scrape(file)
    full = scrape.line
    heads, values = scrape.scanner.heads, scrape.scanner.values
    now, at_ts = scrape.now, scrape.at_ts
    for first, lines in prom_text.numbered_pieces(text_chunks(file, expected=EXPECTED)):
        for line_no, line in enumerate(lines, first):
            # The usual line, read without leaving this loop (prom_text.Scanner): a series seen
            # before, one space, a value its metric has already converted, at the instant
            # before.
            head, _, value = line.rpartition(" ")
            entry = heads.get(head)
            if entry is not None and now is not None:
                if entry is IGNORED:
                    if value in values:
                        continue
                else:
                    slot, series, known, _ = entry
                    if slot is not None and series is not None:
                        scaled = known.get(value, UNSEEN)
                        if scaled is not UNSEEN:
                            reading = at_ts.get(series.device)
                            if reading is None and series.gpu_index is not None:
                                reading = at_ts[series.device] = Reading(now, series, line_no)
                            if reading is not None and reading.series is series:
                                if scaled is not None:
                                    reading.values[slot] = scaled
                                continue
            yield from full(line_no, line)
            now, at_ts = scrape.now, scrape.at_ts
    yield from scrape.readings.rows()
    return scrape.warnings()


class _Scrape:
    """A scrape file's reading, line by line the full way (prom_text.Scanner.read), with what
    parse's short way needs: `now`, the instant of the sample lines now read without a
    timestamp while nothing is due before the next one (no comment since, no flush, its
    readings the current ones), None to send every line the full way; `at_ts`, its readings."""

    def __init__(self, file: InputFile) -> None:
        self.file = file
        self.readings = Readings(file.name)
        self.fallback = file_name_time(file.name) or file.modified
        self.used_fallback = False
        self.scrape_time: datetime | None = None  # the latest # SCRAPE_TIME seen, if any
        self.times: dict[int, datetime] = {}  # per-sample timestamps repeat across series
        # Streaming (when the writer takes rows early): a new # SCRAPE_TIME ends the readings
        # of earlier instants, which go to the writer then, so memory holds one scrape and the
        # database writes while this parses. Should a later sample fall on a flushed instant
        # (a scrape time repeated further down), a flushed reading would have merged it:
        # ReadAgain.
        self.streaming = STREAMING.get()
        self.flushed: set[datetime] = set()
        self.last: datetime | None = None
        self.scanner = prom_text.Scanner(file.name, self.on_comment, self.readings.entry)
        self.now: datetime | None = None
        self.at_ts_of, self.at_ts = self.readings.current()

    def on_comment(self, line_no: int, text: str) -> None:
        keyword, _, rest = text.partition(" ")
        if keyword == "SCRAPE_TIME":
            cell = Cell(self.file.name, line_no, "SCRAPE_TIME")
            self.scrape_time = parse_datetime(rest.strip(), cell)

    def line(self, line_no: int, line: str) -> Iterator[GpuSampleRow]:
        """Read one line (its line end stripped) the full way; the rows it flushes."""
        sample = self.scanner.read(line_no, line)
        self.now = None
        if sample is None:
            return
        line_no, entry, value, millis = sample
        ts = self._instant(line_no, millis)
        readings = self.readings
        if self.streaming and ts is not self.last:
            if ts in self.flushed:
                raise ReadAgain
            if millis is None and self.last is not None and ts != self.last:
                rows, done = readings.flush(keep=ts)
                self.flushed.update(done)
                yield from rows
            self.last = ts
        if entry is not IGNORED:
            readings.put(entry, value, ts, line_no, "")
            self.at_ts_of, self.at_ts = readings.current()
        if millis is None and ts is self.at_ts_of and (ts is self.last or not self.streaming):
            self.now = ts

    def _instant(self, line_no: int, millis: int | None) -> datetime:
        if millis is not None:
            ts = self.times.get(millis)
            if ts is None:
                if len(self.times) >= SERIES_HELD:
                    self.times.clear()
                ts = self.times[millis] = from_millis(millis)
            return ts
        if self.scrape_time is not None:
            return self.scrape_time
        if self.fallback is not None:
            self.used_fallback = True
            return self.fallback
        raise ParseError(
            "the scrape has no time",
            file=self.file.name,
            line=line_no,
            expected="per-sample timestamps, a '# SCRAPE_TIME <ISO 8601>' comment, "
            "or a time in the file name such as _20261101T100000Z",
        )

    def warnings(self) -> list[str]:
        if not self.used_fallback:
            return []
        # Returned, not only logged: runs.ingest puts it on the IngestionRun, so whoever reads
        # the run sees that these readings are dated by the file, not by the exporter.
        source = "file name" if file_name_time(self.file.name) else "file modification time"
        warning = (
            f"{self.file.name}: samples without a timestamp are dated by the {source}, "
            f"{self.fallback.isoformat()}"
        )
        log.info("%s", warning)
        return [warning]
