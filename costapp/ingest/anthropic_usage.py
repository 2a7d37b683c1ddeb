"""Anthropic's organization usage and cost reports, as the Admin API returns them.

Cost report (`GET /v1/organizations/cost_report`, platform.claude.com/docs/en/api/admin/
cost_report): buckets `starting_at` / `ending_at` (RFC 3339) with results `{"amount": "123.45",
"currency": "USD", "description", "cost_type": "tokens" | "web_search" | "code_execution" |
..., "model", "token_type": "uncached_input_tokens" | "output_tokens" | "cache_read_input_tokens"
| "cache_creation.ephemeral_5m_input_tokens" | "cache_creation.ephemeral_1h_input_tokens",
"service_tier", "context_window", "workspace_id"}`. The amount is in the currency's lowest
units (cents) as a decimal string: "123.45" USD is $1.2345, kept exactly.

Usage report for messages (`GET /v1/organizations/usage_report/messages`): results
`{"uncached_input_tokens", "cache_read_input_tokens", "cache_creation":
{"ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"}, "output_tokens",
"server_tool_use": {...}, "model", "workspace_id", "api_key_id", "service_tier",
"context_window"}`. Pairing and rows: costapp.ingest.provider_usage.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from . import hosted
from .files import InputFile
from .provider_usage import Cost, Provider, Usage, count, currency, money, results, rows, text
from .rows import CostLineRow

KIND = "billing"
EXPECTED = "an Anthropic cost report or usage report page"
CENTS = Decimal(100)

UNCACHED = "uncached_input_tokens"
OUTPUT = "output_tokens"
CACHE_READ = "cache_read_input_tokens"
CACHE_5M = "cache_creation.ephemeral_5m_input_tokens"
CACHE_1H = "cache_creation.ephemeral_1h_input_tokens"
PROVIDER = Provider(
    name="Anthropic",
    service="Claude API",
    hosted=hosted.ANTHROPIC,
    directions={
        UNCACHED: hosted.INPUT,
        OUTPUT: hosted.OUTPUT,
        CACHE_READ: hosted.CACHE_READ,
        CACHE_5M: hosted.CACHE_WRITE,
        CACHE_1H: hosted.CACHE_WRITE,
    },
    group_tag="workspace_id",
)


def parse(file: InputFile) -> Iterator[CostLineRow]:
    costs: list[Cost] = []
    usage: list[Usage] = []
    for where, path, _, bucket, result in results(file, EXPECTED):
        if "amount" in result:
            cents = money(where, f"{path}.amount", result.get("amount"))
            tags = {
                name: value
                for name in ("cost_type", "service_tier", "context_window", "inference_geo")
                if (value := text(where, f"{path}.{name}", result.get(name)))
            }
            costs.append(
                Cost(
                    bucket=bucket,
                    amount=cents / CENTS,
                    currency=currency(where, f"{path}.currency", result.get("currency", "USD")),
                    description=text(where, f"{path}.description", result.get("description")),
                    group=text(where, f"{path}.workspace_id", result.get("workspace_id")),
                    model=text(where, f"{path}.model", result.get("model")),
                    token_type=text(where, f"{path}.token_type", result.get("token_type")),
                    line=where.line,
                    tags=tags,
                )
            )
        elif any(name in result for name in (UNCACHED, OUTPUT, CACHE_READ, "cache_creation")):
            creation = result.get("cache_creation") or {}
            if not isinstance(creation, dict):
                raise where.error("not an object", f"{path}.cache_creation", "an object or null")
            tokens = {
                UNCACHED: count(where, f"{path}.{UNCACHED}", result.get(UNCACHED)),
                OUTPUT: count(where, f"{path}.{OUTPUT}", result.get(OUTPUT)),
                CACHE_READ: count(where, f"{path}.{CACHE_READ}", result.get(CACHE_READ)),
            }
            for name in (CACHE_5M, CACHE_1H):
                key = name.split(".", 1)[1]
                tokens[name] = count(where, f"{path}.{name}", creation.get(key))
            model = text(where, f"{path}.model", result.get("model"))
            if model:  # not grouped by model: nothing to pair with a model's costs
                group = text(where, f"{path}.workspace_id", result.get("workspace_id"))
                usage.append(Usage(bucket, group, model, tokens, line=where.line))
        else:
            raise where.error(
                "neither a cost nor a usage result",
                path,
                "a cost result (amount) or a usage result (uncached_input_tokens, ...)",
            )
    yield from rows(PROVIDER, costs, usage, file.name)
