"""OpenAI and Anthropic usage/cost APIs as sources, against a real HTTP server on loopback."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db.models import Sum

from costapp.ingest.errors import IngestError, TransientError
from costapp.ingest.models import CostLine, RunStatus
from costapp.sources import provider_api
from costapp.sources.models import Source
from costapp.sources.service import run_source

from .servers import json_reply, serve

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keys(monkeypatch):
    monkeypatch.setenv("IL_TEST_OPENAI_KEY", "sk-admin-test")
    monkeypatch.setenv("IL_TEST_ANTHROPIC_KEY", "sk-ant-admin-test")


def _openai(request):
    """Costs in two pages (the second reached by next_page), usage in one; a bucket for the
    first day of the requested span. Amounts written as JSON numbers with many digits."""
    if request.headers.get("authorization") != "Bearer sk-admin-test":
        return json_reply({"error": {"message": "invalid key"}}, 401)
    start = int(request.query["start_time"][0])
    bucket = {"object": "bucket", "start_time": start, "end_time": start + 86400}
    if request.path == "/v1/organization/costs":
        assert request.query["group_by"] == ["line_item", "project_id"]
        if "page" not in request.query:
            result = {
                "object": "organization.costs.result",
                "project_id": "proj_a",
                "amount": {"value": 123456789.1234567891, "currency": "usd"},
                "line_item": "gpt-4o-2024-08-06, input",
            }
            page = {
                "object": "page",
                "data": [{**bucket, "results": [result]}],
                "has_more": True,
                "next_page": "page_2",
            }
        else:
            assert request.query["page"] == ["page_2"]
            result = {
                "object": "organization.costs.result",
                "project_id": "proj_a",
                "amount": {"value": 2.5, "currency": "usd"},
                "line_item": "gpt-4o-2024-08-06, output",
            }
            page = {
                "object": "page",
                "data": [{**bucket, "results": [result]}],
                "has_more": False,
                "next_page": None,
            }
        # Written by hand: json.dumps would round the 19 digits through a float.
        text = json.dumps(page).replace("123456789.12345679", "123456789.1234567891")
        return 200, {"Content-Type": "application/json"}, text.encode()
    if request.path == "/v1/organization/usage/completions":
        result = {
            "object": "organization.usage.completions.result",
            "model": "gpt-4o-2024-08-06",
            "project_id": "proj_a",
            "input_tokens": 1500,
            "input_cached_tokens": 500,
            "output_tokens": 300,
            "num_model_requests": 3,
        }
        page = {
            "object": "page",
            "data": [{**bucket, "results": [result]}],
            "has_more": False,
            "next_page": None,
        }
        return json_reply(page)
    return json_reply({"error": "not found"}, 404)


def _source(make_source, fmt: str, url: str, key: str, **options) -> Source:
    return make_source(
        format=fmt,
        location_kind=Source.Location.API,
        location=url,
        credentials_ref={"api_key": key},
        options=options,
    )


def test_openai_pages_are_followed_and_stored_with_tokens_and_exact_money(make_source):
    with serve(_openai) as peer:
        source = _source(make_source, "openai", peer.url, "IL_TEST_OPENAI_KEY")
        runs = run_source(source)
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED], [r.error for r in runs]
    paths = [r.path for r in peer.requests]
    assert paths.count("/v1/organization/costs") == 2
    assert paths.count("/v1/organization/usage/completions") == 1
    lines = CostLine.objects.order_by("billed_cost")
    assert set(lines.values_list("hosted_model", flat=True)) == {"gpt-4o-2024-08-06"}
    # Cached input has no cost line here: a zero-cost line keeps its tokens.
    by_direction = {
        d: (tokens, cost)
        for d, tokens, cost in lines.values_list("token_direction", "token_count", "billed_cost")
    }
    assert by_direction == {
        "input": (1000, Decimal("123456789.1234567891")),
        "output": (300, Decimal("2.5")),
        "cache_read": (500, Decimal("0")),
    }
    assert lines.aggregate(s=Sum("billed_cost"))["s"] == Decimal("123456791.6234567891")
    assert set(lines.values_list("provider", "sub_account_id", "hosted_provider")) == {
        ("OpenAI", "proj_a", "openai")
    }
    source.refresh_from_db()
    assert source.state["month"] == datetime.now(UTC).date().replace(day=1).isoformat()


def test_anthropic_sends_its_key_header_and_reads_cents(make_source):
    def anthropic(request):
        if request.headers.get("x-api-key") != "sk-ant-admin-test":
            return json_reply({"error": "invalid key"}, 401)
        assert request.headers.get("anthropic-version") == "2023-06-01"
        start = request.query["starting_at"][0]
        bucket = {"starting_at": start, "ending_at": start.replace("T00", "T23")}
        if request.path == "/v1/organizations/cost_report":
            result = {
                "amount": "1234.5",
                "currency": "USD",
                "model": "claude-sonnet-4-20250514",
                "token_type": "output_tokens",
                "workspace_id": None,
                "cost_type": "tokens",
                "description": "Claude Sonnet 4 Usage - Output Tokens",
            }
        else:
            result = {
                "model": "claude-sonnet-4-20250514",
                "workspace_id": None,
                "uncached_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "cache_creation": None,
                "output_tokens": 77000,
            }
        page = {"data": [{**bucket, "results": [result]}], "has_more": False, "next_page": None}
        return json_reply(page)

    with serve(anthropic) as peer:
        source = _source(make_source, "anthropic", peer.url, "IL_TEST_ANTHROPIC_KEY")
        runs = run_source(source)
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED], [r.error for r in runs]
    (line,) = CostLine.objects.all()
    assert (line.billed_cost, line.hosted_model, line.token_direction, line.token_count) == (
        Decimal("12.345"),
        "claude-sonnet-4-20250514",
        "output",
        77000,
    )


def test_one_delivery_per_month_since_the_option_and_the_state_moves(make_source):
    with serve(_openai) as peer:
        source = _source(make_source, "openai", peer.url, "IL_TEST_OPENAI_KEY", since="2026-10-15")
        now = datetime(2026, 11, 20, 12, tzinfo=UTC)
        found = list(provider_api.deliveries(source, now=now))
    assert [d.state["month"] for d in found] == ["2026-10-01", "2026-11-01"]
    starts = sorted({int(r.query["start_time"][0]) for r in peer.requests})
    ends = sorted({int(r.query["end_time"][0]) for r in peer.requests})
    assert starts == [
        int(datetime(2026, 10, 1, tzinfo=UTC).timestamp()),
        int(datetime(2026, 11, 1, tzinfo=UTC).timestamp()),
    ]
    assert ends == [int(datetime(2026, 11, 1, tzinfo=UTC).timestamp()), int(now.timestamp())]


def test_a_wrong_key_is_a_permanent_fault_and_a_5xx_a_transient_one(make_source):
    with serve(_openai) as peer:
        source = _source(make_source, "openai", peer.url, "IL_TEST_ANTHROPIC_KEY")
        (run,) = run_source(source)
    assert run.status == RunStatus.FAILED and "HTTP 401" in run.error
    assert "sk-" not in run.error
    assert not CostLine.objects.exists()

    with serve(lambda request: (503, {}, b"busy")) as peer:
        source = _source(make_source, "openai", peer.url, "IL_TEST_OPENAI_KEY")
        with pytest.raises(TransientError):
            list(provider_api.deliveries(source))


def test_an_unset_key_variable_is_named(make_source, monkeypatch):
    monkeypatch.delenv("IL_TEST_OPENAI_KEY")
    source = _source(make_source, "openai", "http://127.0.0.1:9", "IL_TEST_OPENAI_KEY")
    with pytest.raises(IngestError, match="IL_TEST_OPENAI_KEY"):
        list(provider_api.deliveries(source))


def test_a_report_that_pages_for_ever_is_refused(make_source):
    def looping(request):
        return json_reply({"data": [], "has_more": True, "next_page": "same"})

    with serve(looping) as peer:
        source = _source(make_source, "openai", peer.url, "IL_TEST_OPENAI_KEY")
        with pytest.raises(IngestError, match="keeps paging"):
            list(provider_api.deliveries(source))
