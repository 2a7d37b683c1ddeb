"""Hostile values in every format: each is a located error, and nothing of its file is stored.

One table: per format a small valid file (two records) and, per kind of fault, the second
record with one cell made hostile. Each case first ingests a good file, then the hostile one,
and asserts the run FAILED at the hostile record's file, line and column with a message naming
the value or the expected form, and that every stored count and sum is as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db.models import Count, Sum

from costapp.ingest.files import InputFile
from costapp.ingest.models import (
    CostLine,
    GpuSample,
    IngestionRun,
    LoadedBill,
    RunStatus,
    SeenRequest,
    UsageRollup,
)
from costapp.ingest.runs import ingest

from .billing_cases import csv_text
from .test_cur import BASE as CUR_BASE
from .test_dcgm import _scrape, _series
from .test_focus import BASE as FOCUS_BASE
from .test_gcp import BASE as GCP_BASE
from .test_langfuse import _generation, _trace
from .test_litellm import _spend_log
from .test_nvidia_smi import HEADER as SMI_HEADER
from .test_otel import GENAI, _export, _span
from .test_prometheus import _vector

pytestmark = pytest.mark.django_db

LONG = "x" * 5000  # longer than any CharField, shorter than TEXT_MAX
HUGE = 2**63
TS_9999 = "9999-12-31T23:00:00Z"
TS_0001 = "0001-01-01T00:00:00Z"

# --- one builder per format: (records' overrides) -> file text; the hostile record is the
# second, and `line` says where it lands ---


@dataclass(frozen=True)
class Format:
    name: str
    build: Callable[[list[dict]], str]
    line: int  # the second record's line
    suffix: str = ".txt"


def _csv(base: dict) -> Callable[[list[dict]], str]:
    return lambda rows: csv_text(base, tuple(rows))


def _cur2(rows: list[dict]) -> str:
    base = {
        "bill_payer_account_id": "111122223333",
        "bill_billing_period_start_date": "2026-11-01T00:00:00Z",
        "bill_billing_period_end_date": "2026-12-01T00:00:00Z",
        "line_item_line_item_type": "Usage",
        "line_item_usage_start_date": "2026-11-03T10:00:00Z",
        "line_item_usage_end_date": "2026-11-03T11:00:00Z",
        "line_item_product_code": "AmazonEC2",
        "line_item_resource_id": "i-0g5",
        "line_item_usage_amount": "1",
        "line_item_currency_code": "USD",
        "line_item_unblended_cost": "5.672",
        "pricing_term": "OnDemand",
        "pricing_unit": "Hrs",
        "product": '{"product_name": "Amazon Elastic Compute Cloud", "region": "us-east-1"}',
        "resource_tags": '{"user_team": "search"}',
    }
    return csv_text(base, tuple(rows))


def _jsonl(rows: list[dict]) -> str:
    base = {
        "timestamp": "2026-11-01T10:00:03Z",
        "team": "search",
        "model": "llama-3.1-70b",
        "endpoint": "/v1/chat",
        "resource_id": "i-0abc",
        "input_tokens": 812,
        "output_tokens": 164,
        "latency_ms": 930,
        "gpu_seconds": 0.42,
    }
    return "".join(json.dumps({**base, **row}) + "\n" for row in rows)


def _litellm(rows: list[dict]) -> str:
    return "".join(json.dumps(_spend_log(row.pop("request_id"), **row)) + "\n" for row in rows)


def _langfuse(rows: list[dict]) -> str:
    out = []
    for row in rows:
        trace = row.pop("trace", {})
        out.append(json.dumps(_trace(_generation(row.pop("id"), **row), **trace)) + "\n")
    return "".join(out)


def _otel(rows: list[dict]) -> str:
    out = []
    for row in rows:
        resource = row.pop("resource", {"team": "search"})
        span = _span(row.pop("span_id"), **{**GENAI, **row.pop("attrs", {})})
        span.update(row)
        out.append(json.dumps(_export(span, **resource)) + "\n")
    return "".join(out)


def _dcgm(rows: list[dict]) -> str:
    # One scrape per record would be one document; DCGM text is one reading a line, so the
    # records are lines of one scrape (line 1 is its SCRAPE_TIME).
    lines = []
    for n, row in enumerate(rows):
        row = dict(row)
        value = row.pop("value", "37")
        metric = row.pop("metric", "DCGM_FI_DEV_GPU_UTIL")
        lines.append(_series(metric, value, gpu=n, **row))
    return _scrape(*lines, scrape_time=rows[-1].get("scrape_time", "2026-11-01T10:00:00Z"))


def _prometheus(rows: list[dict]) -> str:
    out = []
    for n, row in enumerate(rows):
        row = dict(row)
        ts = row.pop("ts", 1793527200.0)
        value = row.pop("value", "37")
        out.append(json.dumps(_vector("DCGM_FI_DEV_GPU_UTIL", {n: value}, ts, **row)) + "\n")
    return "".join(out)


def _smi(rows: list[dict]) -> str:
    base = {
        "timestamp": "2026/11/01 10:00:00.000",
        "name": "NVIDIA H100 80GB HBM3",
        "uuid": "GPU-abc",
        "index": "0",
        "util": "38 %",
        "mem": "575 MiB",
        "power": "631.95 W",
    }
    lines = [SMI_HEADER]
    for n, row in enumerate(rows):
        cells = {**base, "uuid": f"GPU-{n}", "index": str(n), **row}
        lines.append(", ".join(cells.values()))
    return "\n".join(lines) + "\n"


def _report_page(bucket: dict, result: dict, number: str) -> str:
    # The amount is written as the number text given, untouched by a float.
    page = {"object": "page", "data": [{**bucket, "results": [result]}], "has_more": False}
    return json.dumps(page).replace('"@AMOUNT@"', number) + "\n"


def _openai(rows: list[dict]) -> str:
    out = []
    for row in rows:
        row = dict(row)
        value = row.pop("value", "1.5")
        bucket = {"start_time": row.pop("start_time", 1793750400)}
        bucket["end_time"] = row.pop("end_time", bucket["start_time"] + 86400)
        result = {
            "object": "organization.costs.result",
            "amount": {"value": "@AMOUNT@", "currency": "usd"},
            "line_item": "gpt-4o-2024-08-06, input",
            "project_id": "proj_search",
            **row,
        }
        out.append(_report_page(bucket, result, value))
    return "".join(out)


def _anthropic(rows: list[dict]) -> str:
    out = []
    for row in rows:
        row = dict(row)
        bucket = {
            "starting_at": row.pop("starting_at", "2026-11-03T00:00:00Z"),
            "ending_at": row.pop("ending_at", "2026-11-04T00:00:00Z"),
        }
        result = {
            "currency": "USD",
            "amount": "150",
            "workspace_id": "wrkspc_ads",
            "description": "Claude Sonnet 4 Usage - Output Tokens",
            "cost_type": "tokens",
            "model": "claude-sonnet-4-20250514",
            "token_type": "output_tokens",
            **row,
        }
        out.append(_report_page(bucket, result, "0"))
    return "".join(out)


FORMATS = {
    "focus": Format("focus", _csv(FOCUS_BASE), 3, ".csv"),
    "cur": Format("cur", _csv(CUR_BASE), 3, ".csv"),
    "cur2": Format("cur2", _cur2, 3, ".csv"),
    "gcp": Format("gcp", _csv(GCP_BASE), 3, ".csv"),
    "jsonl": Format("jsonl", _jsonl, 2, ".jsonl"),
    "litellm": Format("litellm", _litellm, 2, ".json"),
    "langfuse": Format("langfuse", _langfuse, 2, ".json"),
    "otel": Format("otel", _otel, 2, ".json"),
    "dcgm": Format("dcgm", _dcgm, 3, ".prom"),
    "prometheus": Format("prometheus", _prometheus, 2, ".json"),
    "nvidia-smi": Format("nvidia-smi", _smi, 3, ".csv"),
    "openai": Format("openai", _openai, 2, ".json"),
    "anthropic": Format("anthropic", _anthropic, 2, ".json"),
}

# The record that tells two files of a request format apart (ids count once).
IDS = {"jsonl": "request_id", "litellm": "request_id", "langfuse": "id"}


def _records(fmt: str, batch: str, bad: dict | None = None) -> list[dict]:
    """Two records of `fmt`, unique to `batch`; the second carries `bad`'s cells."""
    if fmt in IDS:
        rows = [{IDS[fmt]: f"{batch}-{n}"} for n in range(2)]
    elif fmt == "otel":
        rows = [{"span_id": f"{batch}{n}".ljust(16, "0")} for n in range(2)]
    elif fmt in ("focus", "cur", "cur2", "gcp", "openai", "anthropic"):
        # Different amounts, so a stored hostile file would change the sums.
        cost = {
            "focus": "BilledCost",
            "cur": "lineItem/UnblendedCost",
            "gcp": "cost",
            "openai": "value",
            "anthropic": "amount",
        }.get(fmt, "line_item_unblended_cost")
        rows = [{cost: f"{n + 1}.5" if batch == "good" else f"{n + 7}.25"} for n in range(2)]
    elif fmt in ("dcgm", "prometheus"):
        rows = [{"value": "37" if batch == "good" else "90"} for _ in range(2)]
    else:
        rows = [{"util": "38 %" if batch == "good" else "90 %"} for _ in range(2)]
    rows[1].update(bad or {})
    return rows


