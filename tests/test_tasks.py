"""Celery tasks (eager in tests): scheduling by schedule_minutes, retries only on transient faults."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from costapp import celery_app
from costapp.ingest.errors import TransientError
from costapp.ingest.models import IngestionRun, RunStatus
from costapp.ingest.tasks import ingest_source, run_due_sources
from costapp.sources.models import Source
from costapp.sources.service import claim_due_sources
from tests.sources.conftest import request_line
from tests.sources.servers import serve

pytestmark = pytest.mark.django_db


def _source(name: str, tmp_path, **fields) -> Source:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "r.jsonl").write_text(request_line(name))
    fields.setdefault("location_kind", Source.Location.LOCAL)
    return Source.objects.create(name=name, format="jsonl", location=str(folder), **fields)


def test_run_due_sources_runs_exactly_the_sources_whose_schedule_has_elapsed(tmp_path):
    now = timezone.now()
    never = _source("never", tmp_path)
    stale = _source("stale", tmp_path, last_polled_at=now - timedelta(minutes=61))
    recent = _source("recent", tmp_path, last_polled_at=now - timedelta(minutes=5))
    _source("off", tmp_path, enabled=False)
    _source("pushed", tmp_path, location_kind=Source.Location.PUSH)

    assert sorted(run_due_sources.delay().get()) == sorted([never.pk, stale.pk])
    polled = set(IngestionRun.objects.values_list("source__name", flat=True))
    assert polled == {"never", "stale"}
    recent.refresh_from_db()
    assert recent.last_polled_at == now - timedelta(minutes=5)


def test_a_due_source_is_claimed_once_however_many_schedulers_ask(tmp_path):
    source = _source("one", tmp_path)
    now = timezone.now()
    assert claim_due_sources(now) == [source.pk]
    assert claim_due_sources(now) == []
    assert claim_due_sources(now + timedelta(minutes=60)) == [source.pk]


def test_beat_runs_the_scheduler_every_minute():
    entry = celery_app.conf.beat_schedule["run-due-sources"]
    assert (entry["task"], entry["schedule"]) == (run_due_sources.name, 60.0)


def test_a_transient_s3_fault_is_retried_a_bounded_number_of_times(tmp_path, monkeypatch):
    # Eager mode re-raises Retry itself when propagating; as a worker does, let Celery retry.
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)
    monkeypatch.setenv("IL_TASK_KEY", "k")
    monkeypatch.setenv("IL_TASK_SECRET", "s")
    with serve(lambda request: (500, {}, b"")) as peer:
        source = Source.objects.create(
            name="flaky",
            format="jsonl",
            location_kind=Source.Location.S3,
            location="s3://bucket/logs/",
            credentials_ref={
                "aws_access_key_id": "IL_TASK_KEY",
                "aws_secret_access_key": "IL_TASK_SECRET",
            },
            options={"endpoint_url": peer.url, "max_attempts": 1},
        )
        result = ingest_source.delay(source.pk)
    assert result.state == "FAILURE" and isinstance(result.result, TransientError)
    # One attempt plus max_retries retries, each one LIST (botocore's own retries are off).
    assert len(peer.requests) == ingest_source.max_retries + 1


def test_a_bad_file_fails_its_run_once_and_is_not_retried(tmp_path):
    source = _source("bad", tmp_path)
    (tmp_path / "bad" / "r.jsonl").write_text(request_line("x", input_tokens=-1))
    [run_id] = ingest_source.delay(source.pk).get()
    run = IngestionRun.objects.get(pk=run_id)
    assert run.status == RunStatus.FAILED and run.error_column == "input_tokens"
    assert IngestionRun.objects.count() == 1


def test_a_disabled_or_deleted_source_does_nothing(tmp_path):
    source = _source("off", tmp_path, enabled=False)
    assert ingest_source.delay(source.pk).get() == []
    assert ingest_source.delay(10**9).get() == []
