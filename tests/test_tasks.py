"""Celery tasks (eager in tests): scheduling by schedule_minutes, retries only on transient faults."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.schedules import maybe_schedule
from django.utils import timezone

from costapp import celery_app
from costapp.attribution.models import Allocation
from costapp.ingest.errors import TransientError
from costapp.ingest.files import InputFile
from costapp.ingest.models import IngestionRun, RunStatus, SeenRequest
from costapp.ingest.runs import ingest
from costapp.ingest.tasks import prune_request_ids
from costapp.sources.models import GpuPrice, Source
from costapp.sources.service import claim_due_sources
from costapp.sources.tasks import ingest_source, refresh_gpu_prices, run_due_sources
from tests.attribution import builders
from tests.sources.conftest import request_line
from tests.sources.servers import json_reply, serve

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


def _beat_entries():
    """(name, interval, run) per beat entry: how often beat sends it, and running it as a worker
    would receive it (by the registered name, with the entry's own arguments)."""
    celery_app.loader.import_default_modules()
    now = timezone.now()
    for name, entry in celery_app.conf.beat_schedule.items():
        task = celery_app.tasks.get(entry["task"])
        assert task is not None, f"beat entry {name!r} names no registered task {entry['task']!r}"
        interval = maybe_schedule(entry["schedule"]).remaining_estimate(now)
        args, kwargs = entry.get("args", ()), entry.get("kwargs", {})
        yield name, interval, lambda task=task, a=args, k=kwargs: task.apply(args=a, kwargs=k)


def test_every_beat_entry_names_a_registered_task_that_runs(monkeypatch, tmp_path):
    # The price refresh finds no Google credentials here, as on a deployment without GCP.
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "absent.json"))
    entries = list(_beat_entries())
    assert entries
    for name, _, run in entries:
        result = run()
        assert result.successful(), f"{name}: {result.result!r}"


def test_beat_polls_a_due_source_within_a_minute(tmp_path):
    source = _source("due", tmp_path)
    for name, interval, run in _beat_entries():
        if name != "refresh-gpu-prices":  # the one entry that would reach out to Google
            run()
        if IngestionRun.objects.filter(source=source).exists():
            # Sources are polled to the minute of their own schedule_minutes.
            assert interval <= timedelta(minutes=1), name
            return
    pytest.fail("no beat entry polls a due source")


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


def test_beat_attributes_data_ingested_by_hand_within_five_minutes(tmp_path):
    builders.gpu_resource("i-1", gpus=1)
    builders.cost_line("i-1", cost="4")
    builders.samples("i-1", builders.hour(), ["0.5"])
    (tmp_path / "r.jsonl").write_text(request_line("by-hand"))  # 2026-11-01T10:05Z on i-1
    run = ingest([InputFile.from_path(tmp_path / "r.jsonl")], "jsonl")  # manage.py ingest's path
    assert IngestionRun.objects.get(pk=run.pk).attributed_at is None
    for name, interval, tick in _beat_entries():
        if name != "refresh-gpu-prices":
            tick()
        if IngestionRun.objects.get(pk=run.pk).attributed_at is not None:
            # The README's promise: new data recomputes its own hours within five minutes.
            assert interval <= timedelta(minutes=5), name
            assert Allocation.objects.filter(team="search").exists()
            return
    pytest.fail("no beat entry attributes data ingested by hand")


def test_beat_forgets_request_ids_past_their_retention(settings, tmp_path):
    settings.REQUEST_ID_RETENTION_DAYS = 1
    (tmp_path / "r.jsonl").write_text(request_line("old"))  # long past a day
    ingest([InputFile.from_path(tmp_path / "r.jsonl")], "jsonl")
    for name, interval, tick in _beat_entries():
        if name != "refresh-gpu-prices":
            tick()
        if not SeenRequest.objects.exists():
            assert interval <= timedelta(days=1), name
            return
    pytest.fail("no beat entry forgets request ids")


def test_a_successful_poll_attributes_the_hours_it_stored(tmp_path):
    builders.gpu_resource("i-1", gpus=1)
    builders.cost_line("i-1", cost="4")
    builders.samples("i-1", builders.hour(), ["0.5"])
    source = _source("polled", tmp_path)  # one request at 2026-11-01T10:05Z on i-1
    [run_id] = ingest_source.delay(source.pk).get()
    assert IngestionRun.objects.get(pk=run_id).attributed_at is not None
    usage = Allocation.objects.get(kind="usage")
    assert (usage.team, usage.amortized_cost) == ("search", 2)


