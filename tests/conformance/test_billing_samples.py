"""Every public billing sample in ../shared/fixtures, ingested through the real service.

Expected counts and totals are computed here from the raw files with plain csv and Decimal,
not with the code under test. Stored costs are NUMERIC(28,10): the store keeps each line to
1E-10, so stored totals are compared with the file's values rounded the same way, and the
parsers' own output (before storage) with the exact file totals.
"""

from __future__ import annotations

import csv
import gzip
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from django.db.models import Sum

from costapp.ingest import cur, focus, gcp
from costapp.ingest.files import InputFile
from costapp.ingest.models import CostLine, RunStatus
from costapp.ingest.runs import ingest
from costapp.money import QUANTUM
from tests.conftest import SHARED_FIXTURES

pytestmark = [pytest.mark.conformance, pytest.mark.django_db]

NULLS = {"", "NULL", "null"}


def number(text: str) -> Decimal:
    return Decimal(0) if text in NULLS else Decimal(text)


def file_rows(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="", encoding="utf-8-sig") as handle:
        return [row for row in csv.DictReader(handle) if any(row.values())]


def stored_totals(run) -> tuple[int, Decimal, Decimal]:
    lines = CostLine.objects.filter(run=run)
    sums = lines.aggregate(billed=Sum("billed_cost"), effective=Sum("effective_cost"))
    return lines.count(), sums["billed"], sums["effective"]


def rounded_sum(values) -> Decimal:
    return sum((v.quantize(QUANTUM, rounding=ROUND_HALF_UP) for v in values), Decimal(0))


def check(path: Path, fmt: str, module, billed: list[Decimal], effective: list[Decimal]) -> None:
    parsed = list(module.parse(InputFile.from_path(path)))
    assert len(parsed) == len(billed)
    assert sum(r.billed_cost for r in parsed) == sum(billed)
    assert sum(r.effective_cost for r in parsed) == sum(effective)
    run = ingest([InputFile.from_path(path)], fmt)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.rows_stored == len(billed)
    assert stored_totals(run) == (len(billed), rounded_sum(billed), rounded_sum(effective))


def check_focus(path: Path, rows: list[dict]) -> None:
    """FOCUS states both costs on every row: the file's own columns are the expected values."""
    check(
        path,
        "focus",
        focus,
        [number(r["BilledCost"]) for r in rows],
        [number(r["EffectiveCost"]) for r in rows],
    )


def test_the_official_focus_1_0_sample(shared_fixtures):
    path = shared_fixtures / "focus-sample-data/focus_1.0_sample_1000.csv"
    rows = file_rows(path)
    assert len(rows) == 1000
    check_focus(path, rows)
    # The GPU rows the manifest names: 8 g5.4xlarge charges at $1.624 an hour, tagged.
    g5 = CostLine.objects.filter(charge_description__contains="g5.4xlarge", billed_cost__gt=0)
    assert g5.count() == sum(
        1 for r in rows if "g5.4xlarge" in r["ChargeDescription"] and number(r["BilledCost"]) > 0
    )
    assert all(line.tags.get("application") == "BrightPathMatrix" for line in g5)


def test_the_same_focus_sample_twice_is_skipped(shared_fixtures):
    path = shared_fixtures / "focus-sample-data/focus_1.0_sample_1000.csv"
    assert ingest([InputFile.from_path(path)], "focus").status == RunStatus.SUCCEEDED
    assert ingest([InputFile.from_path(path)], "focus").status == RunStatus.SKIPPED
    assert CostLine.objects.count() == 1000


# The spec's worked examples are column excerpts: they omit the mandatory BillingCurrency and
# ProviderName, which the test supplies, line by line so physical line numbers stay the same.
def completed_example(path: Path, tmp_path: Path) -> Path:
    lines = path.read_text().splitlines()
    out = [lines[0] + ",BillingCurrency,ProviderName"]
    out += [line + ",USD,Example" if line.strip() else line for line in lines[1:]]
    target = tmp_path / path.name
    target.write_text("\n".join(out) + "\n")
    return target


EXAMPLES = sorted(p.name for p in (SHARED_FIXTURES / "focus-spec-v1.2-examples").glob("*.csv"))


