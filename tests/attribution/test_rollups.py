"""The rollups the pages read equal the raw allocation rows they sum, exactly (hypothesis):
random allocations, written by hand (the stale mark rebuilds) or by the engine (which refreshes
the hours it rewrote), then every read of the rollups against the same read of the raw rows,
for finance and for leads of one and of two teams, both bases, windows cut mid-day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costapp.attribution import fleet, rollups
from costapp.attribution.engine import run_attribution
from costapp.attribution.idle import (
    fetch,
    idle_ctes,
    idle_params,
    idle_withheld,
    shared_idle,
    withheld_count,
)
from costapp.attribution.models import Allocation, AllocationHour, LineKind, RollupStale
from costapp.attribution.splitsql import largest_remainder
from costapp.core.access import Scope, total_reveals_one_team
from costapp.whatif import baseline
from costapp.whatif.baseline import WhatIfScope

from . import builders as b

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
DAY0 = datetime(2026, 10, 1, tzinfo=UTC)
TEAMS = ("a", "b", "c")
BASES = ("amortized_cost", "billed_cost")
cost = st.decimals(min_value=Decimal("-5"), max_value=Decimal("50"), places=10)
row = st.tuples(
    st.integers(0, 71),  # hour: three days
    st.sampled_from(["p1", "p2", ""]),
    st.sampled_from(["USD", "EUR"]),
    st.sampled_from([LineKind.USAGE] * 4 + [LineKind.IDLE] * 2 + [LineKind.SHARED]),
    st.sampled_from(TEAMS),
    st.sampled_from(["m1", "m2"]),
    cost,
    cost,
    st.decimals(min_value=0, max_value=8, places=10),
    st.integers(0, 1000),
    st.sampled_from([None, 8]),  # gpu_count: on an inventory GPU at the hour, or not
)

# The raw-row reads the rollups replace, as costapp.attribution.idle ran them on every read.
_RAW_SHARES = """
WITH used AS (
    SELECT hour, pool, currency, team, model, endpoint, greatest(sum({col}), 0) AS weight
    FROM attribution_allocation WHERE kind = 'usage' AND hour >= %(start)s AND hour < %(end)s
    GROUP BY hour, pool, currency, team, model, endpoint
), idle AS (
    SELECT hour, pool, currency, sum({col}) AS amount_a, sum(gpu_hours) AS amount_b
    FROM attribution_allocation WHERE kind = 'idle' AND hour >= %(start)s AND hour < %(end)s
    GROUP BY hour, pool, currency
), src AS (
    SELECT * FROM (
        SELECT u.*, i.amount_a, i.amount_b,
               sum(u.weight) OVER (PARTITION BY u.hour, u.pool, u.currency) AS pool_use
        FROM used u
        JOIN idle i ON i.hour = u.hour AND i.pool = u.pool AND i.currency = u.currency
    ) x WHERE pool_use > 0
), {split}
SELECT hour, pool, currency, team, model, endpoint, part_a, part_b FROM lr
"""
_RAW_POOL_HOURS = """
WITH used AS (
    SELECT hour, pool, currency, team, greatest(sum({col}), 0) AS weight
    FROM attribution_allocation WHERE kind = 'usage' AND hour >= %(start)s AND hour < %(end)s
    GROUP BY hour, pool, currency, team, model, endpoint
)
SELECT hour, pool, currency,
       count(DISTINCT team) FILTER (WHERE weight > 0 AND NOT team = ANY(%(viewer)s)) AS others
