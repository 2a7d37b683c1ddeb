"""DCGM telemetry read from a Prometheus HTTP API with query_range, one time window at a time.

Each window [since, until) becomes one delivery: the four DCGM metrics' responses, as a JSON list,
in one in-memory file that costapp.ingest.prometheus parses (the same path as a saved response).
The source's state keeps the end of the last window, so windows never overlap nor leave gaps.

Source fields: location "http://prometheus:9090"; options `step_seconds` (60), `chunk_hours`
(6; Prometheus caps points per series), `delay_seconds` (120; let the last scrapes land),
`lookback_hours` (24, the first poll), `selector` (e.g. '{cluster="prod"}'), `metrics`;
credentials_ref: bearer_token, or username and password (environment variable names).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import requests
from django.utils import timezone

from costapp.ingest.errors import IngestError, TransientError
from costapp.ingest.files import InputFile

from . import credentials
from .deliveries import Delivery

FORMAT = "prometheus"  # query_range answers, parsed by costapp.ingest.prometheus
METRICS = (
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_POWER_USAGE",
)
TIMEOUT = (10, 120)  # connect, read: a range query over hours of 8-GPU nodes takes a while


def session_for(source) -> requests.Session:
    session = requests.Session()
    secret = credentials.resolve(source.credentials_ref, ("bearer_token", "username", "password"))
    if "bearer_token" in secret:
        session.headers["Authorization"] = f"Bearer {secret['bearer_token']}"
    elif "username" in secret:
        session.auth = (secret["username"], secret.get("password", ""))
    return session


def query_range(
    session: requests.Session, base: str, query: str, start: datetime, end: datetime, step: int
) -> dict:
    url = f"{base}/api/v1/query_range"
    params = {"query": query, "start": start.timestamp(), "end": end.timestamp(), "step": step}
    try:
        response = session.get(url, params=params, timeout=TIMEOUT)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise TransientError(f"Prometheus {url}: {exc}") from exc
    # 503 is Prometheus's answer to an overloaded or timed-out query: try again later.
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientError(f"Prometheus {url}: HTTP {response.status_code}")
    try:
        document = response.json()
    except ValueError:
        document = None
    if response.status_code != 200 or not isinstance(document, dict):
        detail = document.get("error") if isinstance(document, dict) else response.text[:200]
        raise IngestError(f"Prometheus {url} ({query}): HTTP {response.status_code}: {detail}")
    return document


def _align(moment: datetime, step: int) -> datetime:
    seconds = int(moment.timestamp()) // step * step
    return datetime.fromtimestamp(seconds, tz=UTC)


def windows(
    since: datetime, until: datetime, chunk: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    while since < until:
        stop = min(since + chunk, until)
        yield since, stop
        since = stop


def deliveries(source, now: datetime | None = None) -> Iterator[Delivery]:
    options = source.options
    base = source.location.rstrip("/")
    step = int(options.get("step_seconds", 60))
    until = _align(
        (now or timezone.now()) - timedelta(seconds=options.get("delay_seconds", 120)), step
    )
    if "until" in source.state:
        since = datetime.fromisoformat(source.state["until"])
    else:
        since = _align(until - timedelta(hours=options.get("lookback_hours", 24)), step)
    selector = options.get("selector", "")
    metrics = options.get("metrics", METRICS)
    session = session_for(source)
    for start, stop in windows(since, until, timedelta(hours=options.get("chunk_hours", 6))):
        # query_range includes both ends; stop - step keeps windows from sharing an instant.
        last = stop - timedelta(seconds=step)
        responses = [
            query_range(session, base, f"{metric}{selector}", start, last, step)
            for metric in metrics
        ]
        state = {**source.state, "until": stop.isoformat()}
        if not any(r.get("data", {}).get("result") for r in responses):
            yield Delivery(files=[], location=base, state=state)
            continue
        name = f"{base}/api/v1/query_range?" + urlencode(
            {"start": start.isoformat(), "end": stop.isoformat(), "step": step}
        )
        data = json.dumps(responses).encode()
        yield Delivery(files=[InputFile.from_bytes(name, data)], location=name, state=state)
