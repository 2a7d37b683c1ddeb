"""S3 sources against moto's real HTTP endpoint on loopback: listing, manifests, faults."""

from __future__ import annotations

import gzip
import io
import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from costapp.ingest.errors import TransientError
from costapp.ingest.models import IngestionRun, RunStatus, UsageRollup
from costapp.sources import s3 as s3_source
from costapp.sources.models import Source
from costapp.sources.service import run_source

from .conftest import S3_ENV, request_line
from .servers import serve

pytestmark = pytest.mark.django_db


def _source(make_source, s3, prefix: str = "logs/", **options) -> Source:
    return make_source(
        location_kind=Source.Location.S3,
        location=f"s3://{s3.bucket}/{prefix}",
        credentials_ref=S3_ENV,
        options={"endpoint_url": s3.endpoint, **options},
    )


def _put(s3, key: str, body: str | bytes) -> None:
    s3.put_object(Bucket=s3.bucket, Key=key, Body=body.encode() if isinstance(body, str) else body)


def test_each_new_object_under_a_plain_prefix_is_one_delivery_ingested_once(make_source, s3):
    source = _source(make_source, s3)
    _put(s3, "logs/a.jsonl", request_line("a"))
    _put(s3, "logs/b.jsonl.gz", gzip.compress(request_line("b").encode()))
    _put(s3, "elsewhere/c.jsonl", request_line("c"))

    runs = run_source(source)
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED] * 2
    assert sorted(r.location for r in runs) == [
        f"s3://{s3.bucket}/logs/a.jsonl",
        f"s3://{s3.bucket}/logs/b.jsonl.gz",
    ]
    assert run_source(Source.objects.get(pk=source.pk)) == []

    _put(s3, "logs/d.jsonl", request_line("d"))
    runs = run_source(Source.objects.get(pk=source.pk))
    assert [r.location for r in runs] == [f"s3://{s3.bucket}/logs/d.jsonl"]
    assert sum(r.requests for r in UsageRollup.objects.all()) == 3


def test_a_rewritten_object_is_a_new_delivery(make_source, s3):
    source = _source(make_source, s3)
    _put(s3, "logs/a.jsonl", request_line("a"))
    run_source(source)
    _put(s3, "logs/a.jsonl", request_line("a") + "\n" + request_line("a2"))
    runs = run_source(Source.objects.get(pk=source.pk))
    assert len(runs) == 1 and runs[0].rows_stored == 1  # "a" was counted already


def test_cur2_manifest_is_one_delivery_of_all_its_data_files(make_source, s3):
    source = _source(make_source, s3, prefix="cur/", manifest=True)
    _put(s3, "cur/daily/data/BILLING_PERIOD=2026-11/part-1.jsonl", request_line("a"))
    _put(s3, "cur/daily/data/BILLING_PERIOD=2026-11/part-2.jsonl", request_line("b"))
    manifest = {
        "exportName": "daily",
        "billingPeriod": {"start": "2026-11-01", "end": "2026-12-01"},
        "dataFiles": [
            f"s3://{s3.bucket}/cur/daily/data/BILLING_PERIOD=2026-11/part-1.jsonl",
            f"s3://{s3.bucket}/cur/daily/data/BILLING_PERIOD=2026-11/part-2.jsonl",
        ],
    }
    _put(s3, "cur/daily/metadata/BILLING_PERIOD=2026-11/daily-Manifest.json", json.dumps(manifest))

    runs = run_source(source)
    assert len(runs) == 1
    assert (runs[0].status, runs[0].files, runs[0].rows_stored) == (RunStatus.SUCCEEDED, 2, 2)
    assert runs[0].location.endswith("metadata/BILLING_PERIOD=2026-11/daily-Manifest.json")
    # Data files are not deliveries of their own.
    assert run_source(Source.objects.get(pk=source.pk)) == []