# --- the faults: (format, fault) -> (the second record's hostile cells, column, mentions) ---

F = "focus"
# A table reads best one case a line, so the formatter leaves it be.
# fmt: off
CASES: list[tuple[str, str, dict, str | None, tuple[str, ...]]] = [
    # FOCUS
    (F, "year 9999", {"ChargePeriodStart": TS_9999}, "ChargePeriodStart", ("9999", "window")),
    (F, "year 0001", {"ChargePeriodStart": TS_0001}, "ChargePeriodStart", ("0001", "window")),
    (F, "end before start", {"ChargePeriodEnd": "2026-11-03 09:00:00"}, "ChargePeriodEnd", (
        "expected an end after the start",
    )),
    (F, "charge period of 2 years", {"ChargePeriodStart": "2024-11-03 11:00:00"},
     "ChargePeriodEnd", ("longer than 32 days",)),
    (F, "cost 1e18", {"BilledCost": "1e18"}, "BilledCost", ("1E+18", "below 1,000,000")),
    (F, "Infinity", {"EffectiveCost": "Infinity"}, "EffectiveCost", ("Infinity", "finite")),
    (F, "NaN", {"ListCost": "NaN"}, "ListCost", ("NaN", "finite")),
    (F, "quantity 2^63", {"ConsumedQuantity": str(HUGE)}, "ConsumedQuantity", (str(HUGE),)),
    (F, "string longer than its column", {"ServiceName": LONG}, "ServiceName", (
        "5000 characters", "at most 200",
    )),
    (F, "NUL", {"ResourceType": "p5\x00"}, "ResourceType", ("NUL",)),
    (F, "NUL in a tag", {"Tags": '{"team": "se\\u0000arch"}'}, "Tags", ("NUL",)),
    # Legacy CUR
    ("cur", "year 9999", {"lineItem/UsageStartDate": TS_9999}, "lineItem/UsageStartDate",
     ("9999",)),
    ("cur", "year 0001", {"lineItem/UsageStartDate": TS_0001}, "lineItem/UsageStartDate",
     ("0001",)),
    ("cur", "end before start", {"lineItem/UsageEndDate": "2026-11-03T09:00:00Z"},
     "lineItem/UsageEndDate", ("expected an end after the start",)),
    ("cur", "charge period of 2 years", {"lineItem/UsageStartDate": "2024-11-03T10:00:00Z"},
     "lineItem/UsageEndDate", ("32 days",)),
    ("cur", "cost 1e18", {"lineItem/UnblendedCost": "1000000000000000000"}, "billed_cost",
     ("1000000000000000000", "too large")),
    ("cur", "Infinity", {"lineItem/UnblendedCost": "Infinity"}, "lineItem/UnblendedCost",
     ("Infinity",)),
    ("cur", "NaN", {"lineItem/UnblendedCost": "nan"}, "lineItem/UnblendedCost", ("nan",)),
    ("cur", "quantity 2^63", {"lineItem/UsageAmount": str(HUGE)}, "lineItem/UsageAmount",
     (str(HUGE),)),
    ("cur", "string longer than its column", {"bill/PayerAccountId": LONG},
     "bill/PayerAccountId", ("at most 200",)),
    ("cur", "NUL", {"lineItem/ResourceId": "i-0\x00"}, "lineItem/ResourceId", ("NUL",)),
    # CUR 2.0 (CSV)
    ("cur2", "year 9999", {"line_item_usage_start_date": TS_9999}, "line_item_usage_start_date",
     ("9999",)),
    ("cur2", "year 0001", {"line_item_usage_start_date": TS_0001}, "line_item_usage_start_date",
     ("0001",)),
    ("cur2", "end before start", {"line_item_usage_end_date": "2026-11-03T09:00:00Z"},
     "line_item_usage_end_date", ("expected an end after the start",)),
    ("cur2", "charge period of 2 years",
     {"line_item_usage_start_date": "2024-11-03T10:00:00Z"}, "line_item_usage_end_date",
     ("32 days",)),
    ("cur2", "cost 1e18", {"line_item_unblended_cost": "1e18"}, "billed_cost", ("too large",)),
    ("cur2", "Infinity", {"line_item_unblended_cost": "-Infinity"}, "line_item_unblended_cost",
     ("Infinity",)),
    ("cur2", "NaN", {"line_item_unblended_cost": "NaN"}, "line_item_unblended_cost", ("NaN",)),
    ("cur2", "string longer than its column", {"bill_payer_account_id": LONG},
     "bill_payer_account_id", ("at most 200",)),
    ("cur2", "NUL", {"line_item_resource_id": "i\x00"}, "line_item_resource_id", ("NUL",)),
    # GCP billing export
    ("gcp", "year 9999", {"usage_start_time": "9999-12-31 23:00:00+00:00"}, "usage_start_time",
     ("9999",)),
    ("gcp", "year 0001", {"usage_start_time": "0001-01-01 00:00:00+00:00"}, "usage_start_time",
     ("0001",)),
    ("gcp", "end before start", {"usage_end_time": "2026-11-03 09:00:00+00:00"},
     "usage_end_time", ("expected an end after the start",)),
    ("gcp", "charge period of 2 years", {"usage_start_time": "2024-11-03 10:00:00+00:00"},
     "usage_end_time", ("32 days",)),
    ("gcp", "cost 1e18", {"cost": "1e18"}, "cost", ("too large",)),
    ("gcp", "Infinity", {"cost": "inf"}, "cost", ("inf",)),
    ("gcp", "NaN", {"cost": "NaN"}, "cost", ("NaN",)),
    ("gcp", "string longer than its column", {"project.id": LONG}, "project.id",
     ("at most 200",)),
    ("gcp", "NUL", {"sku.id": "\x00"}, "sku.id", ("NUL",)),
    # JSON Lines (our schema)
    ("jsonl", "year 9999", {"timestamp": TS_9999}, "timestamp", ("9999", "window")),
    ("jsonl", "year 0001", {"timestamp": TS_0001}, "timestamp", ("0001", "window")),
    ("jsonl", "tokens 2^63", {"input_tokens": HUGE}, "input_tokens", (str(HUGE),)),
    ("jsonl", "tokens 10^12", {"output_tokens": 10**12}, "output_tokens", ("below",)),
    ("jsonl", "Infinity tokens", {"input_tokens": float("inf")}, "input_tokens",
     ("inf", "whole number")),
    ("jsonl", "NaN tokens", {"latency_ms": float("nan")}, "latency_ms", ("nan",)),
    ("jsonl", "gpu_seconds 1e18", {"gpu_seconds": 1e18}, "gpu_seconds", ("too large",)),
    ("jsonl", "gpu_seconds Infinity", {"gpu_seconds": float("inf")}, "gpu_seconds",
     ("inf", "finite")),
    ("jsonl", "string longer than its column", {"team": LONG}, "team", ("at most 200",)),
    ("jsonl", "NUL", {"model": "llama\x00"}, "model", ("NUL",)),
    # LiteLLM spend logs
    ("litellm", "year 9999", {"startTime": "9999-12-31 23:00:00"}, "startTime", ("9999",)),
    ("litellm", "year 0001", {"startTime": "0001-01-01 00:00:00", "endTime": None},
     "startTime", ("0001",)),
    ("litellm", "tokens 2^63", {"prompt_tokens": HUGE}, "prompt_tokens", (str(HUGE),)),
    ("litellm", "Infinity tokens", {"completion_tokens": float("inf")}, "completion_tokens",
     ("inf",)),
    ("litellm", "NaN tokens", {"prompt_tokens": float("nan")}, "prompt_tokens", ("nan",)),
    ("litellm", "string longer than its column", {"model_group": LONG}, "model",
     ("at most 200",)),
    ("litellm", "NUL", {"request_id": "r\x00"}, "request_id", ("NUL",)),
    # Langfuse
    ("langfuse", "year 9999", {"startTime": TS_9999, "endTime": None},
     "observations[0].startTime", ("9999",)),
    ("langfuse", "year 0001", {"startTime": TS_0001}, "observations[0].startTime", ("0001",)),
    ("langfuse", "tokens 2^63", {"usageDetails": {"input": HUGE}},
     "observations[0].usageDetails.input", (str(HUGE),)),
    ("langfuse", "Infinity tokens", {"usageDetails": {"output": float("inf")}},
     "observations[0].usageDetails.output", ("inf",)),
    ("langfuse", "Infinity latency", {"latency": float("inf"), "endTime": None},
     "observations[0].latency", ("inf",)),
    ("langfuse", "string longer than its column", {"model": LONG}, "model", ("at most 200",)),
    ("langfuse", "NUL", {"model": "gpt\x00"}, "model", ("NUL",)),
    # OpenTelemetry GenAI spans
    ("otel", "year 9999", {"startTimeUnixNano": str(253402297200 * 10**9),
     "endTimeUnixNano": str(253402297201 * 10**9)}, "startTimeUnixNano", ("9999",)),
    ("otel", "year 1970", {"startTimeUnixNano": "1000", "endTimeUnixNano": "2000"},
     "startTimeUnixNano", ("1970", "window")),
    ("otel", "tokens 2^63", {"attrs": {"gen_ai__usage__input_tokens": HUGE}}, "input_tokens",
     (str(HUGE),)),
    ("otel", "string longer than its column", {"resource": {"team": LONG}}, "team",
     ("at most 200",)),
    ("otel", "NUL", {"resource": {"team": "a\x00"}}, "team", ("NUL",)),
    # DCGM exporter text
    ("dcgm", "year 9999", {"scrape_time": TS_9999}, "SCRAPE_TIME", ("9999",)),
    ("dcgm", "year 0001", {"scrape_time": TS_0001}, "SCRAPE_TIME", ("0001",)),
    ("dcgm", "reading 1e18", {"metric": "DCGM_FI_DEV_POWER_USAGE", "value": "1e18"},
     "power_w", ("too large",)),
    ("dcgm", "Infinity", {"metric": "DCGM_FI_DEV_POWER_USAGE", "value": "+Inf"},
     None, ("DCGM_FI_DEV_POWER_USAGE is Infinity", "a number >= 0")),
    ("dcgm", "string longer than its column", {"modelName": LONG}, "modelName",
     ("at most 100",)),
    ("dcgm", "NUL", {"Hostname": "node\x00"}, "Hostname", ("NUL",)),
    # Prometheus HTTP API
    ("prometheus", "year 9999", {"ts": 253402297200.0}, "ts", ("9999",)),
    ("prometheus", "year 1970", {"ts": 1.5}, "ts", ("1970", "window")),
    ("prometheus", "Infinity", {"value": "+Inf"}, "data.result[0].value", ("Infinity",)),
    ("prometheus", "reading 1e18", {"value": "1e18"}, "data.result[0].value",
     ("1E+18", "above 100%")),
    ("prometheus", "string longer than its column", {"UUID": LONG}, "UUID",
     ("at most 100",)),
    ("prometheus", "NUL", {"Hostname": "a\x00"}, "Hostname", ("NUL",)),
    # nvidia-smi CSV
    ("nvidia-smi", "year 9999", {"timestamp": "9999/12/31 23:00:00.000"}, "timestamp",
     ("9999",)),
    ("nvidia-smi", "year 0001", {"timestamp": "0001/01/01 00:00:00.000"}, "timestamp",
     ("0001",)),
    ("nvidia-smi", "reading 1e18", {"power": f"{10**18} W"}, "power_w", ("too large",)),
    ("nvidia-smi", "Infinity", {"power": "inf W"}, "power.draw [W]", ("inf",)),
    ("nvidia-smi", "NaN", {"mem": "NaN MiB"}, "memory.used [MiB]", ("NaN",)),
    ("nvidia-smi", "string longer than its column", {"name": LONG}, "name", ("at most 100",)),
    ("nvidia-smi", "NUL", {"uuid": "GPU-\x00"}, "uuid", ("NUL",)),
    # OpenAI Costs API (one page a line)
    ("openai", "year 9999", {"start_time": 253402297200, "end_time": 253402300000},
     "start_time", ("9999",)),
    ("openai", "year 1970", {"start_time": 5}, "start_time", ("1970",)),
    ("openai", "end before start", {"end_time": 1793750000}, "data[0].end_time",
     ("before it starts",)),
    ("openai", "cost 1e18", {"value": "1e18"}, "amount.value", ("1E+18",)),
    ("openai", "Infinity", {"value": "Infinity"}, "data[0].results[0].amount.value", ("inf",)),
    ("openai", "NaN", {"value": "NaN"}, "data[0].results[0].amount.value", ("nan",)),
    ("openai", "not a currency", {"amount": {"value": 1, "currency": "dollars"}},
     "data[0].results[0].amount.currency", ("dollars",)),
    ("openai", "string longer than its column", {"project_id": LONG}, "project_id",
     ("at most 200",)),
    ("openai", "NUL", {"line_item": "gpt-4o\x00, input"}, "line_item", ("NUL",)),
    # Anthropic cost report (one page a line)
    ("anthropic", "year 9999", {"starting_at": TS_9999, "ending_at": "9999-12-31T23:30:00Z"},
     "starting_at", ("9999",)),
    ("anthropic", "no offset", {"starting_at": "2026-11-03T00:00:00"}, "data[0].starting_at",
     ("RFC 3339",)),
    ("anthropic", "end before start", {"ending_at": "2026-11-02T00:00:00Z"}, "data[0].ending_at",
     ("before it starts",)),
    ("anthropic", "cost 1e20 cents", {"amount": "1e20"}, "amount", ("too large",)),
    ("anthropic", "Infinity", {"amount": "Infinity"}, "data[0].results[0].amount",
     ("Infinity",)),
    ("anthropic", "NaN", {"amount": "NaN"}, "data[0].results[0].amount", ("NaN",)),
    ("anthropic", "string longer than its column", {"workspace_id": LONG}, "workspace_id",
     ("at most 200",)),
    ("anthropic", "NUL", {"description": "Claude\x00"}, "description", ("NUL",)),
]
# fmt: on