def test_a_failed_poll_attributes_nothing(tmp_path):
    source = _source("bad", tmp_path)
    (tmp_path / "bad" / "r.jsonl").write_text(request_line("x", input_tokens=-1))
    ingest_source.delay(source.pk).get()
    assert not Allocation.objects.exists()


def _catalog(request):
    if request.path == "/v1/services":
        return json_reply({"services": [{"name": "services/CE", "displayName": "Compute Engine"}]})
    price = {"currencyCode": "USD", "units": "2", "nanos": 500000000}
    sku = {
        "name": "services/CE/skus/A100",
        "skuId": "A100",
        "description": "Nvidia Tesla A100 GPU running in Americas",
        "category": {"resourceGroup": "GPU", "usageType": "OnDemand"},
        "serviceRegions": ["us-central1"],
        "pricingInfo": [
            {"pricingExpression": {"usageUnit": "h", "tieredRates": [{"unitPrice": price}]}}
        ],
    }
    return json_reply({"skus": [sku]})


def test_the_daily_price_task_refreshes_gpu_list_prices():
    with serve(_catalog) as peer:
        assert refresh_gpu_prices.delay(api_endpoint=peer.url, anonymous=True).get() == 1
    assert GpuPrice.objects.get(sku_id="A100").unit_price == 2.5


def test_a_refused_catalog_is_logged_and_not_retried():
    refusal = {"error": {"code": 403, "message": "no"}}
    with serve(lambda request: json_reply(refusal, 403)) as peer:
        assert refresh_gpu_prices.delay(api_endpoint=peer.url, anonymous=True).get() is None
    assert len(peer.requests) == 1


@pytest.mark.django_db
def test_the_daily_prune_forgets_request_ids_past_the_window(settings, tmp_path):
    settings.REQUEST_ID_RETENTION_DAYS = 1
    source = _source("polled", tmp_path)  # one request at 2026-11-01T10:05Z: long past a day
    ingest_source.delay(source.pk).get()
    assert prune_request_ids.delay().get() == 1


# Messages a deployment queued before the sources tasks left costapp/ingest/tasks.py.
OLD_NAMES = {
    "costapp.ingest.tasks.ingest_source": ingest_source,
    "costapp.ingest.tasks.run_due_sources": run_due_sources,
    "costapp.ingest.tasks.refresh_gpu_prices": refresh_gpu_prices,
}


def _queued_under_old_name(name: str):
    celery_app.loader.import_default_modules()  # as a worker starts
    task = celery_app.tasks.get(name)
    assert task is not None, f"a message named {name!r} would be dropped as unregistered"
    return task


def test_a_poll_queued_under_the_old_task_names_still_runs(tmp_path):
    polled = _source("polled", tmp_path)
    [run_id] = (
        _queued_under_old_name("costapp.ingest.tasks.ingest_source").apply(args=[polled.pk]).get()
    )
    assert IngestionRun.objects.get(pk=run_id).source == polled

    due = _source("due", tmp_path)
    scheduler = _queued_under_old_name("costapp.ingest.tasks.run_due_sources")
    assert scheduler.apply().get() == [due.pk]
    assert IngestionRun.objects.filter(source=due, status=RunStatus.SUCCEEDED).exists()


def test_a_price_refresh_queued_under_its_old_name_still_runs():
    refresh = _queued_under_old_name("costapp.ingest.tasks.refresh_gpu_prices")
    with serve(_catalog) as peer:
        assert refresh.apply(kwargs={"api_endpoint": peer.url, "anonymous": True}).get() == 1
    assert GpuPrice.objects.filter(sku_id="A100").exists()


@pytest.mark.parametrize("old_name", sorted(OLD_NAMES))
def test_an_old_task_name_keeps_the_retries_and_time_limits_of_the_new(old_name):
    alias, task = _queued_under_old_name(old_name), OLD_NAMES[old_name]
    assert alias.name != task.name
    for option in (
        "acks_late",
        "autoretry_for",
        "max_retries",
        "retry_backoff",
        "retry_backoff_max",
        "retry_jitter",
        "soft_time_limit",
        "time_limit",
    ):
        assert getattr(alias, option, None) == getattr(task, option, None), option
