"""Break-even tokens per day, hand-computed, and on the worked example through the API."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from costapp.whatif.breakeven import blended_per_1m, break_even
from tests.dashboard.builders import finance_user

from .builders import PARAMS, worked_example
from .test_api import _api


def test_the_price_is_blended_at_the_measured_mix():
    # 3 input tokens per output token at 1 in / 4 out: (3 x 1 + 1 x 4) / 4 = 1.75 per 1M.
    assert blended_per_1m(3_000_000, 1_000_000, D(1), D(4)) == D("1.75")


def test_break_even_is_the_daily_cost_over_the_blended_price():
    # 525 a month = 17.50 a day; at 1.75 per 1M the API costs as much at 10M tokens a day.
    row = break_even(D(525), 90_000_000, 30_000_000, D(1), D(4))
    assert row.self_hosted_per_day == D("17.5")
    assert row.break_even_tokens_per_day == 10_000_000
    assert row.tokens_per_day == 4_000_000  # 120M a month
    assert row.hosted_per_day == D("7")  # 4M x 1.75 / 1M
    assert row.cheaper == "hosted"


def test_above_break_even_self_hosting_is_cheaper():
    row = break_even(D(30), 300_000_000, 0, D(1), D(4))
    assert row.break_even_tokens_per_day == 1_000_000 < row.tokens_per_day
    assert row.cheaper == "self-hosted"


@pytest.mark.django_db
def test_the_api_answer_compares_the_scope_with_each_hosted_model():
    worked_example()
    body = _api(finance_user()).get("/api/v1/whatif", {**PARAMS, "model": "llama-70b"}).json()
    rows = {row["hosted"]: row for row in body["break_even"]}
    assert rows, "the price table's hosted models in USD"
    row = next(iter(rows.values()))
    # Loaded 196.64 a month = 6.5546... a day over 10M tokens a month (333,333 a day).
    assert row["self_hosted_per_day"] == "6.5546666667"
    assert row["tokens_per_day"] == "333333"
    blended = D(row["hosted_per_1m"])
    assert D(row["break_even_tokens_per_day"]) == (D("196.64") / 30 * 1_000_000 / blended).quantize(
        D(1)
    )