# Faults whose cell is not on the record's own line: a DCGM scrape's time heads the file.
LINES = {("dcgm", "year 9999"): 1, ("dcgm", "year 0001"): 1}


def snapshot() -> dict:
    """Every stored count and sum an ingest could change."""
    return {
        "cost": CostLine.objects.aggregate(n=Count("id"), billed=Sum("billed_cost")),
        "bills": LoadedBill.objects.aggregate(n=Count("id"), billed=Sum("billed_cost")),
        "samples": GpuSample.objects.aggregate(n=Count("ts"), u=Sum("utilization")),
        "rollups": UsageRollup.objects.aggregate(
            n=Count("id"), requests=Sum("requests"), tokens=Sum("input_tokens")
        ),
        "seen": SeenRequest.objects.count(),
    }


def _ingest(write_file, fmt: Format, name: str, records: list[dict]) -> IngestionRun:
    path = write_file(name + fmt.suffix, fmt.build(records))
    return ingest([InputFile.from_path(path)], fmt.name)


@pytest.mark.parametrize(
    ("fmt", "fault", "cells", "column", "mentions"),
    CASES,
    ids=[f"{case[0]}: {case[1]}" for case in CASES],
)
def test_a_hostile_value_fails_its_run_located_and_stores_nothing(
    write_file, fmt, fault, cells, column, mentions
):
    form = FORMATS[fmt]
    good = _ingest(write_file, form, "good", _records(fmt, "good"))
    assert good.status == RunStatus.SUCCEEDED, good.error
    before = snapshot()
    assert any(part["n"] if isinstance(part, dict) else part for part in before.values()), (
        "the good file stored nothing"
    )

    run = _ingest(write_file, form, "hostile", _records(fmt, "bad", dict(cells)))

    line = LINES.get((fmt, fault), form.line)
    assert run.status == RunStatus.FAILED, f"{fault}: {run.status} {run.error}"
    assert run.error_file.endswith("hostile" + form.suffix), run.error
    assert run.error_line == line, run.error
    assert f"line {line}" in run.error
    if column is None:
        # DCGM text locates a value error by its line (tests/ingest/test_dcgm.py): the metric
        # on that line, named in the message, is the column.
        assert run.error_column == "", run.error
    else:
        assert run.error_column == column, run.error
        assert f"column {column}" in run.error
    for text in mentions:
        assert text in run.error, run.error
    assert "Traceback" not in run.error and "Error:" not in run.error, run.error
    assert snapshot() == before


