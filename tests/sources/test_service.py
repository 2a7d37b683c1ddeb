"""The sources service: attribution after success, one poll per source at a time."""

from __future__ import annotations

import sys
import types
from datetime import UTC, datetime

import pytest

from costapp.sources.service import exclusive, run_source

from .conftest import request_line

pytestmark = pytest.mark.django_db


def test_a_successful_run_recomputes_attribution_for_the_hours_it_touched(
    make_source, tmp_path, monkeypatch
):
    calls = []
    engine = types.ModuleType("costapp.attribution.engine")
    engine.run_attribution = lambda start, end: calls.append((start, end))
    monkeypatch.setitem(sys.modules, "costapp.attribution.engine", engine)
    (tmp_path / "r.jsonl").write_text(
        request_line("a", "2026-11-01T10:05:00Z") + "\n" + request_line("b", "2026-11-01T12:59:00Z")
    )
    (tmp_path / "z-bad.jsonl").write_text(request_line("c", "2026-11-03T10:00:00Z", team=""))
    runs = run_source(make_source(location=str(tmp_path)))
    assert len(runs) == 2
    # Only the good file's hours; the failed one stored nothing and triggers nothing.
    assert calls == [(datetime(2026, 11, 1, 10, tzinfo=UTC), datetime(2026, 11, 1, 13, tzinfo=UTC))]


def test_a_source_already_being_polled_is_skipped(make_source, tmp_path):
    (tmp_path / "r.jsonl").write_text(request_line("a"))
    source = make_source(location=str(tmp_path))
    with exclusive(source) as mine:
        assert mine
        # Another worker's connection would fail to get the lock; simulate with a second session.
        from django.db import connections

        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [0x494C5352, source.pk])
                assert cursor.fetchone()[0] is False
        finally:
            other.close()
    assert len(run_source(source)) == 1
