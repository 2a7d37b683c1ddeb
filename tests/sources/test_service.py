"""The sources service: one poll per source at a time (attribution: tests/test_tasks.py)."""

from __future__ import annotations

import pytest

from costapp.sources.service import exclusive, run_source

from .conftest import request_line

pytestmark = pytest.mark.django_db


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
