"""The whole demo dataset at once: bill, telemetry and request logs under one folder.

The demo covers the `days` days that end at `end` (exclusive, on the hour, UTC): by default the
current hour, so the dashboard and `/sources/` describe data as fresh as a live deployment's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .billing import generate_billing
from .telemetry import generate_telemetry
from .traffic import generate_requests

DEFAULT_DAYS = 30
DEFAULT_SEED = 7


@dataclass(frozen=True)
class DemoFiles:
    billing: list[Path]
    telemetry: list[Path]
    requests: list[Path]


def current_hour() -> datetime:
    """The start of the current hour (UTC): the demo's data runs up to it."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def parse_end(value: str) -> datetime:
    """An end given on the command line: YYYY-MM-DD (midnight) or YYYY-MM-DDTHH:00, UTC unless an
    offset is given. Anything else is refused with the expected form."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a date (expected YYYY-MM-DD or YYYY-MM-DDTHH:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment.minute or moment.second or moment.microsecond:
        raise ValueError(f"{value!r} is not on the hour (expected YYYY-MM-DDTHH:00)")
    return moment.astimezone(UTC)


def window(end: datetime, days: int) -> tuple[datetime, datetime]:
    """[start, end) of a demo of `days` days ending at `end` (on the hour, aware)."""
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    if end.tzinfo is None or end != end.replace(minute=0, second=0, microsecond=0):
        raise ValueError(f"the demo must end on the hour in a known time zone, not {end}")
    end = end.astimezone(UTC)
    return end - timedelta(days=days), end


def generate_dataset(
    outdir: Path, *, end: datetime, seed: int = DEFAULT_SEED, days: int = DEFAULT_DAYS
) -> DemoFiles:
    """Write billing/, telemetry/ and requests/ under outdir; same seed and end, same bytes."""
    start, end = window(end, days)
    return DemoFiles(
        billing=generate_billing(outdir / "billing", seed=seed, start=start, end=end),
        telemetry=generate_telemetry(outdir / "telemetry", seed=seed, start=start, end=end),
        requests=generate_requests(outdir / "requests", seed=seed, start=start, end=end),
    )
