"""The production task path with real parts: `celery -A costapp worker` and `beat` over Redis.

tests/test_tasks.py runs the tasks eagerly, in-process. Here a real worker subprocess takes them
from Redis and writes to the pytest database, so what only a deployment would otherwise find out
is checked: arguments and results survive JSON, the tasks are registered, the settings work from
the environment alone, a retry travels back through the broker and the follow-up attribution
task reaches the same queue. Each module run has its own queue (in Redis DB 15) and deletes only
its own keys, so parallel runs do not collide. Skips when no Redis answers.
"""

from __future__ import annotations

import os
import shelve
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import redis
from celery import Celery
from django.db import connection

from costapp import celery_app
from costapp.attribution.models import Allocation
from costapp.attribution.tasks import attribute_pending
from costapp.dburl import url_from_settings
from costapp.ingest.errors import TransientError
from costapp.ingest.models import IngestionRun, RunStatus
from costapp.ingest.tasks import prune_request_ids
from costapp.sources.models import Source
from costapp.sources.tasks import ingest_source, refresh_gpu_prices, run_due_sources
from tests.attribution import builders
from tests.sources.conftest import request_line
from tests.sources.servers import serve

# Every test here shares one worker (module-scoped); marking all of them transactional keeps
# pytest-django from reordering some apart, which would tear the shared client down mid-module.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("IL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
WAIT = 60.0  # an upper bound for a hung worker, not a speed requirement
# The worker reads S3 secrets from the environment variables a Source names, as in production.
S3_CREDENTIALS = {
    "aws_access_key_id": "IL_WORKER_S3_KEY",
    "aws_secret_access_key": "IL_WORKER_S3_SECRET",
}

T = TypeVar("T")


@dataclass
class Stack:
    """What a Celery process of this run needs: its queue, environment and a client app."""

    queue: str
    env: dict[str, str]
    client: Celery  # publishes to this run's queue, reads results from the same Redis


@dataclass
class Worker:
    """A celery subprocess (worker or beat) and its log."""

    name: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def retries_of(self, task_id: str) -> int:
        return self.output().count(f"[{task_id}] retry:")


