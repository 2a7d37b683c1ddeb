"""Runs end: an ingestion whose process died is marked failed and its source polled again, and
the Celery settings hand a dead worker's task to another one without ever doubling a live one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import F, Sum
from django.utils import timezone

from costapp import celery_app
from costapp.dburl import url_from_settings
from costapp.ingest.models import IngestionRun, RunStatus, SeenRequest, UsageRollup
from costapp.ingest.runs import RUN_LOCK, run_lock_key
from costapp.sources import service
from costapp.sources.models import Source
from tests.sources.conftest import request_line

ROOT = Path(__file__).resolve().parents[2]
REQUESTS = 150_000  # a few seconds of ingestion: long enough to be killed in the middle


def _age(run: IngestionRun, minutes: int = 2) -> None:
    """As if the run had started `minutes` ago: the reaper leaves younger runs alone."""
    IngestionRun.objects.filter(pk=run.pk).update(
        started_at=F("started_at") - timedelta(minutes=minutes)
    )


def _running_run(source: Source | None = None) -> IngestionRun:
    return IngestionRun.objects.create(source=source, format="jsonl", location="x.jsonl")


@pytest.mark.django_db
def test_a_running_run_whose_lock_is_free_is_marked_failed_and_its_source_made_due(
    make_source,
):
    source = make_source(schedule_minutes=60)
    source.last_polled_at = timezone.now()
    source.save()
    dead = _running_run(source)
    assert service.reap_dead_runs() == []  # too young: it may not have taken its lock yet
    _age(dead)

    assert service.reap_dead_runs() == [dead.pk]

    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED and dead.finished_at is not None
    assert dead.error == service.DIED
    assert source.pk in service.claim_due_sources()  # polled again at the next minute
    assert service.reap_dead_runs() == []


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_lock_another_session_holds_is_alive_and_left_alone():
    live = _running_run()
    _age(live, minutes=90)  # slow is not dead
    other = psycopg.connect(url_from_settings(connection.settings_dict), autocommit=True)
    try:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [RUN_LOCK, run_lock_key(live.pk)])
        assert service.reap_dead_runs() == []
        live.refresh_from_db()
        assert live.status == RunStatus.RUNNING
    finally:
        other.close()  # the session ends as a killed process's would: its lock goes with it
    deadline = time.monotonic() + 10
    while _lock_held(live.pk):  # the server ends the backend just after the client hangs up
        assert time.monotonic() < deadline, "the closed session still holds its lock"
        time.sleep(0.05)
    assert service.reap_dead_runs() == [live.pk]


def _lock_held(run_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = %s AND objid = %s AND objsubid = 2",
            [RUN_LOCK, run_lock_key(run_id)],
        )
        return cursor.fetchone()[0] > 0


def _poll_in_a_process(source: Source) -> subprocess.Popen:
    """`run_source(source)` in its own process, on the test database, as a worker runs it."""
    env = dict(os.environ)
    env.pop("TEST_DATABASE_NAME", None)
    env.update(
        DJANGO_SETTINGS_MODULE="costapp.settings",
        INFERENCE_LEDGER_DEV="1",
        DATABASE_URL=url_from_settings(connection.settings_dict),
    )
    script = (
        "import django; django.setup()\n"
        "from costapp.sources import service\n"
        "from costapp.sources.models import Source\n"
        f"service.run_source(Source.objects.get(pk={source.pk}))\n"
    )
    return subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_poll_killed_mid_ingestion_is_failed_by_the_reaper_and_the_next_poll_ingests_it(
    make_source, tmp_path
):
    folder = tmp_path / "drop"
    folder.mkdir()
    lines = (request_line(f"r-{n}") for n in range(REQUESTS))
    (folder / "big.jsonl").write_text("\n".join(lines) + "\n")
    source = make_source(location=str(folder), schedule_minutes=60)

    process = _poll_in_a_process(source)
    try:
        deadline = time.monotonic() + 60
        run = None
        while run is None or not _lock_held(run.pk):
            assert process.poll() is None, "the poll ended before it could be killed"
            assert time.monotonic() < deadline, "no run started within 60 s"
            time.sleep(0.05)
            run = IngestionRun.objects.filter(source=source).first()
        time.sleep(0.5)  # well inside the COPY
        assert process.poll() is None, "the ingestion finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()

    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING  # nobody was left to say otherwise
    assert not UsageRollup.objects.filter(run=run).exists()
    assert not SeenRequest.objects.exists()
    _age(run)
    # The server ends a killed client's backend only when it next notices the socket is gone
    # (a busy COPY can take a moment): until then that backend still holds the run's and the
    # source's locks, and the poll would rightly skip a source that looks busy.
    deadline = time.monotonic() + 60
    while _lock_held(run.pk):
        assert time.monotonic() < deadline, "the killed process's session still holds its lock"
        time.sleep(0.05)

    [retry] = service.run_source(Source.objects.get(pk=source.pk))  # reaps first, then polls

    run.refresh_from_db()
    assert (run.status, run.error) == (RunStatus.FAILED, service.DIED)
    assert retry.status == RunStatus.SUCCEEDED and retry.rows_stored == REQUESTS
    assert UsageRollup.objects.aggregate(n=Sum("requests"))["n"] == REQUESTS
    assert not _lock_held(retry.pk)  # a run that finished lets go of its lock
    assert service.run_source(Source.objects.get(pk=source.pk)) == []  # and it is not re-read


def _costapp_tasks() -> dict:
    celery_app.loader.import_default_modules()
    return {name: task for name, task in celery_app.tasks.items() if name.startswith("costapp.")}


def test_every_task_has_time_limits_below_the_broker_visibility_timeout():
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    tasks = _costapp_tasks()
    assert {
        "costapp.sources.tasks.ingest_source",
        "costapp.attribution.tasks.attribute_pending",
        "costapp.attribution.tasks.recompute_all",
    } <= set(tasks)
    for name, task in tasks.items():
        assert task.time_limit and task.soft_time_limit, f"{name} has no time limit"
        assert task.soft_time_limit < task.time_limit < visibility, name
        if getattr(task, "autoretry_for", ()):
            # A retry waits unacked in the worker until its countdown: past the visibility
            # timeout another worker would get it too.
            backoff = getattr(task, "retry_backoff", False)
            countdown = getattr(task, "retry_backoff_max", 600) if backoff else 0
            assert countdown < visibility, name
    # Redelivered within minutes of a worker child's death; a whole worker's, past the timeout.
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert visibility <= 60 * 60  # shorter than Redis' default hour, the point of setting it