def test_the_good_files_of_every_format_are_accepted(write_file):
    """The table's base files are valid, so each fault case fails for its fault alone."""
    for form in FORMATS.values():
        run = _ingest(write_file, form, f"ok-{form.name}", _records(form.name, "ok"))
        assert run.status == RunStatus.SUCCEEDED, (form.name, run.error)


def test_a_commitment_purchase_may_carry_its_term_as_charge_period(write_file):
    """The FOCUS 1.2 examples bill a 1-year commitment on one Purchase line; a usage line of
    that length is refused above."""
    rows = [
        {
            "ChargeCategory": "Purchase",
            "ChargePeriodStart": "2025-11-01 00:00:00",
            "ChargePeriodEnd": "2026-11-01 00:00:00",
        }
    ]
    run = _ingest(write_file, FORMATS["focus"], "purchase", rows)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert CostLine.objects.get().charge_period_end.year == 2026

    rows[0]["ChargePeriodEnd"] = "2031-11-03 00:00:00"
    run = _ingest(write_file, FORMATS["focus"], "too-long", rows)
    assert run.status == RunStatus.FAILED
    assert "commitment's term" in run.error and run.error_column == "ChargePeriodEnd"


def test_the_time_window_follows_its_settings(write_file, settings):
    settings.INPUT_TIME_MIN = "2026-11-02"
    run = _ingest(write_file, FORMATS["jsonl"], "early", _records("jsonl", "early"))
    assert run.status == RunStatus.FAILED
    assert (run.error_line, run.error_column) == (1, "timestamp")
    assert "2026-11-02" in run.error
    assert not UsageRollup.objects.exists()