FROM used GROUP BY hour, pool, currency HAVING bool_or(team = ANY(%(viewer)s))
"""


def _raw_withheld(col, start, end, viewer) -> set:
    rows = fetch(_RAW_POOL_HOURS.format(col=col), {"start": start, "end": end, "viewer": viewer})
    return {
        (r["hour"], r["pool"], r["currency"]) for r in rows if total_reveals_one_team(r["others"])
    }


def _raw_shares(col, start, end, viewer) -> dict:
    """Per (team, model, currency): [idle cost, idle GPU-hours, withheld shares], as read from
    the raw rows."""
    split = largest_remainder("src", "hour, pool, currency", "team, model, endpoint")
    held = _raw_withheld(col, start, end, viewer) if viewer is not None else set()
    out: dict = {}
    for r in fetch(_RAW_SHARES.format(col=col, split=split), {"start": start, "end": end}):
        slot = out.setdefault((r["team"], r["model"], r["currency"]), [0, 0, 0])
        if (r["hour"], r["pool"], r["currency"]) in held:
            slot[2] += 1
        else:
            slot[0] += r["part_a"]
            slot[1] += r["part_b"]
    return out


def _rollup_shares(col, start, end, viewer, own) -> dict:
    sql = f"""WITH {idle_ctes(col, None, viewer, own_only=own)}
        SELECT team, model, currency,
               coalesce(sum(part_a) FILTER (WHERE NOT withheld), 0) AS a,
               coalesce(sum(part_b) FILTER (WHERE NOT withheld), 0) AS b,
               coalesce(sum(n) FILTER (WHERE withheld), 0) AS held
        FROM shares {"WHERE team = ANY(%(viewer)s)" if own else ""}
        GROUP BY team, model, currency"""
    rows = fetch(sql, idle_params(start, end, "amortized", None, viewer))
    return {(r["team"], r["model"], r["currency"]): [r["a"], r["b"], r["held"]] for r in rows}


_SUMS = """SELECT (date_trunc('day', hour AT TIME ZONE 'UTC'))::date AS day, currency, pool,
       kind, team, model, gpu_type, {counted} AS counted, sum(amortized_cost) AS a,
       sum(billed_cost) AS b, sum(gpu_hours) AS g, sum(requests) AS r, min({first}) AS first