@pytest.mark.parametrize("name", EXAMPLES or ["(absent)"])
def test_the_focus_1_2_spec_examples(shared_fixtures, tmp_path, name):
    source = shared_fixtures / "focus-spec-v1.2-examples" / name
    if not source.exists():
        pytest.skip("FOCUS 1.2 examples absent")
    path = completed_example(source, tmp_path)
    bad_hours = [n for n, line in enumerate(path.read_text().splitlines(), 1) if "T30:" in line]
    if bad_hours:
        # Some examples carry "2023-02-01T30:00:00Z": hour 30 is no timestamp, and we say where.
        run = ingest([InputFile.from_path(path)], "focus")
        assert run.status == RunStatus.FAILED
        assert (run.error_line, run.error_column) == (bad_hours[0], "ChargePeriodEnd")
        assert not CostLine.objects.exists()
        return
    rows = file_rows(path)
    check_focus(path, rows)


def test_a_focus_0_5_file_is_refused_at_its_header(shared_fixtures):
    path = shared_fixtures / "focus-validator/all_pass_0.5.csv"
    run = ingest([InputFile.from_path(path)], "focus")
    assert run.status == RunStatus.FAILED and run.error_line == 1
    assert "FOCUS 0.5" in run.error


def test_the_pre_1_0_parquet_sample_is_refused_at_its_header(shared_fixtures):
    run = ingest([InputFile.from_path(shared_fixtures / "focus-validator/sample.parquet")], "focus")
    assert run.status == RunStatus.FAILED and run.error_line == 1
    assert "BilledCost" in run.error


@pytest.mark.parametrize("name", ["aws_cur_legacy_test_cur.csv", "aws_cur_legacy_test_cur.csv.gz"])
def test_the_legacy_cur_sample(shared_fixtures, name):
    path = shared_fixtures / "koku" / name
    rows = file_rows(path)
    assert len(rows) == 19
    costs = [number(r["lineItem/UnblendedCost"]) for r in rows]
    check(path, "cur", cur, costs, costs)  # plain usage: amortized = billed


def test_the_legacy_cur_sample_with_savings_plan_coverage_in_nok(shared_fixtures):
    path = shared_fixtures / "koku/aws_cur_legacy_2023-06_costcategory.csv"
    rows = file_rows(path)
    assert {r["lineItem/LineItemType"] for r in rows} == {"SavingsPlanCoveredUsage"}
    check(
        path,
        "cur",
        cur,
        [number(r["lineItem/UnblendedCost"]) for r in rows],
        [number(r["savingsPlan/SavingsPlanEffectiveCost"]) for r in rows],
    )
    assert set(CostLine.objects.values_list("billing_currency", "pricing_category")) == {
        ("NOK", "Committed")
    }


def test_the_gcp_billing_export_sample(shared_fixtures):
    path = shared_fixtures / "koku/gcp_billing_export_202011.csv"
    rows = file_rows(path)
    assert len(rows) == 25
    billed = [number(r["cost"]) for r in rows]
    credits = [
        sum((Decimal(a) for a in re.findall(r"'amount': (-?[0-9.e+-]+)", r["credits"])), Decimal(0))
        for r in rows
    ]
    check(path, "gcp", gcp, billed, [b + c for b, c in zip(billed, credits, strict=True)])


def test_the_azure_ea_sample_ingests_with_exact_totals(shared_fixtures):
    path = shared_fixtures / "focus-converters/azure_ea_export_anonymized.csv"
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared fixtures are not checked out")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        raw = [row for row in csv.DictReader(handle) if any(row.values())]
    run = ingest([InputFile.from_path(path)], "azure")
    assert run.status == "succeeded", run.error
    lines = CostLine.objects.filter(run=run)
    assert lines.count() == len(raw)
    # Stored to the column's 10 places, row by row, as NUMERIC(28,10) rounds half up.
    total = sum(
        Decimal(row["CostInBillingCurrency"]).quantize(QUANTUM, ROUND_HALF_UP) for row in raw
    )
    assert lines.aggregate(s=Sum("billed_cost"))["s"] == total
    assert set(lines.values_list("billing_currency", flat=True)) == {"CAD"}