def test_a_value_that_slips_past_the_checks_is_a_located_failure_not_database_text(write_file):
    """Defence in depth: a DataError from the database fails the run with our message."""
    # A gpu_seconds sum over one hour that overflows NUMERIC(20,6), each value within limits.
    rows = [{"request_id": f"r{n}", "gpu_seconds": 999_999_999} for n in range(100_001)]
    run = _ingest(write_file, FORMATS["jsonl"], "sum", rows)
    assert run.status == RunStatus.FAILED
    assert "does not fit its database column" in run.error
    assert "numeric field overflow" not in run.error
    assert run.error_file.endswith("sum.jsonl")
    assert not UsageRollup.objects.exists() and not SeenRequest.objects.exists()


def test_money_that_fits_exactly_is_kept_exact(write_file):
    rows = _records("focus", "good")
    rows[1]["BilledCost"] = "999999999999999.9999999999"
    run = _ingest(write_file, FORMATS["focus"], "edge", rows)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert CostLine.objects.get(source_row=3).billed_cost == Decimal("999999999999999.9999999999")


@pytest.mark.parametrize("fmt", ["dcgm", "prometheus"])
def test_nan_in_prometheus_formats_is_no_reading_not_a_number(write_file, fmt):
    """Prometheus writes NaN for a stale or missing value: a GPU with nothing but NaN has no
    reading at that instant, and no NaN reaches a column."""
    run = _ingest(write_file, FORMATS[fmt], "nan", _records(fmt, "nan", {"value": "NaN"}))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (run.rows_stored, GpuSample.objects.get().utilization) == (1, Decimal("0.9"))