def test_a_rewritten_manifest_is_a_new_delivery_even_within_the_same_second(make_source, s3):
    source = _source(make_source, s3, prefix="cur/", manifest=True)
    key = "cur/daily/metadata/BILLING_PERIOD=2026-11/daily-Manifest.json"
    _put(s3, "cur/daily/data/p1.jsonl", request_line("a"))
    _put(s3, key, json.dumps({"dataFiles": [f"s3://{s3.bucket}/cur/daily/data/p1.jsonl"]}))
    run_source(source)
    _put(s3, "cur/daily/data/p2.jsonl", request_line("b"))
    restated = [f"s3://{s3.bucket}/cur/daily/data/p{n}.jsonl" for n in (1, 2)]
    _put(s3, key, json.dumps({"dataFiles": restated}))
    runs = run_source(Source.objects.get(pk=source.pk))
    assert [(r.files, r.rows_stored) for r in runs] == [(2, 1)]


def test_legacy_cur_manifest_uses_report_keys_and_ignores_assembly_copies(make_source, s3):
    source = _source(make_source, s3, prefix="cur/", manifest=True)
    period = "cur/report/20261101-20261201"
    _put(s3, f"{period}/abc-123/report-1.jsonl", request_line("a"))
    manifest = json.dumps(
        {
            "assemblyId": "abc-123",
            "bucket": s3.bucket,
            "reportKeys": [f"{period}/abc-123/report-1.jsonl"],
        }
    )
    _put(s3, f"{period}/report-Manifest.json", manifest)
    _put(s3, f"{period}/abc-123/report-Manifest.json", manifest)
    runs = run_source(source)
    assert [(r.location, r.files) for r in runs] == [
        (f"s3://{s3.bucket}/{period}/report-Manifest.json", 1)
    ]


def test_manifest_naming_a_missing_file_fails_that_delivery_without_retrying(make_source, s3):
    source = _source(make_source, s3, prefix="cur/", manifest=True)
    key = "cur/x/metadata/BILLING_PERIOD=2026-11/x-Manifest.json"
    _put(s3, key, json.dumps({"dataFiles": [f"s3://{s3.bucket}/cur/x/data/gone.csv.gz"]}))
    [run] = run_source(source)
    assert run.status == RunStatus.FAILED
    assert "gone.csv.gz" in run.error and "404" in run.error
    assert run_source(Source.objects.get(pk=source.pk)) == []


def test_unreadable_manifest_json_is_located_to_the_manifest(make_source, s3):
    source = _source(make_source, s3, prefix="cur/", manifest=True)
    _put(s3, "cur/x/metadata/P/x-Manifest.json", "{not json")
    [run] = run_source(source)
    assert run.status == RunStatus.FAILED
    assert run.error_file == f"s3://{s3.bucket}/cur/x/metadata/P/x-Manifest.json"


def test_a_bad_file_fails_its_run_and_is_not_read_again_until_it_changes(make_source, s3):
    source = _source(make_source, s3)
    _put(s3, "logs/good.jsonl", request_line("a"))
    _put(s3, "logs/bad.jsonl", request_line("b", output_tokens="ten"))
    runs = {r.location.rsplit("/", 1)[1]: r for r in run_source(source)}
    assert runs["good.jsonl"].status == RunStatus.SUCCEEDED
    assert runs["bad.jsonl"].status == RunStatus.FAILED
    assert (runs["bad.jsonl"].error_line, runs["bad.jsonl"].error_column) == (1, "output_tokens")
    assert run_source(Source.objects.get(pk=source.pk)) == []


def test_credentials_come_only_from_the_named_environment_variables(make_source, s3, monkeypatch):
    monkeypatch.delenv("IL_TEST_S3_SECRET")
    source = _source(make_source, s3)
    [run] = run_source(source)
    assert run.status == RunStatus.FAILED
    assert "IL_TEST_S3_SECRET" in run.error and "testing" not in run.error


def test_a_missing_bucket_is_a_recorded_permanent_failure(make_source, s3):
    source = make_source(
        location_kind=Source.Location.S3,
        location="s3://no-such-bucket-il/logs/",
        credentials_ref=S3_ENV,
        options={"endpoint_url": s3.endpoint},
    )
    [run] = run_source(source)
    assert run.status == RunStatus.FAILED and "NoSuchBucket" in run.error


