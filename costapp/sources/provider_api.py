"""OpenAI and Anthropic usage and cost reports pulled from their organization APIs.

One delivery per billing month: the month's cost pages and usage pages, as the APIs return
them, in one JSON array that costapp.ingest.openai_usage / anthropic_usage parse. A billing
delivery replaces what earlier runs stored for its month, so each poll pulls the whole month to
date again (an unchanged month is skipped by its content hash) and a finished month once more
after it ends, for late corrections. The source's state keeps the last month delivered.

Source fields: format "openai" or "anthropic"; location the API's base URL (blank: the public
endpoint); credentials_ref {"api_key": "OPENAI_ADMIN_KEY"} (an environment variable name: an
admin key, sent as a bearer token to OpenAI and as x-api-key to Anthropic); options `since`
("2026-01-01", the first poll's first month; default this month) and `bucket_width` ("1d").
Pages follow `next_page` while `has_more` says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import requests
from django.utils import timezone

from costapp.ingest.errors import IngestError, TransientError
from costapp.ingest.files import InputFile

from . import credentials
from .deliveries import Delivery

TIMEOUT = (10, 60)
MAX_PAGES = 1000  # a report that pages for ever is a fault, not data


@dataclass(frozen=True)
class Api:
    base: str
    reports: tuple[tuple[str, dict], ...]  # (path, fixed query) per report
    start: str  # the query names of the time span
    end: str
    unix: bool  # OpenAI takes unix seconds, Anthropic RFC 3339
    page_size: int

    def span(self, start: datetime, end: datetime) -> dict:
        if self.unix:
            return {self.start: int(start.timestamp()), self.end: int(end.timestamp())}
        iso = "%Y-%m-%dT%H:%M:%SZ"
        return {self.start: start.strftime(iso), self.end: end.strftime(iso)}


APIS = {
    # platform.openai.com/docs/api-reference/usage: costs only in daily buckets.
    "openai": Api(
        base="https://api.openai.com",
        reports=(
            ("/v1/organization/costs", {"group_by": ["line_item", "project_id"]}),
            ("/v1/organization/usage/completions", {"group_by": ["model", "project_id"]}),
        ),
        start="start_time",
        end="end_time",
        unix=True,
        page_size=31,
    ),
    # platform.claude.com/docs/en/api/admin/cost_report and .../usage_report
    "anthropic": Api(
        base="https://api.anthropic.com",
        reports=(
            ("/v1/organizations/cost_report", {"group_by[]": ["workspace_id", "description"]}),
            ("/v1/organizations/usage_report/messages", {"group_by[]": ["model", "workspace_id"]}),
        ),
        start="starting_at",
        end="ending_at",
        unix=False,
        page_size=31,
    ),
}
FORMATS = tuple(APIS)


def session_for(source) -> requests.Session:
    secret = credentials.resolve(source.credentials_ref, ("api_key",))
    if "api_key" not in secret:
        raise IngestError("credentials_ref.api_key must name the environment variable of the key")
    session = requests.Session()
    if source.format == "anthropic":
        session.headers["x-api-key"] = secret["api_key"]
        session.headers["anthropic-version"] = "2023-06-01"
    else:
        session.headers["Authorization"] = f"Bearer {secret['api_key']}"
    return session


def fetch_pages(session: requests.Session, url: str, query: dict) -> list[bytes]:
    """Every page of one report as the API wrote it (its numbers untouched: money is kept to
    the digit), following next_page while has_more."""
    pages: list[bytes] = []
    token = None
    while True:
        params = dict(query, page=token) if token else query
        try:
            response = session.get(url, params=params, timeout=TIMEOUT)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(f"{url}: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(f"{url}: HTTP {response.status_code}")
        try:
            page = response.json()
        except ValueError:
            page = None
        if response.status_code != 200 or not isinstance(page, dict):
            detail = page.get("error") if isinstance(page, dict) else response.text[:200]
            raise IngestError(f"{url}: HTTP {response.status_code}: {detail}")
        pages.append(response.content)
        following = page.get("next_page")
        if not page.get("has_more") or not following:
            return pages
        if following == token or len(pages) >= MAX_PAGES:
            raise IngestError(f"{url}: the report keeps paging (next_page {following!r})")
        token = following


def months(first: date, last: date) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) of each calendar month (UTC) from first's month through last's."""
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        start = datetime(year, month, 1, tzinfo=UTC)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        yield start, datetime(year, month, 1, tzinfo=UTC)


def deliveries(source, now: datetime | None = None) -> Iterator[Delivery]:
    if source.format not in APIS:
        known = " or ".join(FORMATS)
        raise IngestError(f"a provider API source reads {known}, not {source.format!r}")
    api = APIS[source.format]
    now = (now or timezone.now()).astimezone(UTC)
    base = (source.location or api.base).rstrip("/")
    if "month" in source.state:
        first = date.fromisoformat(source.state["month"])
    elif "since" in source.options:
        first = date.fromisoformat(str(source.options["since"]))
    else:
        first = now.date()
    session = session_for(source)
    width = source.options.get("bucket_width", "1d")
    for start, end in months(first, now.date()):
        stop = min(end, now)
        if stop <= start:
            continue
        pages = []
        for path, fixed in api.reports:
            query = {**fixed, **api.span(start, stop), "bucket_width": width}
            query["limit"] = api.page_size
            pages.extend(fetch_pages(session, f"{base}{path}", query))
        name = f"{base}?{source.format}&month={start:%Y-%m}"
        state = {**source.state, "month": start.date().isoformat()}
        data = b"[\n" + b",\n".join(pages) + b"\n]\n"
        yield Delivery(files=[InputFile.from_bytes(name, data)], location=name, state=state)
