"""The GPU fleet page (finance): per pool and GPU type the GPU-hours, utilization and idle cost,
the hour-by-day heatmap, the price per GPU-hour by pricing category, the GPUs without
telemetry; a lead gets the styled 403."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from costapp.attribution.models import Allocation, LineKind
from costapp.dashboard.templatetags.ledger import money, unit_money

from . import pages_ledger
from .builders import allocation, finance_user, page, team_lead
from .pages_ledger import GPU, amount, rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger():
    pages_ledger.build()


def _figure(html: str) -> dict:
    return json.loads(re.search(r'id="heatmap-figure"[^>]*>(.*?)</script>', html).group(1))


def test_pools_show_gpu_hours_utilization_and_idle_cost_from_the_ledger(client, ledger):
    html = page(client, finance_user(), "/fleet/")
    (row,) = rows(html, "fleet-pools")
    on_pool = Allocation.objects.filter(pool="h100")
    idle = sum((a.amortized_cost for a in on_pool if a.kind == LineKind.IDLE), Decimal(0))
    assert row[:2] == ["h100", "H100"]
    assert row[2] == "32.0000" and row[3] == "62.5%"  # 15 busy of 24 measured GPU-hours
    assert row[6] == money(sum((a.amortized_cost for a in on_pool), Decimal(0)))
    assert row[7] == money(idle)


def test_pool_rows_add_up_to_the_fleet_total(client, ledger):
    allocation("2026-10-01T10:00", team="ads", model="m", endpoint="/e", amortized="7",
               gpu_hours="1", resource_id="i-b", pool="a100")  # fmt: skip
    html = page(client, finance_user(), "/fleet/")
    parts = [amount(row[6]) for row in rows(html, "fleet-pools")]
    (total,) = rows(html, "fleet-pools", part="tfoot")
    assert money(sum(parts, Decimal(0))) == total[6] == money(Decimal(257))
    assert [row[1] for row in rows(html, "fleet-pools")] == ["(unknown)", "H100"]


def test_the_heatmap_is_utilization_by_day_and_hour_of_day(client, ledger):
    figure = _figure(page(client, finance_user(), "/fleet/?pool=h100"))
    (heat,) = figure["data"]
    assert heat["type"] == "heatmap" and heat["x"] == ["2026-10-01", "2026-10-02"]
    z = heat["z"]
    assert len(z) == 24
    # Oct 1 10:00: 6 busy of 8 GPU-hours; 11:00: 3 of 8; Oct 2 10:00: 6 of 8; 11:00 unmeasured.
    assert z[10] == [75.0, 75.0] and z[11] == [37.5, None] and z[0] == [None, None]


def test_the_price_per_gpu_hour_is_by_pricing_category(client, ledger):
    allocation("2026-10-03T10:00", LineKind.IDLE, amortized="16", gpu_hours="8",
               pricing_category="Committed", **GPU)  # fmt: skip
    html = page(client, finance_user(), "/fleet/")
    prices = {row[1]: row[4] for row in rows(html, "gpu-prices")}
    assert prices == {
        "Committed": unit_money(Decimal(2)),
        "Standard": unit_money(Decimal(250) / 32),
    }


def test_gpus_without_telemetry_are_listed(client, ledger):
    allocation("2026-10-01T10:00", team="ads", model="m", endpoint="/e", amortized="5",
               gpu_hours="1", resource_id="i-c", pool="h100",
               utilization_source="inferred")  # fmt: skip
    found = {row[0]: row for row in rows(page(client, finance_user(), "/fleet/"), "unmeasured")}
    assert found["i-a"][3] == "1" and found["i-a"][4] == money(Decimal(8))
    assert found["i-c"][2] == "1" and found["i-c"][3] == "0"


def test_a_lead_is_refused_with_the_styled_403(client, ledger):
    html = page(client, team_lead("ads"), "/fleet/", status=403)
    assert 'id="error-page"' in html and "h100" not in html
