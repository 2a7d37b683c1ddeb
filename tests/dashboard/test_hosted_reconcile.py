"""The hosted-model reconciliation (costapp.attribution.reconcile) and its page and CSV: logged
tokens at list price against the bill, per model and day, the gap and its likely cause."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from costapp.attribution.reconcile import reconcile
from costapp.ingest.models import IngestionRun, UsageRollup
from costapp.whatif.models import HostedModelPrice

from .builders import allocation, cost_line, finance_user, page, team_lead

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 10, 1, tzinfo=UTC)
SONNET = "anthropic.claude-3-5-sonnet-20240620-v1:0"


def _day(n: int) -> datetime:
    return DAY + timedelta(days=n)


def bill(model: str, direction: str, billed: str, tokens: int | None, day: int = 0, **fields):
    start = _day(day)
    line = cost_line(
        "", start.isoformat()[:16], (start + timedelta(days=1)).isoformat()[:16], billed, billed
    )
    line.hosted_provider = fields.get("provider", "bedrock")
    line.hosted_model, line.token_direction, line.token_count = model, direction, tokens
    line.save()
    return line


def logged(model: str, tokens_in: int, tokens_out: int, day: int = 0, resource_id: str = ""):
    run = IngestionRun.objects.create(format="litellm", location="spend.json")
    UsageRollup.objects.create(
        run=run, hour=_day(day) + timedelta(hours=9), team="search", model=model,
        endpoint="/chat", resource_id=resource_id, requests=10, input_tokens=tokens_in,
        output_tokens=tokens_out,
    )  # fmt: skip


@pytest.fixture
def priced():
    HostedModelPrice.objects.update_or_create(
        model="claude-3-5-sonnet",
        defaults=dict(
            provider="Anthropic", input_per_1m=Decimal(3), output_per_1m=Decimal(15),
            currency="USD", source="test", as_of="2026-01-01",
        ),
    )  # fmt: skip


def _window(days: int = 3):
    return reconcile(DAY, _day(days))


def _one(found, day: int = 0):
    rows = [r for r in found.days if r.day == _day(day).date()]
    assert len(rows) == 1, rows
    return rows[0]


def test_logged_tokens_at_list_price_match_the_bill(priced):
    bill(SONNET, "input", "3", 1_000_000)
    bill(SONNET, "output", "1.5", 100_000)
    logged("bedrock/us.anthropic.claude-3-5-sonnet-20240620-v1:0", 1_000_000, 100_000)
    row = _one(_window())
    assert row.list_spend == Decimal("4.5")  # 1M x 3 / 1M + 0.1M x 15 / 1M
    assert (row.billed, row.gap, row.cause) == (Decimal("4.5"), Decimal(0), "")
    assert row.billed_tokens == 1_100_000
    assert row.providers == {"bedrock"}


def test_cache_lines_on_the_bill_are_named_as_the_cause(priced):
    bill(SONNET, "input", "3", 1_000_000)
    bill(SONNET, "cache_write", "0.375", 100_000)
    logged("claude-3-5-sonnet", 1_000_000, 0)
    row = _one(_window())
    assert row.gap == Decimal("0.375")
    assert row.gap_pct == Decimal("12.5")
    assert row.cause == "cache tokens"


def test_a_bill_with_no_logged_tokens_is_usage_not_in_request_logs():
    bill("gpt-4o-2024-08-06", "input", "25", 10_000_000, provider="openai")
    row = _one(_window())
    assert row.key == "gpt-4-o"
    assert row.list_spend == Decimal(0)  # priced (the seeded gpt-4o row), nothing logged
    assert row.cause == "usage not in request logs"


def test_requests_our_gpus_served_are_not_the_providers(priced):
    from tests.dashboard.builders import gpu_resource

    gpu_resource("i-gpu")
    bill(SONNET, "input", "3", 1_000_000)
    logged("claude-3-5-sonnet", 5_000_000, 0, resource_id="i-gpu")
    assert _one(_window()).cause == "usage not in request logs"


def test_a_steady_ratio_below_list_reads_as_a_discount(priced):
    for day in (0, 1, 2):
        bill(SONNET, "input", "1.5", 1_000_000, day=day)
        logged("claude-3-5-sonnet", 1_000_000, 0, day=day)
    found = _window()
    assert {r.cause for r in found.days} == {"batch or negotiated discount (billed ~50% of list)"}
    (model,) = found.models
    assert (model.billed, model.list_spend, model.gap_pct) == (
        Decimal("4.5"),
        Decimal(9),
        Decimal(-50),
    )


def test_a_moved_price_per_token_reads_as_a_price_change(priced):
    bill(SONNET, "input", "3", 1_000_000, day=0)
    bill(SONNET, "input", "3.6", 1_000_000, day=1)
    logged("claude-3-5-sonnet", 1_000_000, 0, day=0)
    logged("claude-3-5-sonnet", 1_000_000, 0, day=1)
    found = _window()
    assert (_one(found, 0).cause, _one(found, 1).cause) == ("", "price change")


def test_a_model_with_no_price_row_says_so():
    bill("mistral.mistral-large-2407-v1:0", "input", "2", 1_000_000)
    logged("bedrock/mistral.mistral-large-2407-v1:0", 1_000_000, 0)
    row = _one(_window())
    assert (row.list_spend, row.cause) == (None, "no list price")


def test_finance_gets_the_page_and_the_csv(client, priced):
    bill(SONNET, "input", "3.3", 1_000_000)
    logged("claude-3-5-sonnet", 1_000_000, 0)
    allocation("2026-10-01T10:00", resource_id="hosted:bedrock:claude-sonnet-3-5", amortized="1")
    user = finance_user()
    html = page(client, user, "/hosted/?start=2026-10-01&end=2026-10-02")
    assert 'id="hosted-days"' in html and SONNET in html and "$3.30" in html
    assert 'data-figure="hosted-figure"' in html
    response = client.get("/hosted/reconciliation.csv?start=2026-10-01&end=2026-10-02")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["day", "model key", "model"]
    assert rows[1][:3] == ["2026-10-01", "claude-sonnet-3-5", SONNET]
    # list, billed, gap: exact, unrounded
    assert [Decimal(v) for v in rows[1][9:12]] == [3, Decimal("3.3"), Decimal("0.3")]


def test_a_lead_gets_a_404_for_page_and_csv(client, priced):
    bill(SONNET, "input", "3.3", 1_000_000)
    lead = team_lead("alpha")
    body = page(client, lead, "/hosted/", status=404)
    assert SONNET not in body
    assert client.get("/hosted/reconciliation.csv").status_code == 404
    assert "/hosted/" not in page(client, lead, "/teams/")  # not in a lead's navigation
