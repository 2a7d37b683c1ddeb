"""The what-if request, parsed once from query parameters (the page's and the API's alike)
into a frozen `WhatIfRequest`, or a QueryError naming the first bad parameter.

A lever whose main parameter is absent is off; its secondary assumptions (a discount, a
speedup) default to the published figures in costapp.whatif.levers when left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from costapp.attribution.query import DEFAULT_DAYS, QueryError, parse_currency, parse_day
from costapp.core.limits import STRING_MAX, check_period, check_text

from .baseline import WhatIfScope
from .levers import QUANTIZATION

DAY = timedelta(days=1)
PERIOD_MAX = timedelta(days=366)

# name -> (lowest, highest, what it is): the fractions and factors a lever takes.
FRACTIONS = {
    "routing_share": "share of the scope's requests sent elsewhere",
    "caching_hit_rate": "share of today's GPU requests a cache would serve",
    "scale_to_zero_share": "share of the idle GPU-hours stopped (nights, weekends)",
    "utilization_target": "GPU utilization the capacity is consolidated to",
    "commitment_share": "share of the on-demand GPU cost moved to a commitment",
    "commitment_discount": "commitment discount on the on-demand price",
    "spot_share": "share of the on-demand GPU cost moved to spot",
    "spot_discount": "spot discount on the on-demand price",
    "spot_overhead": "extra GPU time spot needs for interruptions",
    "kv_headroom": "share of each GPU's memory kept for KV cache (quantization fit, 0.3)",
}
FACTORS = {
    "quantization_speedup": "throughput of the quantized model relative to FP16 (1 to 10)",
    "rightsize_throughput": "throughput per GPU of the new type relative to today's (0.01 to 100)",
    "model_params_b": "the model's size in billions of parameters (default: from its name)",
}
FACTOR_RANGES = {
    "quantization_speedup": (Decimal(1), Decimal(10)),
    "rightsize_throughput": (Decimal("0.01"), Decimal(100)),
    "model_params_b": (Decimal("0.01"), Decimal(100_000)),
}
PRICE = {"rightsize_price": "price per GPU-hour of the new type (default: the price table)"}
CHOICES = {
    "quantization": "target precision: " + ", ".join(QUANTIZATION),
    "rightsize_gpu": "GPU type to move to, as in the price table (e.g. L40S)",
    "routing_to": "a model of yours, at its measured cost per 1M tokens in the period",
    "routing_api": "a hosted model of the price table, at its list price",
}
SCOPE = ("team", "model", "endpoint", "pool")
LEVER_PARAMS = (*FRACTIONS, *FACTORS, *PRICE, *CHOICES)


@dataclass(frozen=True)
class WhatIfRequest:
    scope: WhatIfScope = field(default_factory=WhatIfScope)
    start: date | None = None
    end: date | None = None  # inclusive day
    currency: str | None = None
    levers: dict[str, Decimal | str] = field(default_factory=dict)

    def window(self, last_hour: datetime | None) -> tuple[datetime, datetime]:
        """[start, end) in UTC; open ends close on the data's last day, 30 days back."""
        if self.end:
            high = datetime.combine(self.end + DAY, time.min, tzinfo=UTC)
        elif last_hour is not None:
            high = datetime.combine(last_hour.date() + DAY, time.min, tzinfo=UTC)
        else:
            high = datetime.combine(datetime.now(UTC).date(), time.min, tzinfo=UTC)
        if self.start:
            low = datetime.combine(self.start, time.min, tzinfo=UTC)
        else:
            low = high - DEFAULT_DAYS * DAY
        return low, high


def _decimal(params: Mapping[str, str], name: str, low: Decimal, high: Decimal) -> Decimal | None:
    text = (params.get(name) or "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise QueryError(name, f"{text[:40]!r} is not a number (expected e.g. 0.5)") from None
    if not value.is_finite() or not low <= value <= high:
        raise QueryError(name, f"{text[:40]} is out of range (expected {low} to {high})")
    return value


def _text(params: Mapping[str, str], name: str) -> str:
    text = (params.get(name) or "").strip()
    problem = check_text(text, STRING_MAX)
    if problem:
        raise QueryError(name, problem)
    return text


def parse(params: Mapping[str, str]) -> WhatIfRequest:
    start, end = parse_day(params.get("start"), "start"), parse_day(params.get("end"), "end")
    if start and end:
        low = datetime.combine(start, time.min, tzinfo=UTC)
        problem = check_period(
            low, datetime.combine(end + DAY, time.min, tzinfo=UTC), longest=PERIOD_MAX
        )
        if problem:
            raise QueryError("end", problem)
    levers: dict[str, Decimal | str] = {}
    for name in FRACTIONS:
        value = _decimal(params, name, Decimal(0), Decimal(1))
        if value is not None:
            levers[name] = value
    for name, (low_factor, high_factor) in FACTOR_RANGES.items():
        value = _decimal(params, name, low_factor, high_factor)
        if value is not None:
            levers[name] = value
    price = _decimal(params, "rightsize_price", Decimal(0), Decimal(100_000))
    if price is not None:
        levers["rightsize_price"] = price
    for name in CHOICES:
        text = _text(params, name)
        if text:
            levers[name] = text
    if levers.get("quantization") and levers["quantization"] not in QUANTIZATION:
        raise QueryError("quantization", f"{str(levers['quantization'])[:40]!r} is not one of "
                         f"{', '.join(QUANTIZATION)}")  # fmt: skip
    if levers.get("kv_headroom", Decimal(0)) >= 1:
        raise QueryError("kv_headroom", "1 leaves no memory for weights (expected below 1)")
    if "routing_to" in levers and "routing_api" in levers:
        raise QueryError("routing_api", "give routing_to or routing_api, not both")
    shares = levers.get("commitment_share", Decimal(0)) + levers.get("spot_share", Decimal(0))
    if shares > 1:
        raise QueryError(
            "spot_share", "commitment_share + spot_share is above 1 (expected at most 1)"
        )
    return WhatIfRequest(
        scope=WhatIfScope(**{name: _text(params, name) for name in SCOPE}),
        start=start,
        end=end,
        currency=parse_currency(params.get("currency")),
        levers=levers,
    )
