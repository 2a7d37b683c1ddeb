"""The SQL largest-remainder splits equal costapp.money.split, part for part (hypothesis): both
the generic one and the grouped one the engine's biggest splits use, on credits, zero weights,
tied remainders and several groups at once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costapp.attribution.splitsql import (
    largest_remainder,
    largest_remainder_grouped,
    largest_remainder_splits,
)
from costapp.money import QUANTUM, split

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

amounts = st.integers(-(10**20), 10**20).map(lambda units: Decimal(units) * QUANTUM)
# Few distinct weights, so that remainders tie and the key order decides.
weights = st.sampled_from([Decimal(0), Decimal(1), Decimal(2), Decimal("0.5"), Decimal("3.25")])
groups = st.lists(
    st.tuples(amounts, amounts, st.lists(weights, min_size=1, max_size=6)),
    min_size=1,
    max_size=4,
).filter(lambda gs: all(sum(ws) > 0 for _, _, ws in gs))

_SOURCE = """src AS (
    SELECT g, k, weight::numeric AS weight, amount_a::numeric AS amount_a,
           amount_b::numeric AS amount_b
    FROM unnest(%(g)s::int[], %(k)s::int[], %(w)s::numeric[], %(a)s::numeric[],
                %(b)s::numeric[]) AS t(g, k, weight, amount_a, amount_b)
)"""

# The grouped split's source carries its group's totals, as _frame and the rollups' idle do.
_GROUPED_SOURCE = f"""{_SOURCE}, totals AS (
    SELECT s.*, sum(s.weight) OVER (PARTITION BY s.g) AS weight_total,
           trunc(abs(s.amount_a) * 10000000000) AS units_a, sign(s.amount_a) AS sign_a,
           trunc(abs(s.amount_b) * 10000000000) AS units_b, sign(s.amount_b) AS sign_b
    FROM src s
)"""


def _parts(sql: str, params: dict) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(g, k): (a, b) for g, k, a, b in cursor.fetchall()}


@EXAMPLES
@given(groups)
def test_sql_splits_equal_money_split(data):
    params: dict = {"g": [], "k": [], "w": [], "a": [], "b": []}
    expected = {}
    for g, (amount_a, amount_b, ws) in enumerate(data):
        parts_a, parts_b = split(amount_a, ws), split(amount_b, ws)
        for k, w in enumerate(ws):
            for key, value in zip("gkwab", (g, k, w, amount_a, amount_b), strict=True):
                params[key].append(value)
            expected[(g, k)] = (parts_a[k], parts_b[k])
    generic = _parts(
        f"WITH {_SOURCE}, {largest_remainder('src', 'g', 'k')} SELECT g, k, part_a, part_b FROM lr",
        params,
    )
    grouped = _parts(
        f"WITH {_GROUPED_SOURCE}, {largest_remainder_grouped('totals', 'g', 'k')}"
        " SELECT g, k, part_a, part_b FROM lr",
        params,
    )
    assert generic == expected
    assert grouped == expected


_SPLITS_SOURCE = """src AS (
    SELECT g, k, w1, w2, t1, t2, NULL::numeric AS t0,
           trunc(abs(a) * 10000000000) AS units_a, sign(a) AS sign_a,
           trunc(abs(b) * 10000000000) AS units_b, sign(b) AS sign_b
    FROM (
        SELECT t.*, sum(w1) OVER (PARTITION BY g) AS t1, sum(w2) OVER (PARTITION BY g) AS t2
        FROM unnest(%(g)s::int[], %(k)s::int[], %(w)s::numeric[], %(v)s::numeric[],
                    %(a)s::numeric[], %(b)s::numeric[]) AS t(g, k, w1, w2, a, b)
    ) x
)"""


@EXAMPLES
@given(groups)
def test_one_pass_splits_equal_money_split_per_weight(data):
    """Four splits of two amounts by two weights in one pass (the rollups' idle split per
    basis): each equals money.split alone; a NULL total leaves its part NULL."""
    params: dict = {"g": [], "k": [], "w": [], "v": [], "a": [], "b": []}
    expected = {}
    for g, (amount_a, amount_b, ws) in enumerate(data):
        vs = ws[::-1]  # another weight over the same rows: other remainders and ties
        a_w, b_w = split(amount_a, ws), split(amount_b, ws)
        a_v, b_v = split(amount_a, vs), split(amount_b, vs)
        for k, (w, v) in enumerate(zip(ws, vs, strict=True)):
            for key, value in zip("gkwvab", (g, k, w, v, amount_a, amount_b), strict=True):
                params[key].append(value)
            expected[(g, k)] = (a_w[k], b_w[k], a_v[k], b_v[k], None)
    splits = {
        "aw": ("w1", "t1", "units_a", "sign_a"),
        "bw": ("w1", "t1", "units_b", "sign_b"),
        "bv": ("w2", "t2", "units_b", "sign_b"),
        "av": ("w2", "t2", "units_a", "sign_a"),
        "none": ("w1", "t0", "units_a", "sign_a"),
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {_SPLITS_SOURCE}, {largest_remainder_splits('src', 'g', 'k', splits)}"
            " SELECT g, k, part_aw, part_bw, part_av, part_bv, part_none FROM lr",
            params,
        )
        got = {(g, k): tuple(parts) for g, k, *parts in cursor.fetchall()}
    assert got == expected
