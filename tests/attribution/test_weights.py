"""Output-token weight: configured, or fitted from request latency when the policy asks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from costapp.attribution.engine import run_attribution
from costapp.attribution.models import Allocation, AttributionPolicy
from costapp.attribution.weights import derived_output_weight
from costapp.ingest.models import UsageRollup

from . import builders as b

pytestmark = pytest.mark.django_db


def _usage_with_latency(team: str, tokens_in: int, tokens_out: int) -> None:
    row = b.usage(team, input_tokens=tokens_in, output_tokens=tokens_out)
    # 1 ms per input token, 4 ms per output token
    UsageRollup.objects.filter(pk=row.pk).update(latency_ms_sum=tokens_in + 4 * tokens_out)


def test_weight_is_fitted_from_latency_per_token():
    _usage_with_latency("a", 1000, 100)
    _usage_with_latency("b", 200, 300)
    assert derived_output_weight(b.hour(), b.hour(1)) == Decimal(4)


def test_no_latency_gives_no_derived_weight():
    b.usage("a", input_tokens=10, output_tokens=10)
    assert derived_output_weight(b.hour(), b.hour(1)) is None


def test_engine_uses_the_derived_weight_when_the_policy_asks():
    AttributionPolicy.objects.create(pk=1, derive_output_weight=True)
    b.gpu_resource(gpus=1)
    b.cost_line(cost="100")
    b.samples("i-gpu", b.hour(), ["1"])
    _usage_with_latency("a", 400, 0)
    _usage_with_latency("b", 0, 100)
    result = run_attribution()
    assert result.output_token_weight == Decimal(4)
    costs = dict(Allocation.objects.filter(kind="usage").values_list("team", "amortized_cost"))
    assert costs == {"a": Decimal(50), "b": Decimal(50)}
