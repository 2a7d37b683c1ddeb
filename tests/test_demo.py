"""The demo dataset: deterministic, realistic in shape, and readable by our own parsers."""

from __future__ import annotations

import csv
import filecmp
import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from costapp.demo.billing import COLUMNS
from costapp.demo.dataset import generate_dataset
from costapp.ingest import dcgm, jsonl
from costapp.ingest.files import InputFile

START = date(2026, 10, 1)  # a Thursday; the second L4 node is launched on day 4 at 10:27


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    outdir = tmp_path_factory.mktemp("demo")
    generate_dataset(outdir, seed=7, start=START, days=4)
    return outdir


def _bill(demo: Path) -> list[dict[str, str]]:
    with (demo / "billing" / "focus-2026-10.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_same_seed_gives_identical_files_and_another_seed_does_not(demo, tmp_path):
    generate_dataset(tmp_path / "again", seed=7, start=START, days=4)
    generate_dataset(tmp_path / "other", seed=8, start=START, days=4)
    for sub in ("billing", "telemetry", "requests"):
        names = sorted(p.name for p in (demo / sub).iterdir())
        match, mismatch, errors = filecmp.cmpfiles(
            demo / sub, tmp_path / "again" / sub, names, shallow=False
        )
        assert (mismatch, errors) == ([], []) and len(match) == len(names)
        _, differ, _ = filecmp.cmpfiles(demo / sub, tmp_path / "other" / sub, names, shallow=False)
        assert differ


def test_bill_has_hourly_gpu_lines_for_every_pricing_category(demo):
    lines = _bill(demo)
    gpu = [
        line
        for line in lines
        if line["ServiceCategory"] == "Compute" and line["ResourceId"].startswith("i-")
    ]
    types = {line["ResourceType"] for line in gpu}
    assert types == {"p5.48xlarge", "g5.12xlarge", "g6.xlarge"}
    assert {line["PricingCategory"] for line in gpu} == {"Standard", "Committed", "Dynamic"}
    per_instance = defaultdict(int)
    for line in gpu:
        per_instance[line["ResourceId"]] += 1
    # Six nodes run all 96 hours; the late L4 starts mid-hour on day 4 (a partial hour, 14 lines).
    assert sorted(per_instance.values()) == [14] + [96] * 6
    # 7 GPU lines an hour at most, plus the plan's fee and NAT egress hourly, storage daily.
    assert len(lines) == len(gpu) + 96 * 2 + 4 * 2


def test_committed_and_spot_lines_price_below_list(demo):
    for line in _bill(demo):
        if line["PricingCategory"] == "Committed" and line["ChargeCategory"] == "Usage":
            assert Decimal(line["BilledCost"]) == 0
            assert Decimal(line["EffectiveCost"]) < Decimal(line["ListCost"])
            assert line["CommitmentDiscountStatus"] == "Used"
        if line["PricingCategory"] == "Dynamic":
            assert Decimal(line["EffectiveCost"]) < Decimal(line["ListCost"])


def test_amounts_are_exact_decimals_with_sub_cent_precision(demo):
    lines = _bill(demo)
    costs = [Decimal(line["BilledCost"]) for line in lines]
    assert all(cost.as_tuple().exponent == -10 for cost in costs)
    assert any(cost != cost.quantize(Decimal("0.01")) for cost in costs)
    assert any(Decimal(0) < cost < Decimal("0.01") for cost in costs)
    assert all(json.loads(line["Tags"]) for line in lines if line["Tags"])


def test_bill_uses_the_focus_sample_column_names(shared_fixtures, demo):
    sample = shared_fixtures / "focus-sample-data" / "focus_1.0_sample_1000.csv"
    with sample.open(newline="") as handle:
        assert next(csv.reader(handle)) == list(COLUMNS)


def test_telemetry_parses_and_follows_the_day(demo):
    path = demo / "telemetry" / "dcgm-2026-10-02.prom.gz"  # a Friday
    rows = list(dcgm.parse(InputFile.from_path(path)))
    # 29 GPUs (the second L4 is not launched yet), one reading per 5 minutes.
    assert len(rows) == 29 * 288
    by_pool = defaultdict(lambda: defaultdict(list))
    for row in rows:
        pool = "a10g" if "A10G" in row.gpu_model else "h100" if "H100" in row.gpu_model else "l4"
        by_pool[pool][row.ts.hour].append(row.utilization)
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    assert mean(by_pool["h100"][14]) > mean(by_pool["h100"][3]) + Decimal("0.3")
    # The A10G pool is the chronically underused one, even at its busiest.
    assert mean(by_pool["a10g"][14]) < Decimal("0.35") < mean(by_pool["h100"][14])
    assert all(row.resource_id.startswith("i-0") for row in rows)


def test_requests_are_valid_jsonl_for_five_teams_eight_models_twelve_endpoints(demo):
    rows = []
    for path in sorted((demo / "requests").iterdir()):
        rows.extend(jsonl.parse(InputFile.from_path(path)))
    assert len({row.request_id for row in rows}) == len(rows)
    assert len({row.team for row in rows}) == 5
    assert len({row.model for row in rows}) == 8
    assert len({row.endpoint for row in rows}) == 12
    billed = {line["ResourceId"] for line in _bill(demo)}
    assert {row.resource_id for row in rows} <= billed
    # Load follows the day: early afternoon is busier than the small hours.
    per_hour = defaultdict(int)
    for row in rows:
        per_hour[row.ts.hour] += 1
    assert per_hour[14] > 3 * per_hour[3]


def test_a_month_stays_within_the_demo_budget_of_requests():
    from costapp.demo.traffic import request_records

    total = sum(1 for _ in request_records(7, START, 30))
    assert 100_000 < total <= 300_000


@pytest.mark.slow
@pytest.mark.django_db
def test_demo_loads_through_ingestion_conserves_cost_and_is_idempotent(tmp_path):
    from django.db.models import Sum

    from costapp.attribution.models import Allocation
    from costapp.demo.load import load_demo
    from costapp.ingest.models import CostLine, IngestionRun, RunStatus
    from costapp.sources.selectors import freshness

    first = load_demo(tmp_path / "demo", seed=7, start=START, days=2, fresh=False)
    assert first.failures == [] and first.runs == {RunStatus.SUCCEEDED: 5}
    assert first.gpu_resources == 6 and first.allocations
    billed = CostLine.objects.aggregate(a=Sum("effective_cost"))["a"]
    assert (
        Allocation.objects.aggregate(a=Sum("amortized_cost"))["a"]
        == billed
        == first.amortized_total
    )
    assert [login.username for login in first.logins][:2] == ["finance", "lead-search"]
    # Loaded as the scheduler would: every run belongs to a demo source, whose freshness shows.
    by_source = {f.source.name: f for f in freshness()}
    assert set(by_source) == {"demo-billing", "demo-telemetry", "demo-requests"}
    assert not IngestionRun.objects.filter(source__isnull=True).exists()
    assert all(f.last_success_at and not f.failing for f in by_source.values())
    assert by_source["demo-requests"].data_through.date() == date(2026, 10, 2)

    again = load_demo(tmp_path / "demo", seed=7, start=START, days=2, fresh=False)
    assert again.runs == {RunStatus.SKIPPED: 5}
    assert again.allocations == first.allocations
    assert CostLine.objects.aggregate(a=Sum("effective_cost"))["a"] == billed


@pytest.mark.slow
@pytest.mark.django_db
def test_a_demo_stored_before_demo_sources_existed_is_replaced_not_counted_twice(tmp_path):
    from django.db.models import Sum

    from costapp.demo.load import load_demo
    from costapp.ingest.models import CostLine
    from costapp.ingest.runs import ingest

    files = generate_dataset(tmp_path / "demo", seed=7, start=START, days=1)
    for path in files.billing:  # as the loader once did: no source, location = the file
        ingest([InputFile.from_path(path)], "focus", location=str(path.resolve()))
    once = CostLine.objects.aggregate(a=Sum("effective_cost"))["a"]

    load_demo(tmp_path / "demo", seed=7, start=START, days=1, fresh=False)

    assert CostLine.objects.aggregate(a=Sum("effective_cost"))["a"] == once
    assert not CostLine.objects.filter(run__source__isnull=True).exists()
