"""The output-token weight of the tokens rule, configured or derived from request latency.

An output token costs the GPU more than an input token (decode is sequential, prefill is
batched). When AttributionPolicy.derive_output_weight is on, the weight is fitted from the
UsageRollup rows of the window: latency_ms_sum ~ a x input_tokens + b x output_tokens (least
squares through the origin, on the hourly sums), and w = b / a. The fit is used only when both
coefficients come out positive; otherwise the configured output_token_weight applies.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import connection

from .models import AttributionPolicy

_SUMS = """
SELECT sum(input_tokens::numeric * input_tokens), sum(input_tokens::numeric * output_tokens),
       sum(output_tokens::numeric * output_tokens), sum(latency_ms_sum::numeric * input_tokens),
       sum(latency_ms_sum::numeric * output_tokens)
FROM ingest_usagerollup
WHERE hour >= %s AND hour < %s AND latency_ms_sum > 0
"""


def derived_output_weight(start: datetime, end: datetime) -> Decimal | None:
    """b / a of the latency fit over the window, or None when the data does not support one."""
    with connection.cursor() as cursor:
        cursor.execute(_SUMS, [start, end])
        sii, sio, soo, sli, slo = cursor.fetchone()
    if sii is None:
        return None
    det = sii * soo - sio * sio
    if det <= 0:
        return None
    a = (sli * soo - slo * sio) / det
    b = (sii * slo - sio * sli) / det
    if a <= 0 or b <= 0:
        return None
    return (b / a).quantize(Decimal("0.000001"))


def output_weight(policy: AttributionPolicy, start: datetime, end: datetime) -> Decimal:
    if policy.derive_output_weight:
        derived = derived_output_weight(start, end)
        if derived is not None:
            return derived
    return policy.output_token_weight