def test_objects_stream_with_ranged_reads_so_parquet_can_seek(s3):
    table = pa.table({"n": list(range(50_000)), "s": [f"row-{i}" for i in range(50_000)]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    _put(s3, "p/data.parquet", buffer.getvalue())
    [listing] = s3_source.list_objects(s3, s3.bucket, "p/")
    file = s3_source.input_file(s3, s3.bucket, listing)
    with file.open_binary() as handle:
        assert pq.read_table(handle).num_rows == 50_000
    assert file.fingerprint() == f"etag:{listing.etag}:{listing.size}"


def test_s3_server_errors_are_transient_and_client_errors_permanent():
    def answer(request):
        status = 503 if request.path.startswith("/busy") else 403
        return status, {"Content-Type": "application/xml"}, b"<Error><Code>X</Code></Error>"

    with serve(answer) as peer:
        client = s3_source.boto3.client(
            "s3",
            endpoint_url=peer.url,
            region_name="us-east-1",
            aws_access_key_id="k",
            aws_secret_access_key="s",
            config=s3_source.Config(retries={"total_max_attempts": 1}),
        )
        with pytest.raises(TransientError):
            s3_source.list_objects(client, "busy", "")
        with pytest.raises(s3_source.IngestError):
            s3_source.list_objects(client, "denied", "")


def test_an_s3_outage_is_raised_for_retry_and_records_nothing_as_handled(make_source, s3):
    with serve(lambda request: (500, {}, b"")) as peer:
        source = make_source(
            location_kind=Source.Location.S3,
            location="s3://bucket/logs/",
            credentials_ref=S3_ENV,
            options={"endpoint_url": peer.url, "max_attempts": 1},
        )
        with pytest.raises(TransientError):
            run_source(source)
    source.refresh_from_db()
    assert source.state == {} and not IngestionRun.objects.exists()


FOCUS_HEADER = (
    "ProviderName,BillingAccountId,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,"
    "ChargePeriodEnd,ChargeCategory,BilledCost,EffectiveCost,BillingCurrency,ResourceId\n"
)


def _focus(*costs: str) -> str:
    rows = [
        f"AWS,123,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,2026-11-02T{h:02d}:00:00Z,"
        f"2026-11-02T{h + 1:02d}:00:00Z,Usage,{cost},{cost},USD,i-{h}\n"
        for h, cost in enumerate(costs)
    ]
    return FOCUS_HEADER + "".join(rows)


def test_a_restated_month_delivered_by_manifest_replaces_the_earlier_rows(make_source, s3):
    from costapp.ingest.models import CostLine

    source = make_source(
        format="focus",
        location_kind=Source.Location.S3,
        location=f"s3://{s3.bucket}/focus/",
        credentials_ref=S3_ENV,
        options={"endpoint_url": s3.endpoint, "manifest": True},
    )
    key = "focus/exp/metadata/BILLING_PERIOD=2026-11/exp-Manifest.json"
    _put(s3, "focus/exp/data/BILLING_PERIOD=2026-11/v1-1.csv", _focus("1.50", "2.25"))
    _put(s3, "focus/exp/data/BILLING_PERIOD=2026-11/v1-2.csv", _focus("0.25"))
    first = [f"s3://{s3.bucket}/focus/exp/data/BILLING_PERIOD=2026-11/v1-{n}.csv" for n in (1, 2)]
    _put(s3, key, json.dumps({"dataFiles": first}))
    [run] = run_source(source)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert sum(c.billed_cost for c in CostLine.objects.all()) == Decimal("4.00")

    # AWS re-delivers the month: a new file set, a rewritten manifest.
    _put(s3, "focus/exp/data/BILLING_PERIOD=2026-11/v2-1.csv", _focus("1.50", "2.00", "0.75"))
    restated = [f"s3://{s3.bucket}/focus/exp/data/BILLING_PERIOD=2026-11/v2-1.csv"]
    _put(s3, key, json.dumps({"dataFiles": restated}))
    [run] = run_source(Source.objects.get(pk=source.pk))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert CostLine.objects.count() == 3
    assert sum(c.billed_cost for c in CostLine.objects.all()) == Decimal("4.25")
    assert set(CostLine.objects.values_list("run_id", flat=True)) == {run.pk}
