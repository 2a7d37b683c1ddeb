"""The sources service: one poll per source at a time (attribution: tests/test_tasks.py)."""

from __future__ import annotations

import pytest
from django.db import connections

from costapp.ingest.models import IngestionRun
from costapp.sources.service import LOCK_NAMESPACE, run_source

from .conftest import request_line

pytestmark = pytest.mark.django_db


def test_a_source_already_being_polled_is_skipped(make_source, tmp_path):
    (tmp_path / "r.jsonl").write_text(request_line("a"))
    source = make_source(location=str(tmp_path))
    # Another worker holds the source: its own database session has the source's lock.
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, source.pk])
            assert cursor.fetchone()[0] is True

        assert run_source(source) == []
        assert not IngestionRun.objects.exists()
        source.refresh_from_db()
        assert source.last_polled_at is None and source.state == {}

        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, source.pk])
    finally:
        other.close()
    # Once the other worker is done, the source is polled as usual.
    [run] = run_source(source)
    assert run.rows_stored == 1
