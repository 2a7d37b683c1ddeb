"""Request ids are remembered for the retention window, then forgotten; counts stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.db.models import Sum

from costapp.ingest.models import IngestionRun, SeenRequest, UsageRollup
from costapp.ingest.retention import prune_seen_requests, request_id_cutoff
from costapp.ingest.rows import RequestRow
from costapp.ingest.store import store_requests

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 30, 5, 42, tzinfo=UTC)


def stored(*requests: tuple[str, datetime]) -> int:
    """Store requests (id, instant) as one run; returns the run id."""
    run = IngestionRun.objects.create(format="jsonl", location="push").pk
    rows = [
        RequestRow(ts=ts, request_id=rid, team="search", model="m", endpoint="/v1/chat",
                   source_file="push", source_row=n, input_tokens=10)
        for n, (rid, ts) in enumerate(requests, start=1)
    ]  # fmt: skip
    with transaction.atomic():
        store_requests(rows, run)
    return run


def test_the_cutoff_is_whole_hours_the_window_back():
    assert request_id_cutoff(NOW, days=45) == datetime(2026, 10, 16, 5, tzinfo=UTC)


def test_ids_older_than_the_window_are_forgotten_and_the_counts_stay(settings):
    settings.REQUEST_ID_RETENTION_DAYS = 45
    cutoff = request_id_cutoff(NOW)
    stored(
        ("old-1", cutoff - timedelta(days=3)),
        ("old-2", cutoff - timedelta(minutes=1)),
        ("edge", cutoff),
        ("new", NOW - timedelta(hours=1)),
    )

    assert prune_seen_requests(NOW) == 2

    assert set(SeenRequest.objects.values_list("request_id", flat=True)) == {"edge", "new"}
    assert UsageRollup.objects.aggregate(n=Sum("requests"))["n"] == 4
    assert prune_seen_requests(NOW) == 0  # nothing left to forget: a second run is a no-op


def test_within_the_window_a_resent_id_still_counts_once():
    stored(("r-1", NOW - timedelta(days=2)))
    prune_seen_requests(NOW, days=45)
    again = stored(("r-1", NOW - timedelta(days=2)))
    assert not UsageRollup.objects.filter(run_id=again).exists()


def test_many_ids_are_forgotten_in_batches():
    old = NOW - timedelta(days=100)
    stored(*((f"r-{n}", old) for n in range(25)))
    stored(("keep", NOW))
    assert prune_seen_requests(NOW, days=45, batch=7) == 25
    assert list(SeenRequest.objects.values_list("request_id", flat=True)) == ["keep"]
