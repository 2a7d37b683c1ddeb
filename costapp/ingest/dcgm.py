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
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import PurePosixPath

from . import prom_text
from .errors import ParseError
from .files import InputFile, numbered_lines
from .parsing import Cell, parse_datetime
from .rows import GpuSampleRow

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


@dataclass
class Reading:
    """One GPU (or MIG slice) at one instant, filled metric by metric."""

    ts: datetime
    gpu_uuid: str
    mig_instance: str
    line: int
    gpu_index: int | None = None
    gpu_model: str = ""
    hostname: str = ""
    values: dict[str, Decimal | None] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def row(self, source_file: str) -> GpuSampleRow | None:
        v = self.values
        if not any(
            v.get(k) is not None
            for k in ("engine_active", "gpu_util", "memory_used_mib", "power_w")
        ):
            return None
        utilization = v.get("engine_active")
        if utilization is None:
            utilization = v.get("gpu_util")
        return GpuSampleRow(
            ts=self.ts,
            gpu_uuid=self.gpu_uuid,
            mig_instance=self.mig_instance,
            gpu_index=self.gpu_index,
            gpu_model=self.gpu_model,
            hostname=self.hostname,
            resource_id=self.hostname if EC2_INSTANCE_ID.fullmatch(self.hostname) else "",
            utilization=utilization,
            memory_used_mib=v.get("memory_used_mib"),
            power_w=v.get("power_w"),
            labels=self.labels,
            source_file=source_file,
            source_row=self.line,
        )


class Readings:
    """Collects samples into readings keyed by (UUID, MIG instance, instant).

    Shared with costapp.ingest.prometheus. A file's readings are held until it ends, which is
    bounded by the scrape (a few hundred series), not by how long the log grows across files.
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.by_key: dict[tuple[str, str, datetime], Reading] = {}

    def add(
        self,
        name: str,
        labels: dict[str, str],
        value: Decimal,
        ts: datetime,
        line: int,
        column: str | int = "",
    ) -> None:
        """Feed one sample; metrics that are neither measures nor GPU info are ignored."""
        measure = MEASURES.get(name)
        if measure is None and name not in NVIDIA_SMI_INFO:
            return
        uuid = labels.get("UUID") or labels.get("uuid") or ""
        if not uuid:
            raise self._error(
                f"{name} has no UUID label", line, column, "a UUID label naming the GPU"
            )
        if not uuid.startswith(("GPU-", "MIG-")):
            uuid = f"GPU-{uuid}"  # nvidia_gpu_exporter strips nvidia-smi's prefix
        mig = labels.get("GPU_I_ID", "")
        reading = self.by_key.get((uuid, mig, ts))
        if reading is None:
            reading = self.by_key[(uuid, mig, ts)] = Reading(ts, uuid, mig, line)
        self._describe(reading, labels, line, column)
        if measure is None:
            return
        key, factor = measure
        if value.is_nan():
            reading.values.setdefault(key, None)
            return
        if not value.is_finite() or value < 0:
            raise self._error(f"{name} is {value}", line, column, "a number >= 0")
        scaled = value * factor
        if key in ("engine_active", "gpu_util") and scaled > 1:
            raise self._error(
                f"{name} is {value}, above 100%",
                line,
                column,
                "a busy ratio in 0..1 (or percent in 0..100 for DCGM_FI_DEV_GPU_UTIL)",
            )
        reading.values[key] = scaled

    def _error(self, message: str, line: int, column: str | int, expected: str) -> ParseError:
        """An error located at a sample of this file, for the caller to raise."""
        return ParseError(message, file=self.file, line=line, column=column, expected=expected)

    def _describe(self, reading: Reading, labels: dict[str, str], line: int, column) -> None:
        index = labels.get("gpu") or labels.get("index")
        if index and reading.gpu_index is None:
            if not index.isdigit():
                raise self._error(
                    f"gpu label {index!r} is not a GPU index", line, column, "a whole number"
                )
            reading.gpu_index = int(index)
        reading.gpu_model = reading.gpu_model or labels.get("modelName") or labels.get("name", "")
        reading.hostname = reading.hostname or labels.get("Hostname", "")
        if "name" in labels:
            return  # nvidia_smi_gpu_info: its labels describe the device, not a workload
        for key, value in labels.items():
            if value and key not in IDENTITY_LABELS and key not in DEVICE_CONSTANTS:
                reading.labels.setdefault(key, value)

    def rows(self) -> Iterator[GpuSampleRow]:
        for reading in self.by_key.values():
            row = reading.row(self.file)
            if row is not None:
                yield row


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
    readings = Readings(file.name)
    fallback = file_name_time(file.name) or file.modified
    scrape_time: list[datetime] = []  # the latest # SCRAPE_TIME seen, if any
    used_fallback = False

    def on_comment(line_no: int, text: str) -> None:
        keyword, _, rest = text.partition(" ")
        if keyword == "SCRAPE_TIME":
            cell = Cell(file.name, line_no, "SCRAPE_TIME")
            scrape_time[:] = [parse_datetime(rest.strip(), cell)]

    lines = numbered_lines(file, expected=EXPECTED)
    for sample in prom_text.parse(lines, file.name, on_comment=on_comment):
        if sample.timestamp is not None:
            ts = from_millis(sample.timestamp)
        elif scrape_time:
            ts = scrape_time[0]
        elif fallback is not None:
            ts, used_fallback = fallback, True
        else:
            raise ParseError(
                "the scrape has no time",
                file=file.name,
                line=sample.line_no,
                expected="per-sample timestamps, a '# SCRAPE_TIME <ISO 8601>' comment, "
                "or a time in the file name such as _20261101T100000Z",
            )
        readings.add(sample.name, sample.labels, sample.value, ts, sample.line_no)
    yield from readings.rows()
    if used_fallback:
        # Returned, not only logged: runs.ingest puts it on the IngestionRun, so whoever reads
        # the run sees that these readings are dated by the file, not by the exporter.
        source = "file name" if file_name_time(file.name) else "file modification time"
        warning = (
            f"{file.name}: samples without a timestamp are dated by the {source}, "
            f"{fallback.isoformat()}"
        )
        log.info("%s", warning)
        return [warning]
    return []
