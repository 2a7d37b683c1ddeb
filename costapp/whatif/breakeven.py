"""Break-even tokens per day: self-hosting a model vs a hosted API at its list price.

Self-hosted GPU capacity costs about the same whatever flows through it (its measured month,
with its share of idle), while an API charges per token. The break-even is the daily tokens at
which the API's bill equals the self-hosted cost: below it the API is cheaper, above it
self-hosting. The API's price is blended at the model's own measured input/output mix.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .baseline import MONTH_DAYS, Baseline
from .levers import MILLION, money
from .models import HostedModelPrice


@dataclass(frozen=True)
class BreakEven:
    hosted: str
    source: str
    self_hosted_per_day: Decimal
    tokens_per_day: Decimal
    hosted_per_1m: Decimal  # blended at the measured input/output mix
    hosted_per_day: Decimal  # the API's bill for today's tokens
    break_even_tokens_per_day: Decimal | None  # None: nothing to compare (no blended price)

    @property
    def cheaper(self) -> str:
        return "hosted" if self.hosted_per_day < self.self_hosted_per_day else "self-hosted"


def blended_per_1m(input_tokens: int, output_tokens: int, price_in: Decimal,
                   price_out: Decimal) -> Decimal:  # fmt: skip
    """The price per 1M tokens at this input/output mix (input only when there are no tokens)."""
    tokens = input_tokens + output_tokens
    if tokens <= 0:
        return price_in
    return (input_tokens * price_in + output_tokens * price_out) / tokens


def break_even(monthly_cost: Decimal, input_tokens: int, output_tokens: int,
               price_in: Decimal, price_out: Decimal, hosted: str = "",
               source: str = "") -> BreakEven:  # fmt: skip
    """`monthly_cost` self-hosted for a month of `input_tokens` + `output_tokens` vs an API."""
    per_day = monthly_cost / MONTH_DAYS
    tokens_per_day = Decimal(input_tokens + output_tokens) / MONTH_DAYS
    blended = blended_per_1m(input_tokens, output_tokens, price_in, price_out)
    point = None if blended <= 0 else (per_day * MILLION / blended).quantize(Decimal(1))
    return BreakEven(hosted, source, money(per_day), tokens_per_day.quantize(Decimal(1)),
                     blended, money(tokens_per_day * blended / MILLION), point)  # fmt: skip


def for_baseline(baseline: Baseline, hosted: list[HostedModelPrice]) -> list[BreakEven]:
    """The scope's measured month (its use with its share of idle) against each hosted model
    priced in the same currency."""
    return [
        break_even(baseline.loaded_cost, baseline.input_tokens, baseline.output_tokens,
                   row.input_per_1m, row.output_per_1m, row.model,
                   f"{row.provider} list price, {row.source} ({row.as_of}, verify before use)")
        for row in hosted
        if row.currency == baseline.currency
    ]  # fmt: skip
