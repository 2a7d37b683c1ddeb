"""The whole demo dataset at once: bill, telemetry and request logs under one folder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .billing import generate_billing
from .telemetry import generate_telemetry
from .traffic import generate_requests

DEFAULT_START = date(2026, 10, 1)
DEFAULT_DAYS = 30
DEFAULT_SEED = 7


@dataclass(frozen=True)
class DemoFiles:
    billing: list[Path]
    telemetry: list[Path]
    requests: list[Path]


def generate_dataset(
    outdir: Path, *, seed: int = DEFAULT_SEED, start: date = DEFAULT_START, days: int = DEFAULT_DAYS
) -> DemoFiles:
    """Write billing/, telemetry/ and requests/ under outdir; same seed, same bytes."""
    return DemoFiles(
        billing=generate_billing(outdir / "billing", seed=seed, start=start, days=days),
        telemetry=generate_telemetry(outdir / "telemetry", seed=seed, start=start, days=days),
        requests=generate_requests(outdir / "requests", seed=seed, start=start, days=days),
    )
