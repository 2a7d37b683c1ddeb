"""Every public telemetry and request-log sample in ../shared/fixtures ingests through the real
service, and what is stored matches counts and totals computed here straight from the files."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from statistics import mean

import pytest

from costapp.ingest.files import InputFile, local_files
from costapp.ingest.models import GpuSample, RunStatus, UsageRollup
from costapp.ingest.runs import ingest

pytestmark = [pytest.mark.conformance, pytest.mark.django_db]

SERIES = re.compile(r"^(\w+)\{(.*)\} (\S+)$")
MILLI = Decimal("0.001")


def _series(path) -> list[tuple[str, dict[str, str], Decimal]]:
    """A naive reading of a DCGM dump, independent of the parser under test."""
    out = []
    for line in path.read_text().splitlines():
        match = SERIES.match(line)
        if match:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match[2]))
            out.append((match[1], labels, Decimal(match[3])))
    return out


def _succeeded(paths, fmt: str):
    run = ingest([InputFile.from_path(p) for p in paths], fmt)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def _mtime(path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def test_dcgm_scrape_of_eight_h100s_stores_one_reading_per_gpu(shared_fixtures):
    path = shared_fixtures / "dcgm-exporter-dumps/aws_eks_8x-h100_dynamo-vllm_sampled.prom"
    series = _series(path)
    util = {lab["UUID"]: v / 100 for n, lab, v in series if n == "DCGM_FI_DEV_GPU_UTIL"}
    power = {lab["UUID"]: v for n, lab, v in series if n == "DCGM_FI_DEV_POWER_USAGE"}
    run = _succeeded([path], "dcgm")
    stored = {s.gpu_uuid: s for s in GpuSample.objects.filter(run=run)}
    assert len(stored) == len(util) == 8
    assert mean(s.utilization for s in stored.values()) == mean(util.values())
    assert sum(s.power_w for s in stored.values()) == sum(v.quantize(MILLI) for v in power.values())
    assert {s.ts for s in stored.values()} == {_mtime(path)}  # no time in the file: its mtime
    labelled = [s for s in stored.values() if s.labels]
    assert [(s.gpu_index, s.labels["pod"]) for s in labelled] == [
        (0, "vllm-agg-0-vllmdecodeworker-s65j5")
    ]


def test_dcgm_scrape_of_an_l4_prefers_engine_active_and_names_its_instance(shared_fixtures):
    path = shared_fixtures / "dcgm-exporter-dumps/aws_kops_nvidia-l4.prom"
    values = {n: v for n, _, v in _series(path)}
    run = _succeeded([path], "dcgm")
    (sample,) = GpuSample.objects.filter(run=run)
    assert sample.utilization == values["DCGM_FI_PROF_GR_ENGINE_ACTIVE"]
    assert sample.memory_used_mib == values["DCGM_FI_DEV_FB_USED"]
    assert sample.power_w == values["DCGM_FI_DEV_POWER_USAGE"].quantize(MILLI)
    assert (sample.gpu_model, sample.resource_id) == ("NVIDIA L4", "i-030791dc5a37cd257")


def test_the_nvidia_gpu_exporter_metrics_read_through_the_dcgm_format(shared_fixtures):
    for path in sorted((shared_fixtures / "nvidia-gpu-exporter-metrics").glob("*.metrics")):
        values = {
            m[1]: Decimal(m[2])
            for m in re.finditer(
                r"^(nvidia_smi_\w+)\{uuid=\"[^\"]*\"\} (\S+)$", path.read_text(), re.M
            )
        }
        run = _succeeded([path], "dcgm")
        (sample,) = GpuSample.objects.filter(run=run)
        assert sample.memory_used_mib == (values["nvidia_smi_memory_used_bytes"] / 2**20).quantize(
            MILLI
        )
        assert sample.power_w == values["nvidia_smi_power_draw_watts"]
        assert sample.utilization == values.get(
            "nvidia_smi_utilization_gpu_ratio"
        )  # None under MIG


def test_prometheus_api_responses_store_sixteen_gpus_each_and_merge_when_given_together(
    shared_fixtures, write_file
):
    folder = shared_fixtures / "dcgm-exporter-dumps"
    util_path = folder / "aws_eks_h100_prometheus-api_query_gpu_util.json"
    fb_path = folder / "aws_eks_h100_prometheus-api_query_fb_used.json"
    util_doc, fb_doc = json.loads(util_path.read_text()), json.loads(fb_path.read_text())
    util = {r["metric"]["UUID"]: Decimal(r["value"][1]) / 100 for r in util_doc["data"]["result"]}
    memory = {r["metric"]["UUID"]: Decimal(r["value"][1]) for r in fb_doc["data"]["result"]}
    hosts = {r["metric"]["Hostname"] for r in util_doc["data"]["result"]}

    run = _succeeded([util_path], "prometheus")
    stored = GpuSample.objects.filter(run=run)
    assert stored.count() == len(util) == 16 and len(hosts) == 2
    assert {s.hostname for s in stored} == hosts
    assert mean(s.utilization for s in stored) == mean(util.values())

    # The two instant queries ran 260 ms apart; handed over together they are one reading.
    combined = write_file("combined.json", json.dumps([util_doc, fb_doc]))
    run = _succeeded([combined], "prometheus")
    merged = {s.gpu_uuid: s for s in GpuSample.objects.filter(run=run)}
    assert len(merged) == 16
    assert {u: s.memory_used_mib for u, s in merged.items()} == memory
    assert all(s.utilization is not None for s in merged.values())


def test_nvidia_smi_query_gpu_captures_store_one_reading_per_line(shared_fixtures):
    paths = sorted((shared_fixtures / "nvidia-smi-captures/extracted").glob("*query-gpu_*.csv"))
    expected = {}
    for path in paths:
        header, values = (line.split(", ") for line in path.read_text().splitlines()[:2])
        cell = dict(zip(header, values, strict=True))
        util = cell["utilization.gpu [%]"]
        expected[cell["timestamp"]] = (
            None if util.startswith("[") else Decimal(util.removesuffix(" %")) / 100,
            Decimal(cell["memory.used [MiB]"].removesuffix(" MiB")),
            Decimal(cell["power.draw [W]"].removesuffix(" W")),
        )
    run = _succeeded(paths, "nvidia-smi")
    stored = {
        s.ts.strftime("%Y/%m/%d %H:%M:%S.%f")[:-3]: (s.utilization, s.memory_used_mib, s.power_w)
        for s in GpuSample.objects.filter(run=run)
    }
    assert len(paths) == 6 and stored == expected


def test_the_nvidia_smi_sample_without_a_timestamp_field_is_refused_by_name(shared_fixtures):
    path = shared_fixtures / "nvidia-smi-captures/query_simple_testdata.csv"
    run = ingest([InputFile.from_path(path)], "nvidia-smi")
    assert run.status == RunStatus.FAILED
    assert (run.error_line, run.error_column) == (1, "timestamp")
    assert GpuSample.objects.count() == 0


def test_litellm_spend_log_and_logging_payload_store_their_tokens(shared_fixtures):
    files = local_files(shared_fixtures / "litellm")
    files = [f for f in files if "model_prices" not in f.name]  # a price table, not a log
    records = [json.loads(Path(f.name).read_text()) for f in files]
    run = ingest(files, "litellm")
    assert run.status == RunStatus.SUCCEEDED, run.error
    rollups = UsageRollup.objects.filter(run=run)
    assert sum(r.requests for r in rollups) == len(records) == 2
    assert sum(r.input_tokens for r in rollups) == sum(r["prompt_tokens"] for r in records)
    assert sum(r.output_tokens for r in rollups) == sum(r["completion_tokens"] for r in records)
    assert {r.team for r in rollups} == {"unassigned"}  # both samples have an empty team
    assert {r.model for r in rollups} == {r["model"] for r in records}
