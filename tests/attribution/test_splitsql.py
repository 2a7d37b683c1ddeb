"""The SQL largest-remainder splits equal costapp.money.split, part for part (hypothesis): both
the generic one and the grouped one the engine's biggest splits use, on credits, zero weights,
tied remainders and several groups at once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costapp.attribution.splitsql import largest_remainder, largest_remainder_grouped
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
