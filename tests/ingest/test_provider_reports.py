"""OpenAI and Anthropic usage/cost reports (the `openai` and `anthropic` formats), from files
the tests own (tests/ingest/hosted_samples): costs as billed, tokens from usage, exact sums."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.db.models import Sum

from costapp.ingest.models import CostLine, RunStatus

from .billing_cases import ingest_path

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).parent / "hosted_samples"
COLUMNS = ("hosted_model", "token_direction", "token_count", "billed_cost", "sub_account_id")


def _ingest(name: str, fmt: str):
    run = ingest_path(SAMPLES / name, fmt)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return CostLine.objects.filter(run=run)


def test_openai_costs_get_their_tokens_from_usage_and_usage_alone_costs_nothing():
    lines = _ingest("openai_costs_and_usage.json", "openai")
    assert sorted(lines.values_list(*COLUMNS), key=str) == sorted(
        [
            # input_tokens 62321 include the 10000 cached: 52321 uncached.
            ("gpt-4o-2024-08-06", "input", 52321, Decimal("0.13080438"), "proj_search"),
            ("gpt-4o-2024-08-06", "output", 50000, Decimal("0.5"), "proj_search"),
            ("gpt-4o-2024-08-06", "cache_read", 10000, Decimal("0.0125"), "proj_search"),
            # A tool line names no model: an ordinary OpenAI cost line.
            ("", "", None, Decimal("0.35"), "proj_search"),
            # Usage with no cost line: its tokens kept, at no cost.
            ("gpt-4o-mini-2024-07-18", "input", 4000, Decimal("0"), "proj_search"),
            ("gpt-4o-mini-2024-07-18", "output", 1000, Decimal("0"), "proj_search"),
        ],
        key=str,
    )
    assert lines.aggregate(s=Sum("billed_cost"))["s"] == Decimal("0.99330438")
    assert set(lines.values_list("provider", "billing_currency", "charge_category")) == {
        ("OpenAI", "USD", "Usage")
    }
    assert set(lines.exclude(hosted_model="").values_list("hosted_provider", flat=True)) == {
        "openai"
    }


def test_anthropic_amounts_are_cents_and_cache_writes_pair_by_their_ttl():
    lines = _ingest("anthropic_cost_and_usage.json", "anthropic")
    assert sorted(lines.values_list(*COLUMNS), key=str) == sorted(
        [
            ("claude-sonnet-4-20250514", "input", 411500, Decimal("1.2345"), "wrkspc_ads"),
            ("claude-sonnet-4-20250514", "output", 400000, Decimal("6"), "wrkspc_ads"),
            ("claude-sonnet-4-20250514", "cache_write", 10000, Decimal("0.0375"), "wrkspc_ads"),
            ("", "", None, Decimal("10"), "wrkspc_ads"),  # web search: no model
            ("claude-sonnet-4-20250514", "cache_read", 250000, Decimal("0"), "wrkspc_ads"),
        ],
        key=str,
    )
    assert lines.aggregate(s=Sum("billed_cost"))["s"] == Decimal("17.272")
    web = lines.get(hosted_model="", billed_cost=Decimal("10"))
    assert web.tags == {"workspace_id": "wrkspc_ads", "cost_type": "web_search"}


def test_a_restated_month_replaces_the_earlier_delivery(tmp_path):
    first = _ingest("anthropic_cost_and_usage.json", "anthropic")
    assert first.count() == 5
    again = tmp_path / "restated.json"
    again.write_text(
        '{"data": [{"starting_at": "2026-11-03T00:00:00Z", "ending_at": "2026-11-04T00:00:00Z",'
        ' "results": [{"amount": "700", "currency": "USD", "model": "claude-sonnet-4-20250514",'
        ' "token_type": "output_tokens", "workspace_id": "wrkspc_ads"}]}],'
        ' "has_more": false, "next_page": null}\n'
    )
    run = ingest_path(again, "anthropic")
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert list(CostLine.objects.values_list("billed_cost", "token_count")) == [
        (Decimal("7"), None)
    ]


@pytest.mark.parametrize(
    ("fmt", "text", "column", "mentions"),
    [
        ("openai", '{"data": {}}', "data", "not a report page"),
        (
            "openai",
            '{"data": [{"start_time": 1793750400, "end_time": 1793836800, "results":'
            ' [{"object": "organization.costs.result"}]}]}',
            "data[0].results[0].amount",
            "no amount",
        ),
        (
            "openai",
            '{"data": [{"start_time": 1793750400, "end_time": 1793836800, "results":'
            ' [{"object": "organization.usage.completions.result", "model": "gpt-4o",'
            ' "input_tokens": 5, "input_cached_tokens": 9}]}]}',
            "data[0].results[0].input_cached_tokens",
            "more cached",
        ),
        (
            "openai",
            '{"data": [{"start_time": 1793750400, "end_time": 1793836800, "results":'
            ' [{"object": "organization.usage.completions.result", "model": "gpt-4o",'
            ' "output_tokens": -3}]}]}',
            "data[0].results[0].output_tokens",
            "not a count",
        ),
        (
            "openai",
            '{"data": [{"start_time": "yesterday", "end_time": 1793836800, "results": []}]}',
            "data[0].start_time",
            "not a time",
        ),
        (
            "anthropic",
            '{"data": [{"starting_at": "2026-11-03T00:00:00Z", "ending_at":'
            ' "2026-11-04T00:00:00Z", "results": [{"model": "x", "foo": 1}]}]}',
            "data[0].results[0]",
            "neither a cost nor a usage result",
        ),
        (
            "anthropic",
            '{"data": [{"starting_at": "2026-11-03T00:00:00Z", "ending_at":'
            ' "2026-11-04T00:00:00Z", "results": [{"amount": "12 dollars"}]}]}',
            "data[0].results[0].amount",
            "not an amount",
        ),
    ],
)
def test_a_malformed_report_fails_located_and_stores_nothing(tmp_path, fmt, text, column, mentions):
    _ingest("openai_costs_and_usage.json", "openai")
    before = list(CostLine.objects.values_list("pk", "billed_cost"))
    path = tmp_path / "bad.json"
    path.write_text(text + "\n")
    run = ingest_path(path, fmt)
    assert run.status == RunStatus.FAILED, run.error
    assert (run.error_file, run.error_line, run.error_column) == (str(path), 1, column)
    assert mentions in run.error
    assert list(CostLine.objects.values_list("pk", "billed_cost")) == before
