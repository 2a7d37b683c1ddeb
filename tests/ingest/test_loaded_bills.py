"""LoadedBill: what each stream holds of each bill, kept with the rows, and a warning when two
streams hold the same bill (it would count twice)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Count, Sum

from costapp.ingest.files import InputFile
from costapp.ingest.models import CostLine, IngestionRun, LoadedBill, RunStatus
from costapp.ingest.runs import ingest

from .billing_cases import csv_text
from .test_focus import BASE

pytestmark = pytest.mark.django_db

WITH_SUB = {**BASE, "SubAccountId": "444455556666"}
OCTOBER = {"BillingPeriodStart": "2026-10-01 00:00:00", "BillingPeriodEnd": "2026-11-01 00:00:00"}


def deliver(*rows: dict, stream: str = "source:1", name: str = "bill.csv") -> IngestionRun:
    text = csv_text(WITH_SUB, rows)
    return ingest([InputFile.from_bytes(name, text.encode())], "focus", stream=stream)


def bills() -> list[tuple]:
    return list(
        LoadedBill.objects.order_by("stream", "billing_period_start", "sub_account_id").values_list(
            "stream", "sub_account_id", "billing_period_start__month", "rows", "effective_cost"
        )
    )


def test_each_account_period_of_a_delivery_is_recorded_with_its_exact_totals():
    run = deliver(
        {"EffectiveCost": "0.0000000001"},
        {"EffectiveCost": "2.5"},
        {"EffectiveCost": "7", "SubAccountId": "777"},
        {**OCTOBER, "EffectiveCost": "-1.25", "BilledCost": "-1.25"},
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.warnings == []
    assert bills() == [
        ("source:1", "444455556666", 10, 1, Decimal("-1.25")),
        ("source:1", "444455556666", 11, 2, Decimal("2.5000000001")),
        ("source:1", "777", 11, 1, Decimal("7")),
    ]
    # The records add up to the stored lines, per run, on both bases.
    lines = CostLine.objects.aggregate(b=Sum("billed_cost"), e=Sum("effective_cost"), n=Count("pk"))
    recorded = LoadedBill.objects.aggregate(
        b=Sum("billed_cost"), e=Sum("effective_cost"), n=Sum("rows")
    )
    assert recorded == lines


def test_a_restated_month_replaces_its_record_and_leaves_other_months():
    deliver({"EffectiveCost": "5"}, {**OCTOBER, "EffectiveCost": "3"})
    restated = deliver({"EffectiveCost": "6"}, {"EffectiveCost": "1"}, name="restated.csv")

    assert bills() == [
        ("source:1", "444455556666", 10, 1, Decimal("3")),
        ("source:1", "444455556666", 11, 2, Decimal("7")),
    ]
    assert LoadedBill.objects.get(billing_period_start__month=11).run == restated
    assert restated.warnings == []


def test_the_same_bill_through_a_second_stream_is_stored_with_a_warning():
    first = deliver({"EffectiveCost": "5"}, stream="source:1")
    # The same charges, exported in another shape (a CUR and a FOCUS export of one account).
    second = deliver(
        {"EffectiveCost": "5.00", "ChargeDescription": "p5.48xlarge"},
        stream="source:2",
        name="focus-export.csv",
    )

    assert second.status == RunStatus.SUCCEEDED
    (warning,) = second.warnings
    assert "AWS billing account 111122223333, sub account 444455556666" in warning
    assert "billing period 2026-11" in warning
    assert f"stream source:1 (run {first.pk})" in warning
    assert "counts twice" in warning
    assert IngestionRun.objects.get(pk=second.pk).warnings == second.warnings  # saved
    assert IngestionRun.objects.get(pk=first.pk).warnings == []


def test_other_sub_accounts_of_one_billing_account_from_two_streams_are_no_overlap():
    # Azure exports scoped to one subscription each share the billing account.
    deliver({"SubAccountId": "sub-a"}, stream="source:1")
    second = deliver({"SubAccountId": "sub-b"}, stream="source:2", name="other.csv")
    assert second.warnings == []


def test_many_overlapping_bills_give_a_bounded_list_of_warnings():
    months = [
        {
            "BillingPeriodStart": f"2025-{m:02d}-01 00:00:00",
            "BillingPeriodEnd": f"2025-{m + 1:02d}-01 00:00:00",
            "SubAccountId": f"sub-{n}",
        }
        for m in range(1, 12)
        for n in range(2)
    ]
    deliver(*months, stream="source:1")
    second = deliver(*({**m, "SkuId": "other"} for m in months), stream="source:2", name="b.csv")
    assert len(second.warnings) == 11
    assert second.warnings[-1] == "... and 12 more bills held by another stream"


def test_a_failed_delivery_records_no_bill_and_keeps_the_earlier_records():
    deliver({"EffectiveCost": "5"})
    before = bills()
    failed = deliver({"EffectiveCost": "5"}, {"EffectiveCost": "five"}, name="bad.csv")
    assert failed.status == RunStatus.FAILED
    assert bills() == before
    assert not LoadedBill.objects.filter(run=failed).exists()