@pytest.fixture(scope="module")
def stack(django_db_setup, tmp_path_factory) -> Iterator[Stack]:
    broker = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        broker.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"no Redis at {REDIS_URL} ({exc}): start redis-server to run the worker tests")
    queue = f"il-test-{uuid.uuid4().hex[:12]}"
    env = dict(os.environ)
    env.pop("TEST_DATABASE_NAME", None)
    env.update(
        DJANGO_SETTINGS_MODULE="costapp.settings",  # production settings, only dev-mode secrets
        INFERENCE_LEDGER_DEV="1",
        DATABASE_URL=url_from_settings(connection.settings_dict),  # the pytest database
        CELERY_BROKER_URL=REDIS_URL,
        CELERY_RESULT_BACKEND=REDIS_URL,
        CELERY_TASK_DEFAULT_QUEUE=queue,
        IL_WORKER_S3_KEY="k",
        IL_WORKER_S3_SECRET="s",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    client = Celery("costapp-test-client", set_as_current=False)
    client.config_from_object("django.conf:settings", namespace="CELERY")
    client.conf.update(
        broker_url=REDIS_URL,
        result_backend=REDIS_URL,
        task_always_eager=False,
        task_default_queue=queue,
    )
    try:
        yield Stack(queue=queue, env=env, client=client)
    finally:
        client.pool.force_close_all()
        client.close()
        # Only this run's keys: its queue (and priority sub-queues, binding). Results expire
        # on their own after a day (result_expires).
        for key in broker.scan_iter(match=f"*{queue}*"):
            broker.delete(key)
        broker.close()


@pytest.fixture(scope="module")
def worker(stack, tmp_path_factory) -> Iterator[Worker]:
    name = f"{stack.queue}@test"
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    command = [
        *("-A", "costapp", "worker", "--pool=solo", "--concurrency=1"),
        *(f"--queues={stack.queue}", f"--hostname={name}"),
        *("--without-gossip", "--without-mingle"),
    ]
    process = start_celery(stack, log, *command)
    running = Worker(name=name, process=process, log=log)
    try:
        wait_for(lambda: " ready." in running.output(), running, "the worker to start")
        yield running
    finally:
        stop(process)


@pytest.fixture
def via_worker(stack, worker) -> Iterator[Worker]:
    """`task.delay()` publishes to the worker's queue for the test's duration."""
    stack.client.set_current()
    try:
        yield worker
    finally:
        celery_app.set_current()


def start_celery(
    stack: Stack, log: Path, *arguments: str, loglevel: str = "INFO"
) -> subprocess.Popen:
    """`celery ARGUMENTS` (the console script's module) with this run's environment."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", *arguments, f"--loglevel={loglevel}"],
            cwd=ROOT,
            env=stack.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen) -> None:
    """Warm shutdown, so the worker hands its unacked (retry) messages back to the queue."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(check: Callable[[], T], worker: Worker, what: str) -> T:
    deadline = time.monotonic() + WAIT
    while True:
        value = check()
        if value:
            return value
        if worker.process.poll() is not None:
            pytest.fail(
                f"{worker.name} exited while waiting for {what}:\n{worker.output()[-4000:]}"
            )
        if time.monotonic() > deadline:
            pytest.fail(
                f"no {what} within {WAIT:.0f}s; {worker.name} log:\n{worker.output()[-4000:]}"
            )
        time.sleep(0.1)


def local_source(folder: Path, line: str) -> Source:
    folder.mkdir()
    (folder / "r.jsonl").write_text(line + "\n")
    return Source.objects.create(
        name=folder.name, format="jsonl", location_kind=Source.Location.LOCAL, location=str(folder)
    )


def failing_s3_source(name: str, url: str) -> Source:
    return Source.objects.create(
        name=name,
        format="jsonl",
        location_kind=Source.Location.S3,
        location="s3://bucket/logs/",
        credentials_ref=S3_CREDENTIALS,
        options={"endpoint_url": url, "max_attempts": 1},  # one HTTP request per task attempt
    )


def scheduled_ids(stack: Stack, worker: Worker) -> set[str]:
    """Ids of the tasks the worker holds until their ETA (retries wait there for their countdown)."""
    replies = stack.client.control.inspect([worker.name], timeout=1.0, limit=1).scheduled() or {}
    return {entry["request"]["id"] for entry in replies.get(worker.name, [])}


def test_the_worker_ingests_a_local_folder_then_runs_the_attribution_it_enqueued(
    via_worker, tmp_path
):
    builders.gpu_resource("i-1", gpus=1)
    builders.cost_line("i-1", cost="4")
    builders.samples("i-1", builders.hour(), ["0.5"])
    source = local_source(tmp_path / "drop", request_line("r-1"))  # 2026-11-01T10:05Z on i-1

    result = ingest_source.delay(source.pk)

    run = wait_for(
        lambda: IngestionRun.objects.filter(source=source, attributed_at__isnull=False).first(),
        via_worker,
        "attributed run",
    )
    assert run.status == RunStatus.SUCCEEDED and run.rows_stored == 1
    assert result.get(timeout=WAIT) == [run.pk]
    usage = Allocation.objects.get(kind="usage")
    assert (usage.team, usage.amortized_cost) == ("search", 2)
    assert f"{attribute_pending.name}[" in via_worker.output()  # it went through the queue


def test_a_bad_file_fails_its_run_once_and_the_worker_does_not_retry_it(via_worker, tmp_path):
    source = local_source(tmp_path / "bad", request_line("r-1", input_tokens=-1))

    result = ingest_source.delay(source.pk)

    [run_id] = result.get(timeout=WAIT)
    assert result.state == "SUCCESS" and via_worker.retries_of(result.id) == 0
    run = IngestionRun.objects.get(pk=run_id)
    assert (run.status, run.error_line, run.error_column) == (RunStatus.FAILED, 1, "input_tokens")
    assert IngestionRun.objects.filter(source=source).count() == 1


def test_a_transient_s3_fault_is_retried_through_the_broker_and_gives_up_at_the_bound(
    stack, via_worker
):
    with serve(lambda request: (500, {}, b"")) as flaky:
        result = ingest_source.delay(failing_s3_source("flaky", flaky.url).pk)
        # The retry is a new message with a countdown (backoff with jitter, up to 30 s): the
        # worker holds it under the same task id until then.
        wait_for(lambda: result.id in scheduled_ids(stack, via_worker), via_worker, "retry")
        assert result.state == "RETRY" and isinstance(result.result, TransientError)
        attempts = via_worker.retries_of(result.id)
        assert attempts >= 1 and len(flaky.requests) == attempts
        stack.client.control.revoke(result.id)

    with serve(lambda request: (500, {}, b"")) as down:
        # The retry count travels in the message: the last permitted attempt gives up for good.
        last = ingest_source.apply_async(
            (failing_s3_source("down", down.url).pk,), retries=ingest_source.max_retries
        )
        with pytest.raises(TransientError):
            last.get(timeout=WAIT)
        assert last.state == "FAILURE" and len(down.requests) == 1
        assert last.id not in scheduled_ids(stack, via_worker)


def test_the_worker_registers_every_task_beat_schedules(stack, worker):
    replies = stack.client.control.inspect([worker.name], timeout=5.0, limit=1).registered()
    registered = set(replies[worker.name])
    periodic = {run_due_sources.name, attribute_pending.name, refresh_gpu_prices.name}
    assert periodic | {prune_request_ids.name} <= registered
    assert ingest_source.name in registered


def test_beat_starts_with_every_periodic_entry(stack, tmp_path):
    schedule = tmp_path / "beat-schedule"
    log = tmp_path / "beat.log"
    process = start_celery(
        stack, log, "-A", "costapp", "beat", f"--schedule={schedule}", loglevel="DEBUG"
    )
    beat = Worker(name="beat", process=process, log=log)
    try:
        # Not "beat: Starting...": the scheduler is set up after it, and a SIGTERM landing in
        # that setup (a slow machine) interrupts an import and fails the run. The first tick
        # comes after the setup.
        wait_for(lambda: "beat: Ticking with max interval" in beat.output(), beat, "beat tick")
    finally:
        stop(process)  # beat saves its schedule file on the way out
    assert process.returncode == 0, beat.output()
    with shelve.open(str(schedule), flag="r") as saved:
        entries = {
            name: (e.task, e.schedule.run_every.total_seconds())
            for name, e in saved["entries"].items()
        }
    assert entries == {
        "run-due-sources": (run_due_sources.name, 60.0),
        "attribute-pending": (attribute_pending.name, 300.0),
        "refresh-gpu-prices": (refresh_gpu_prices.name, 86400.0),
        "prune-request-ids": (prune_request_ids.name, 86400.0),
        "ensure-partitions": ("costapp.ingest.tasks.ensure_partitions", 86400.0),
        "prune-gpu-samples": ("costapp.ingest.tasks.prune_gpu_samples", 86400.0),
        "evaluate-alerts": ("costapp.alerts.tasks.evaluate_alerts", 900.0),
        "deliver-alerts": ("costapp.alerts.tasks.deliver_alerts", 60.0),
        "refresh-recommendations": ("costapp.whatif.tasks.refresh_recommendations", 86400.0),
    }


def test_a_task_of_a_worker_killed_mid_task_is_redelivered_to_the_next_worker(stack, tmp_path):
    # Its own Redis database and queue: kombu keeps one set of unacked messages per database,
    # and this test's short visibility timeout must restore only its own.
    url = REDIS_URL.rsplit("/", 1)[0] + "/14"
    queue = f"{stack.queue}-redelivery"
    visibility = 3
    env = {
        **stack.env,
        "CELERY_BROKER_URL": url,
        "CELERY_RESULT_BACKEND": url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_VISIBILITY_TIMEOUT": str(visibility),
    }
    client = Celery("costapp-test-redelivery", set_as_current=False)
    client.conf.update(broker_url=url, result_backend=url, task_default_queue=queue)
    own = Stack(queue=queue, env=env, client=client)
    folder = tmp_path / "drop"
    folder.mkdir()
    lines = (request_line(f"r-{n}") for n in range(150_000))  # seconds of work to be killed in
    (folder / "big.jsonl").write_text("\n".join(lines) + "\n")
    source = Source.objects.create(
        name="big", format="jsonl", location_kind=Source.Location.LOCAL, location=str(folder)
    )
    workers: list[Worker] = []

    def start(name: str) -> Worker:
        log = tmp_path / f"{name}.log"
        command = [
            *("-A", "costapp", "worker", "--pool=solo", "--concurrency=1"),
            *(f"--queues={queue}", f"--hostname={queue}@{name}"),
            *("--without-gossip", "--without-mingle"),
        ]
        workers.append(Worker(name=name, process=start_celery(own, log, *command), log=log))
        return workers[-1]

    try:
        result = client.send_task(ingest_source.name, args=[source.pk], queue=queue)
        first = start("first")
        wait_for(
            lambda: IngestionRun.objects.filter(source=source, status=RunStatus.RUNNING).exists(),
            first,
            "the first worker to start ingesting",
        )
        first.process.send_signal(signal.SIGKILL)  # no warm shutdown: the message stays unacked
        first.process.wait()
        time.sleep(visibility + 1)  # the message is now past its visibility timeout

        second = start("second")
        stored = wait_for(
            lambda: IngestionRun.objects.filter(source=source, status=RunStatus.SUCCEEDED).first(),
            second,
            "the task redelivered to the second worker",
        )

        assert result.get(timeout=WAIT) == [stored.pk]
        assert stored.rows_stored == 150_000
        assert f"{ingest_source.name}[{result.id}] received" in second.output()
    finally:
        for worker in workers:
            stop(worker.process)
        client.close()
        broker = redis.Redis.from_url(url)
        for key in broker.scan_iter(match=f"*{queue}*"):
            broker.delete(key)
        broker.close()
