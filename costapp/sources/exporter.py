"""DCGM exporter endpoints scraped directly, for fleets without a Prometheus server.

Each poll GETs every URL of the location (separated by spaces, commas or new lines, e.g.
"http://gpu-node-1:9400/metrics http://gpu-node-2:9400/metrics") and hands the answers to
costapp.ingest.dcgm as one delivery. The exporter's text carries no timestamps, so each body is
stamped with the instant it was fetched (`# SCRAPE_TIME`, the dcgm format's convention). An
hour's utilization is the mean of that hour's scrapes: schedule the source every minute or two
(schedule_minutes), or read Prometheus instead, which keeps every 15-second sample.

An endpoint that cannot be reached or answers an error is recorded as a failed run of its own
(shown on /sources/) while the others are stored: a scrape is a moment, so retrying it later
would not bring that moment back; the next poll takes the next one.

Options: `timeout_seconds` (10). credentials_ref: bearer_token, or username and password
(environment variable names), sent to every endpoint.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import requests
from django.utils import timezone

from costapp.ingest.errors import IngestError
from costapp.ingest.files import InputFile

from .deliveries import Delivery
from .prometheus import session_for

FORMAT = "dcgm"


def endpoints(location: str) -> list[str]:
    return [url for url in re.split(r"[\s,]+", location) if url]


def scrape(session: requests.Session, url: str, timeout: float) -> tuple[bytes, datetime]:
    """The body of one /metrics answer and the instant it was fetched."""
    try:
        response = session.get(url, timeout=timeout)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise IngestError(f"{url}: not reachable ({type(exc).__name__})") from exc
    fetched = timezone.now()
    if response.status_code != 200:
        raise IngestError(f"{url}: HTTP {response.status_code}: {response.text[:200]}")
    return response.content, fetched


def deliveries(source) -> Iterator[Delivery]:
    if source.format != FORMAT:
        raise IngestError(f"an exporter source reads the {FORMAT!r} format, not {source.format!r}")
    urls = endpoints(source.location)
    if not urls:
        raise IngestError("an exporter source needs at least one /metrics URL as its location")
    session = session_for(source)
    timeout = float(source.options.get("timeout_seconds", 10))
    files, failures = [], []
    for url in urls:
        try:
            body, fetched = scrape(session, url, timeout)
        except IngestError as exc:
            failures.append(Delivery(files=[], location=url, failure=exc))
            continue
        stamped = f"# SCRAPE_TIME {fetched.isoformat()}\n".encode() + body
        files.append(InputFile.from_bytes(url, stamped))
    if files:
        location = files[0].name if len(files) == 1 else f"{len(files)} exporters"
        yield Delivery(files=files, location=location)
    yield from failures