FROM {source} lines WHERE hour >= %(start)s AND hour < %(end)s
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"""
_KEY = ("day", "currency", "pool", "kind", "team", "model", "gpu_type", "counted")


def _sums(source: str, first: str, start, end) -> dict:
    counted = "gpu_count IS NOT NULL" if first == "hour" else "gpu_counted"
    sql = _SUMS.format(source=source, first=first, counted=counted)
    return {tuple(r[k] for k in _KEY): r for r in fetch(sql, {"start": start, "end": end})}


def _check_fleet(start, end) -> None:
    """The fleet's pools, prices and heatmap, read from the rollups, are the same statements
    run on the raw rows."""
    for code in ("USD", "EUR"):
        for col in BASES:
            params = {"start": start, "end": end, "currency": code, "unknown": "?", "pool": "p1"}
            for sql in (fleet._POOLS, fleet._PRICES):
                args = {"col": col, "gpu_type": fleet._TYPE}
                got = fetch(sql.format(lines=fleet._gpu_lines("rollup"), **args), params)
                assert got == fetch(sql.format(lines=fleet._gpu_lines("raw"), **args), params)
        for pool in ("", "AND a.pool = %(pool)s"):
            got, raw = (
                fetch(fleet._HEATMAP.format(lines=fleet._gpu_lines(source), pool=pool), params)
                for source in ("hourly", "raw")
            )
            assert got == raw


def _write(rows) -> None:
    Allocation.objects.all().delete()
    Allocation.objects.bulk_create(
        Allocation(
            hour=DAY0 + timedelta(hours=h), resource_id=f"i-{pool}", pool=pool, kind=kind,
            currency=code, team="" if kind == LineKind.IDLE else team,
            model="" if kind == LineKind.IDLE else model, amortized_cost=a, billed_cost=b_,
            gpu_hours=g, requests=n, gpu_count=gpus, gpu_type="H100" if gpus else "",
        )
        for h, pool, code, kind, team, model, a, b_, g, n, gpus in rows
    )  # fmt: skip


_RAW_PEAKS = """SELECT DISTINCT ON (team) team, hour FROM (
    SELECT team, hour, sum({col}) AS cost FROM attribution_allocation
    WHERE kind IN ('usage', 'shared') AND team <> '' AND currency = %(currency)s
      AND hour >= %(start)s AND hour < %(end)s
    GROUP BY team, hour
) per_hour ORDER BY team, cost DESC, hour"""


def _check_peaks(col, start, end) -> None:
    """Each team's most expensive hour, read from the daily peaks and the edge hours, is the one
    the raw rows give (ties to the earliest hour)."""
    for code in ("USD", "EUR"):
        params = {"start": start, "end": end, "currency": code, "teams": ["a", "c"]}
        assert fetch(rollups.peak_hours(col), params) == fetch(_RAW_PEAKS.format(col=col), params)
        only = "AND team = ANY(%(teams)s)"
        raw = [r for r in fetch(_RAW_PEAKS.format(col=col), params) if r["team"] in ("a", "c")]
        assert fetch(rollups.peak_hours(col, only), params) == raw


# The allocations as the what-if baseline's rollup reads see them (gpu_counted included).
_RAW_LINES = "(SELECT *, gpu_count IS NOT NULL AS gpu_counted FROM attribution_allocation)"
_WHATIF_SCOPES = (
    (Scope(None, finance=True), WhatIfScope()),
    (Scope(None, finance=True), WhatIfScope(pool="p1", model="m1")),
    (Scope(("a", "b")), WhatIfScope()),
    (Scope(("a",)), WhatIfScope(team="a", pool="p2")),
)


def _check_whatif(start, end) -> None:
    """The what-if baseline's hourly, hour-of-week, GPU-type and currency reads give from the
    rollups what they give from the raw rows, for finance and for leads."""
    for scope, what in _WHATIF_SCOPES:
        where, named = baseline._named_where(scope, what)
        for code in ("USD", "EUR"):
            params = {"start": start, "end": end, "currency": code, **named}
            for sql, source in (
                (baseline._HOURS, rollups.lines(hourly=True)),
                (baseline._WEEK, rollups.lines(hourly=True)),
                (baseline._GPU_TYPES, rollups.lines()),
                (baseline._CURRENCIES, rollups.lines()),
            ):
                with connection.cursor() as cursor:
                    cursor.execute(sql.format(lines=source, where=where), params)
                    got = cursor.fetchall()
                    cursor.execute(sql.format(lines=_RAW_LINES, where=where), params)
                    assert got == cursor.fetchall(), sql


def _check_every_read(start, end) -> None:
    assert _sums(rollups.lines(), "first_hour", start, end) == _sums(
        "attribution_allocation", "hour", start, end
    )
    hourly = _sums(rollups.lines(hourly=True), "first_hour", start, end)
    assert hourly == _sums("attribution_allocation", "hour", start, end)
    _check_fleet(start, end)
    _check_whatif(start, end)
    for col, basis in zip(BASES, ("amortized", "billed"), strict=True):
        _check_peaks(col, start, end)
        assert _rollup_shares(col, start, end, None, False) == _raw_shares(col, start, end, None)
        for viewer in (["a"], ["a", "b"], ["c"]):
            raw = _raw_shares(col, start, end, viewer)
            assert _rollup_shares(col, start, end, viewer, False) == raw
            if len(viewer) == 1:
                own = {key: value for key, value in raw.items() if key[0] in viewer}
                assert _rollup_shares(col, start, end, viewer, True) == own
            held = _raw_withheld(col, start, end, viewer)
            assert set(idle_withheld(start, end, viewer, basis)) == held
            assert withheld_count(start, end, viewer, basis) == len(held)
            per_team: dict = {}
            for (team, _, _), (idle_cost, idle_hours, _) in raw.items():
                slot = per_team.setdefault(team, [0, 0])
                slot[0] += idle_cost
                slot[1] += idle_hours
            got = {t: list(v) for t, v in shared_idle(start, end, basis, None, viewer).items()}
            assert got == per_team


windows = st.tuples(st.integers(0, 71), st.integers(1, 72))


@EXAMPLES
@given(rows=st.lists(row, max_size=40), window=windows)
def test_rollups_written_by_hand_read_as_the_raw_rows(rows, window):
    _write(rows)
    if rows:  # written outside the engine: the hours written are refreshed on read
        hours = [DAY0 + timedelta(hours=r[0]) for r in rows]
        marked = RollupStale.objects.order_by("-id")[0]
        assert (marked.first_hour, marked.last_hour) == (min(hours), max(hours))
    start = DAY0 + timedelta(hours=window[0])
    end = start + timedelta(hours=window[1])
    _check_every_read(start, end)
    assert not RollupStale.objects.exists()
    _check_every_read(DAY0 - timedelta(days=1), DAY0 + timedelta(days=4))


def test_the_engine_refreshes_the_rollups_of_the_hours_it_rewrites():
    b.gpu_resource(gpus=4)
    for day in range(2):
        b.cost_line(cost="96.0000000001", billed="120", hours=24, start=b.hour(day * 24))
    b.samples("i-gpu", b.hour(3), ["0.25"], gpus=4)
    b.usage("team-a", b.hour(3), gpu_seconds=Decimal(100))
    b.usage("team-b", b.hour(3), gpu_seconds=Decimal(300))
    run_attribution()
    assert not RollupStale.objects.exists()
    start, end = b.hour(0) - timedelta(days=1), b.hour(0) + timedelta(days=3)
    _check_every_read(start, end)
    # A window recomputed after new use arrives: only its hours are rewritten, exactly.
    b.usage("team-c", b.hour(30), gpu_seconds=Decimal(50))
    run_attribution(b.hour(30), b.hour(31))
    assert not RollupStale.objects.exists()
    _check_every_read(start, end)
    _check_every_read(b.hour(30), b.hour(31))
    assert AllocationHour.objects.filter(hour=b.hour(30), team="team-c").exists()


def test_a_statement_outside_the_engine_marks_the_hours_it_touched():
    RollupStale.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE attribution_allocation SET requests = requests")
    assert not RollupStale.objects.exists()  # it touched no row
    Allocation.objects.create(hour=DAY0, resource_id="i-1", kind=LineKind.USAGE, team="a")
    Allocation.objects.create(hour=DAY0 + timedelta(hours=30), resource_id="i-1", kind="usage")
    RollupStale.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE attribution_allocation SET requests = requests")
        assert RollupStale.objects.get().last_hour == DAY0 + timedelta(hours=30)
        cursor.execute("TRUNCATE attribution_allocation")
    assert RollupStale.objects.filter(first_hour=None, last_hour=None).count() == 1
    rollups.rebuild()
    assert not RollupStale.objects.exists()


def test_a_read_refreshes_only_the_days_marked_stale():
    """The marks' hours widen to whole days, overlapping ones merge, and the hours outside them
    keep their rollups: a rollup row of an unmarked day written by hand survives the read."""
    day = timedelta(days=1)
    hour = timedelta(hours=1)
    assert rollups.stale_days([(DAY0 + hour, DAY0 + 2 * hour), (DAY0 + 20 * hour, DAY0 + day)]) == [
        (DAY0, DAY0 + 2 * day)
    ]
    assert rollups.stale_days([(DAY0, DAY0), (DAY0 + 3 * day, DAY0 + 3 * day)]) == [
        (DAY0, DAY0 + day),
        (DAY0 + 3 * day, DAY0 + 4 * day),
    ]
    assert rollups.stale_days([(DAY0, DAY0), (None, None)]) == [rollups.EVER]
    Allocation.objects.create(hour=DAY0, resource_id="i-1", kind=LineKind.USAGE, team="a")
    rollups.ensure_current()
    planted = AllocationHour.objects.create(
        hour=DAY0 + 3 * day, currency="USD", kind="usage", team="planted"
    )
    Allocation.objects.create(hour=DAY0 + 5 * hour, resource_id="i-1", kind="usage", team="b")
    rollups.ensure_current()
    assert not RollupStale.objects.exists()
    assert AllocationHour.objects.filter(pk=planted.pk).exists()  # day 3 was not marked
    assert set(
        AllocationHour.objects.filter(hour__lt=DAY0 + day).values_list("team", flat=True)
    ) == {"a", "b"}


def test_the_rebuild_command_clears_the_stale_mark():
    from io import StringIO

    from django.core.management import call_command

    Allocation.objects.create(hour=DAY0, resource_id="i-1", kind=LineKind.USAGE, team="a")
    out = StringIO()
    call_command("rollups", stdout=out)
    assert "stale" in out.getvalue()
    call_command("rollups", "--rebuild", stdout=out)
    assert not RollupStale.objects.exists()
    assert AllocationHour.objects.filter(hour=DAY0, team="a", rows=1).exists()
