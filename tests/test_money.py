"""The exact split every allocation rests on: parts always sum to the whole."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costapp.money import QUANTUM, split

amounts = st.integers(min_value=-(10**15), max_value=10**15).map(lambda u: Decimal(u) * QUANTUM)
weights = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=40).filter(
    lambda ws: sum(ws) > 0
)


@given(amounts, weights)
def test_split_conserves_the_total_exactly(total, ws):
    parts = split(total, ws)
    assert sum(parts) == total
    assert all(p == p.quantize(QUANTUM) for p in parts)


@given(amounts.filter(lambda a: a >= 0), weights)
def test_split_parts_are_never_negative_and_zero_weight_gets_nothing(total, ws):
    parts = split(total, ws)
    assert all(p >= 0 for p in parts)
    assert all(p == 0 for p, w in zip(parts, ws, strict=True) if w == 0)


@given(amounts.filter(lambda a: a >= 0), weights)
def test_split_parts_are_within_one_quantum_of_the_exact_share(total, ws):
    parts = split(total, ws)
    whole = sum(ws)
    for part, w in zip(parts, ws, strict=True):
        assert abs(part - total * w / whole) < QUANTUM


def test_split_hands_leftover_quanta_to_largest_remainders():
    assert split(Decimal("0.0000000010"), [1, 1, 1]) == [
        Decimal("0.0000000004"),
        Decimal("0.0000000003"),
        Decimal("0.0000000003"),
    ]


def test_split_rejects_all_zero_weights():
    with pytest.raises(ValueError, match="all-zero"):
        split(Decimal("1"), [0, 0])
