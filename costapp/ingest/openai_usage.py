"""OpenAI organization usage and costs, as the Usage and Costs APIs return them.

Costs API (`GET /v1/organization/costs`, platform.openai.com/docs/api-reference/usage/costs):
buckets of `start_time` / `end_time` (unix seconds) with results
`{"object": "organization.costs.result", "amount": {"value": 0.06, "currency": "usd"},
"line_item": "gpt-4o-2024-08-06, input", "project_id": "proj_..."}`; `line_item` and
`project_id` are set when grouped by them (null otherwise). Usage API for completions
(`GET /v1/organization/usage/completions`): results
`{"object": "organization.usage.completions.result", "input_tokens", "output_tokens",
"input_cached_tokens", "input_audio_tokens", "output_audio_tokens", "num_model_requests",
"project_id", "user_id", "api_key_id", "model", "batch"}`. `input_tokens` includes the cached
ones, so uncached input is input_tokens - input_cached_tokens.

A line item "<model>, <kind>" names the model and the token kind ("input", "cached input",
"output"; "batch" prefixes count as the same direction); a line item without a model (tool
calls, storage) is an ordinary OpenAI cost line. Pairing and rows: costapp.ingest.provider_usage.
"""

from __future__ import annotations

from collections.abc import Iterator

from . import hosted
from .files import InputFile
from .provider_usage import Cost, Provider, Usage, count, currency, money, results, rows, text
from .rows import CostLineRow

KIND = "billing"
EXPECTED = "an OpenAI Costs or Usage API page"
COST_RESULT = "organization.costs.result"
USAGE_RESULT = "organization.usage.completions.result"

# Token kinds as the line item names them; the usage result's counts are filed under the same.
INPUT, CACHED, OUTPUT = "input", "cached input", "output"
PROVIDER = Provider(
    name="OpenAI",
    service="OpenAI API",
    hosted=hosted.OPENAI,
    directions={INPUT: hosted.INPUT, CACHED: hosted.CACHE_READ, OUTPUT: hosted.OUTPUT},
    group_tag="project_id",
)


def line_item(item: str) -> tuple[str, str]:
    """(model, token kind) of a cost line item; ("", "") when it names no model."""
    model, comma, kind = item.partition(",")
    model, kind = model.strip(), " ".join(kind.lower().split())
    if not comma:
        # "gpt-4o" alone (a model, kind unknown); "Web search tool calls" is no model id.
        return (model, "") if model and " " not in model else ("", "")
    kind = kind.removeprefix("batch ").strip()
    if kind in ("cached input", "cached input tokens", "input cached"):
        return model, CACHED
    if kind in ("input", "input tokens"):
        return model, INPUT
    if kind in ("output", "output tokens"):
        return model, OUTPUT
    return model, ""


def parse(file: InputFile) -> Iterator[CostLineRow]:
    costs: list[Cost] = []
    usage: list[Usage] = []
    for where, path, _, bucket, result in results(file, EXPECTED):
        kind = result.get("object")
        if kind == COST_RESULT or (kind is None and "amount" in result):
            amount = result.get("amount")
            if not isinstance(amount, dict):
                raise where.error("no amount", f"{path}.amount", "an object {value, currency}")
            item = text(where, f"{path}.line_item", result.get("line_item"))
            model, token_kind = line_item(item)
            costs.append(
                Cost(
                    bucket=bucket,
                    amount=money(where, f"{path}.amount.value", amount.get("value")),
                    currency=currency(where, f"{path}.amount.currency", amount.get("currency")),
                    description=item,
                    group=text(where, f"{path}.project_id", result.get("project_id")),
                    model=model,
                    token_type=token_kind,
                    account=text(where, f"{path}.organization_id", result.get("organization_id")),
                    line=where.line,
                )
            )
        elif kind == USAGE_RESULT or (kind is None and "input_tokens" in result):
            read = {
                name: count(where, f"{path}.{name}", result.get(name))
                for name in ("input_tokens", "input_cached_tokens", "output_tokens")
            }
            if read["input_cached_tokens"] > read["input_tokens"]:
                raise where.error(
                    "more cached input tokens than input tokens",
                    f"{path}.input_cached_tokens",
                    "at most input_tokens",
                )
            usage.append(
                Usage(
                    bucket=bucket,
                    group=text(where, f"{path}.project_id", result.get("project_id")),
                    model=text(where, f"{path}.model", result.get("model")),
                    tokens={
                        INPUT: read["input_tokens"] - read["input_cached_tokens"],
                        CACHED: read["input_cached_tokens"],
                        OUTPUT: read["output_tokens"],
                    },
                    line=where.line,
                )
            )
        else:
            raise where.error(
                f"a result of kind {kind!r}",
                f"{path}.object",
                f"{COST_RESULT} or {USAGE_RESULT}",
            )
    # Usage without a model (not grouped by model) cannot be paired with a model's costs.
    usage = [u for u in usage if u.model]
    yield from rows(PROVIDER, costs, usage, file.name)
