"""The FOCUS 1.3 allocation export of a closed month: FOCUS column names, the split described
by AllocatedMethodId / AllocatedMethodDetails / AllocatedResourceId, money exact."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db.models import Sum

from costapp.attribution.models import Allocation

from .builders import PASSWORD, finance_user, team_lead
from .test_chargeback import october  # noqa: F401 (the engine-attributed, closed October)

pytestmark = pytest.mark.django_db
PATH = "/exports/focus-allocation/2026-10.csv"


def _rows(client, user, path: str = PATH) -> list[dict]:
    assert client.login(username=user.username, password=PASSWORD)
    response = client.get(path)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text), strict=True))


def test_every_row_has_the_focus_columns_and_the_month_adds_up(client, october):  # noqa: F811
    rows = _rows(client, finance_user())
    for column in ("BillingPeriodStart", "ChargePeriodStart", "BilledCost", "EffectiveCost",
                   "BillingCurrency", "ResourceId", "ServiceName", "Tags", "AllocatedMethodId",
                   "AllocatedMethodDetails", "AllocatedResourceId"):  # fmt: skip
        assert column in rows[0]
    assert {row["BillingPeriodStart"] for row in rows} == {"2026-10-01T00:00:00Z"}
    assert {row["BillingPeriodEnd"] for row in rows} == {"2026-11-01T00:00:00Z"}
    october_rows = Allocation.objects.filter(
        hour__gte=datetime(2026, 10, 1, tzinfo=UTC), hour__lt=datetime(2026, 11, 1, tzinfo=UTC)
    )
    totals = october_rows.aggregate(e=Sum("amortized_cost"), b=Sum("billed_cost"))
    assert sum(Decimal(row["EffectiveCost"]) for row in rows) == totals["e"]
    assert sum(Decimal(row["BilledCost"]) for row in rows) == totals["b"]
    assert len(rows) == october_rows.count()


def test_the_ratios_of_each_origin_charge_sum_to_one(client, october):  # noqa: F811
    rows = _rows(client, finance_user())
    ratios: dict[tuple, Decimal] = defaultdict(Decimal)
    for row in rows:
        details = json.loads(row["AllocatedMethodDetails"], parse_float=Decimal)
        (element,) = details["Elements"]
        ratios[row["ChargePeriodStart"], row["ResourceId"], row["BillingCurrency"]] += Decimal(
            str(element["AllocatedRatio"])
        )
    assert ratios and all(abs(total - 1) < Decimal("1E-20") for total in ratios.values())


def test_usage_rows_name_their_method_unit_and_allocated_key(client, october):  # noqa: F811
    rows = _rows(client, finance_user())
    usage = [row for row in rows if row["x_LineKind"] == "usage"]
    assert usage and {row["AllocatedMethodId"] for row in usage} == {
        "inference-ledger/usage/tokens"
    }
    alpha = next(row for row in usage if row["AllocatedResourceId"].startswith("alpha/"))
    assert alpha["AllocatedResourceId"] == "alpha/llama-70b//v1/chat"
    assert json.loads(alpha["Tags"])["ledger/team"] == "alpha"
    element = json.loads(alpha["AllocatedMethodDetails"], parse_float=Decimal)["Elements"][0]
    assert element["UsageUnit"] == "Tokens"
    assert element["UsageQuantity"] == 711  # 700 input + 1 x 11 output
    idle = next(row for row in rows if row["x_LineKind"] == "idle")
    assert json.loads(idle["AllocatedMethodDetails"])["Elements"][0]["UsageUnit"] == "GPU-Hours"
    # FOCUS: AllocatedResourceId is null for the unallocated portion of the origin charge.
    unplaced = [row for row in rows if row["x_LineKind"] in ("unallocated", "unmeasured")]
    assert unplaced and all(row["AllocatedResourceId"] == "" for row in unplaced)
    assert {row["ServiceName"] for row in rows} >= {"Amazon EC2", "Amazon S3"}


def test_an_open_month_is_refused_and_leads_get_no_such_export(client, october):  # noqa: F811
    user = finance_user()
    client.login(username=user.username, password=PASSWORD)
    response = client.get("/exports/focus-allocation/2026-11.csv")
    assert response.status_code == 400 and b"close the month first" in response.content
    assert client.get("/exports/focus-allocation/2026-1x.csv").status_code == 400
    lead = team_lead("alpha")
    client.login(username=lead.username, password=PASSWORD)
    response = client.get(PATH)
    assert response.status_code == 404 and b"bravo" not in response.content
