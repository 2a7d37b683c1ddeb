"""Allocation rollups: kept by the engine, read by every page instead of the raw allocation rows.

Six tables (costapp.attribution.rollup_tables), all derived from the allocations alone:

- `attribution_rollup_hour`: the allocations summed per hour, currency, pool, pricing category,
  kind, team, model, endpoint, GPU type and the two GPU flags (`on_gpu`, `gpu_counted`; no
  resource), with `rows` counted;
- `attribution_rollup_day`: the same per UTC day, with the day's first hour;
- `attribution_rollup_poolteam`: per pool-hour, each team with usage lines there, whether it
  used the pool under each basis and how many other teams did (the lead's withholding rule);
- `attribution_rollup_share_hour` / `_share_day`: each pool-hour's idle cost and idle GPU-hours
  split across the (team, model, endpoint) keys that used the pool, by their usage cost, per
  basis, exactly as costapp.attribution.idle describes (largest remainder at 1E-10), so a read
  never re-runs the split. The daily shares keep apart the part of pool-hours exactly one other
  team used, which a lead of the row's team alone is not shown;
- `attribution_rollup_peak_day`: each team's most expensive hour of each day, per basis.

`refresh(cursor, start, end, closed)` rewrites the rollups of [start, end) (None: unbounded)
outside the closed months from the allocations as they now stand: the engine calls it in the
transaction that rewrote those hours, after the last insert, for exactly the hours it deleted.
It is incremental: the hourly tables of those hours from their allocations, the idle split of
their pool-hours alone, and the daily tables of the days they touch from the hourly tables of
those days (never from raw rows). Closed months are never rewritten (their allocations never
change, so neither do their sums).

Allocations written any other way (the ORM in tests, a hand-run statement, a migration) fire a
statement trigger that records the hours the statement touched in `attribution_rollup_stale`
(first and last hour, from its transition tables; every hour after a TRUNCATE); the engine's
own statements leave none (it sets `costapp.rollup_writer` for its transaction).
`ensure_current()`, which every rollup read calls first, refreshes just the marked days under
the engine's lock and clears those marks: never a full rebuild unless a mark says every hour.
Within one web request the check runs once (the first read; see `_request_started`).
`manage.py rollups --rebuild` rebuilds everything by hand.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

from django.core.signals import request_finished, request_started
from django.db import connection, transaction

from . import periods

WRITER = "costapp.rollup_writer"
# The bounds of an unbounded refresh: every hour Postgres and Python can both hold.
EVER = (datetime(1, 1, 1, tzinfo=UTC), datetime.max.replace(tzinfo=UTC))
DAY = timedelta(days=1)
_HOUR_COLUMNS = (
    "currency, pool, pricing_category, kind, team, model, endpoint, gpu_type, on_gpu,"
    " gpu_counted, amortized_cost, billed_cost, gpu_hours, requests, input_tokens,"
    " output_tokens, rows"
)
_DIMENSIONS = (
    "currency, pool, pricing_category, kind, team, model, endpoint, gpu_type, on_gpu, gpu_counted"
)
_SUMS = (
    "sum(amortized_cost), sum(billed_cost), sum(gpu_hours), sum(requests), sum(input_tokens),"
    " sum(output_tokens)"
)
_HOUR_TABLES = (
    "attribution_rollup_hour",
    "attribution_rollup_poolteam",
    "attribution_rollup_share_hour",
)
_DAY_TABLES = (
    "attribution_rollup_day",
    "attribution_rollup_share_day",
    "attribution_rollup_peak_day",
)
# Hours [%(lo)s, %(hi)s); days [%(d0)s, %(d1)s): the whole UTC days those hours touch.
_HOURS = "hour >= %(lo)s AND hour < %(hi)s"
_DAYS = "hour >= %(d0)s AND hour < %(d1)s"

# On a GPU resource of the inventory version in force at the hour: the engine records it as
# gpu_count; a row written without it (by hand, in a test) is looked up in the inventory.
_ON_GPU = """(a.gpu_count IS NOT NULL OR EXISTS (
    SELECT 1 FROM ingest_gpuresource g
    WHERE g.resource_id = a.resource_id AND a.resource_id <> ''
      AND (g.effective_from IS NULL OR g.effective_from <= a.hour)
      AND (g.effective_to IS NULL OR g.effective_to > a.hour)))"""

_INSERT_HOURS = f"""
INSERT INTO attribution_rollup_hour (hour, {_HOUR_COLUMNS})
SELECT hour, currency, pool, pricing_category, kind, team, model, endpoint, gpu_type,
       {_ON_GPU}, a.gpu_count IS NOT NULL, {_SUMS}, count(*)
FROM attribution_allocation a
WHERE {_HOURS}
GROUP BY hour, currency, pool, pricing_category, kind, team, model, endpoint, gpu_type, 10, 11
"""


def _splits() -> str:
    """CTEs: the idle of each pool-hour split across its keys by their usage cost under each
    basis, as costapp.attribution.idle splits it: part_ca / part_ha the idle cost and GPU-hours
    by amortized use, part_cb / part_hb by billed use (NULL when the pool-hour has no use under
    that basis). The pool-hour's totals and quanta come from `idle` (once per pool-hour), its
    integer `gid` groups the split. The four splits go in one pass over the same rows."""
    from .splitsql import largest_remainder_splits

    split = largest_remainder_splits(
        "src",
        "gid",
        "team, model, endpoint",
        {
            "ca": ("w_a", "t_a", "units_a", "sign_a"),
            "ha": ("w_a", "t_a", "units_h", "sign_h"),
            "cb": ("w_b", "t_b", "units_b", "sign_b"),
            "hb": ("w_b", "t_b", "units_h", "sign_h"),
        },
    )
    return f"""
src AS (
    SELECT u.hour, u.pool, u.currency, u.team, u.model, u.endpoint, i.gid,
           greatest(u.use_a, 0) AS w_a, greatest(u.use_b, 0) AS w_b,
           nullif(i.use_a, 0) AS t_a, nullif(i.use_b, 0) AS t_b,
           i.units_a, i.sign_a, i.units_b, i.sign_b, i.units_h, i.sign_h
    FROM key_use u JOIN idle i USING (hour, pool, currency)
    WHERE i.use_a > 0 OR i.use_b > 0
), {split}"""


# One statement for the pool-hours of the window: each key's use (a credit counts as no use; a
# team used the pool when one of its keys has a positive weight), the teams of each pool-hour
# (written as it goes), and both bases' idle splits, computed in one pass, one row per key.
_INSERT_POOL_HOURS = f"""
WITH key_use AS MATERIALIZED (
    SELECT hour, pool, currency, team, model, endpoint,
           sum(amortized_cost) AS use_a, sum(billed_cost) AS use_b
    FROM attribution_rollup_hour
    WHERE kind = 'usage' AND {_HOURS}
    GROUP BY hour, pool, currency, team, model, endpoint
), teams AS (
    SELECT hour, pool, currency, team, bool_or(use_a > 0) AS pa, bool_or(use_b > 0) AS pb
    FROM key_use GROUP BY hour, pool, currency, team
), pool_teams AS (
    INSERT INTO attribution_rollup_poolteam
        (hour, pool, currency, team, positive_a, positive_b, others_a, others_b)
    SELECT hour, pool, currency, team, pa, pb,
           count(*) FILTER (WHERE pa) OVER w - pa::int,
           count(*) FILTER (WHERE pb) OVER w - pb::int
    FROM teams WINDOW w AS (PARTITION BY hour, pool, currency)
    RETURNING hour, pool, currency, team, others_a, others_b
), idle AS (
    SELECT i.hour, i.pool, i.currency, row_number() OVER () AS gid, p.use_a, p.use_b,
           trunc(abs(i.cost_a) * 10000000000) AS units_a, sign(i.cost_a) AS sign_a,
           trunc(abs(i.cost_b) * 10000000000) AS units_b, sign(i.cost_b) AS sign_b,
           trunc(abs(i.gpu_hours) * 10000000000) AS units_h, sign(i.gpu_hours) AS sign_h
    FROM (
        SELECT hour, pool, currency, sum(amortized_cost) AS cost_a, sum(billed_cost) AS cost_b,
               sum(gpu_hours) AS gpu_hours
        FROM attribution_rollup_hour
        WHERE kind = 'idle' AND {_HOURS}
        GROUP BY hour, pool, currency
    ) i JOIN (
        -- the pool-hour's use, a credit counting as none: the weight total of its splits
        SELECT hour, pool, currency, sum(greatest(use_a, 0)) AS use_a,
               sum(greatest(use_b, 0)) AS use_b
        FROM key_use GROUP BY hour, pool, currency
    ) p USING (hour, pool, currency)
), {_splits()}
INSERT INTO attribution_rollup_share_hour
    (hour, currency, pool, team, model, endpoint,
     cost_a, hours_a, others_a, cost_b, hours_b, others_b)
SELECT s.hour, s.currency, s.pool, s.team, s.model, s.endpoint,
       s.part_ca, s.part_ha, CASE WHEN s.t_a IS NOT NULL THEN p.others_a END,
       s.part_cb, s.part_hb, CASE WHEN s.t_b IS NOT NULL THEN p.others_b END
FROM lr s JOIN pool_teams p USING (hour, pool, currency, team)
"""

_INSERT_DAYS = f"""
INSERT INTO attribution_rollup_day (day, first_hour, {_HOUR_COLUMNS})
SELECT date_trunc('day', hour, 'UTC'), min(hour), {_DIMENSIONS}, {_SUMS}, sum(rows)
FROM attribution_rollup_hour
WHERE {_DAYS}
GROUP BY date_trunc('day', hour, 'UTC'), {_DIMENSIONS}
ORDER BY 1
"""


def _held(basis: str) -> str:
    held = f"cost_{basis} IS NOT NULL AND others_{basis} = 1"
    return f"""coalesce(sum(cost_{basis}), 0), coalesce(sum(hours_{basis}), 0),
       count(cost_{basis}), coalesce(sum(cost_{basis}) FILTER (WHERE {held}), 0),
       coalesce(sum(hours_{basis}) FILTER (WHERE {held}), 0), count(*) FILTER (WHERE {held})"""


_INSERT_SHARE_DAYS = f"""
INSERT INTO attribution_rollup_share_day
    (day, first_hour, currency, pool, team, model, endpoint,
     cost_a, hours_a, rows_a, held_cost_a, held_hours_a, held_rows_a,
     cost_b, hours_b, rows_b, held_cost_b, held_hours_b, held_rows_b)
SELECT date_trunc('day', hour, 'UTC'), min(hour), currency, pool, team, model, endpoint,
       {_held("a")}, {_held("b")}
FROM attribution_rollup_share_hour
WHERE {_DAYS}
GROUP BY date_trunc('day', hour, 'UTC'), currency, pool, team, model, endpoint
ORDER BY 1
"""

# A team's cost of an hour is its usage and shared lines; its peak is the biggest, ties to the
# earliest hour, as the report's explain link has always picked it.
_TEAM_HOURS = """
SELECT hour, currency, team, sum(amortized_cost) AS cost_a, sum(billed_cost) AS cost_b
FROM attribution_rollup_hour
WHERE kind IN ('usage', 'shared') AND team <> '' AND {where}
GROUP BY hour, currency, team"""


def _peak(basis: str) -> str:
    return f"""SELECT DISTINCT ON (day, currency, team) day, currency, team, hour, cost_{basis}
        FROM per_hour ORDER BY day, currency, team, cost_{basis} DESC, hour"""


_INSERT_PEAK_DAYS = f"""
INSERT INTO attribution_rollup_peak_day (day, currency, team, hour_a, cost_a, hour_b, cost_b)
WITH per_hour AS (
    SELECT date_trunc('day', hour, 'UTC') AS day, * FROM ({_TEAM_HOURS.format(where=_DAYS)}) h
), peak_a AS ({_peak("a")}), peak_b AS ({_peak("b")})
SELECT day, currency, team, a.hour, a.cost_a, b.hour, b.cost_b
FROM peak_a a JOIN peak_b b USING (day, currency, team)
ORDER BY day
"""


def _day_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _day_ceil(moment: datetime) -> datetime:
    """The first midnight at or after `moment` (EVER's end past the last whole day)."""
    floor = _day_floor(moment)
    if floor == moment:
        return moment
    return floor + DAY if floor < _day_floor(EVER[1]) else EVER[1]


def engine_writes(cursor) -> None:
    """Mark the transaction's allocation statements as the engine's: no stale mark (the engine
    refreshes the rollups of the hours it rewrote itself). Until `refresh` or the end of the
    transaction."""
    cursor.execute("SELECT set_config(%s, 'engine', true)", [WRITER])


def refresh(
    cursor, start: datetime | None, end: datetime | None, closed: list | None = None
) -> None:
    """Rewrite the rollups of the hours in [start, end) (None: unbounded), and of the days they
    touch, outside the `closed` months, from the allocations as they stand. Ends the engine's
    writer mark (`engine_writes`)."""
    low, high = start or EVER[0], end or EVER[1]
    if start is None and end is None and not closed:
        # Everything is rewritten from what this transaction sees: marks left before go.
        cursor.execute("DELETE FROM attribution_rollup_stale")
    # Every join below is between sets bounded by the window, some just written (their
    # statistics not yet gathered): a hash join is never far off, a nested loop planned on an
    # empty table's statistics took seconds (an ANALYZE per table per run is the alternative).
    # JIT compiling these statements costs more than it saves. For the same reason (a partition
    # just written reads as a few dozen rows) the GROUP BYs would sort tens of thousands of rows
    # on ten text keys: hashing them is cheaper, and the window functions and DISTINCT ON sort
    # all the same. The settings are put back. The daily INSERTs still sort their rows by day
    # (a few thousand rows a month): a window's rows then sit together in the table, so a
    # month of a year's rebuild reads a twelfth of the blocks rather than rows spread over all
    # of them (at bench size L, 30 days of daily rollups were 3,030 rows over 893 of 922
    # blocks; 77 sorted). Sorting the hourly INSERTs too cost attribution 13% (bench L: 84.8 s
    # against 75.2 s for 30 days), so they stay unsorted: written a day at a time, as an
    # installation writes them, they sit together anyway.
    settings = ("enable_nestloop", "jit", "enable_sort")
    cursor.execute("SELECT " + ", ".join(f"current_setting('{name}')" for name in settings))
    saved = list(cursor.fetchone())
    cursor.execute("SELECT " + ", ".join(f"set_config('{name}', 'off', true)" for name in settings))
    for lo, hi in periods.open_intervals(low, high, list(closed or [])):
        _refresh_hours(cursor, lo, hi)
    cursor.execute(
        "SELECT " + ", ".join(f"set_config('{name}', %s, true)" for name in settings), saved
    )
    cursor.execute("SELECT set_config(%s, '', true)", [WRITER])


def _refresh_hours(cursor, lo: datetime, hi: datetime) -> None:
    """The hourly rollups of [lo, hi), then the daily ones of the days they touch (whose other
    hours' rollups are current)."""
    params = {"lo": lo, "hi": hi, "d0": _day_floor(lo), "d1": _day_ceil(hi)}
    for table in _HOUR_TABLES:
        cursor.execute(f"DELETE FROM {table} WHERE {_HOURS}", params)
    for table in _DAY_TABLES:
        cursor.execute(f"DELETE FROM {table} WHERE day >= %(d0)s AND day < %(d1)s", params)
    for statement in (
        _INSERT_HOURS,
        _INSERT_POOL_HOURS,
        _INSERT_DAYS,
        _INSERT_SHARE_DAYS,
        _INSERT_PEAK_DAYS,
    ):
        cursor.execute(statement, params)


def rebuild() -> None:
    """Every rollup rebuilt from the allocations (closed months too: their allocations have not
    changed, so neither do their sums), and the stale marks cleared."""
    with transaction.atomic(), connection.cursor() as cursor:
        _engine_lock(cursor)
        refresh(cursor, None, None, [])
    # Fresh statistics: every rollup row was just rewritten, and a planner that still thinks a
    # table empty nests loops over it.
    with connection.cursor() as cursor:
        for table in (*_HOUR_TABLES, *_DAY_TABLES):
            cursor.execute(f"ANALYZE {table}")


def _engine_lock(cursor) -> None:
    """The engine's lock, exclusively: a refresh of marked days or of everything never runs
    beside a run that rewrites hours (costapp.attribution.locking)."""
    from .locking import lock_engine

    lock_engine(cursor)


def stale_days(marks: list[tuple[datetime | None, datetime | None]]) -> list[tuple]:
    """The marks' hours as whole UTC days, overlapping or adjacent ones merged, in order; one
    unbounded window when a mark says every hour (NULL)."""
    if any(first is None for first, _ in marks):
        return [EVER]
    spans = sorted(
        (_day_floor(first), _day_ceil(last + timedelta(hours=1))) for first, last in marks
    )
    merged: list[list[datetime]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(lo, hi) for lo, hi in merged]


def _refresh_stale(cursor) -> None:
    """Refresh the days the stale marks name (closed months too: the rollups follow the
    allocations as they stand), then clear the marks read; a mark written meanwhile stays."""
    cursor.execute(
        "SELECT max(id), array_agg(first_hour), array_agg(last_hour) FROM attribution_rollup_stale"
    )
    last_id, firsts, lasts = cursor.fetchone()
    if last_id is None:
        return  # another reader refreshed while we waited for the lock
    for lo, hi in stale_days(list(zip(firsts, lasts, strict=True))):
        refresh(cursor, None if lo == EVER[0] else lo, None if hi == EVER[1] else hi, [])
    cursor.execute("DELETE FROM attribution_rollup_stale WHERE id <= %s", [last_id])


# Within a web request the rollups are checked once: request_started opens the request's check
# (False), the first read makes it (True), request_finished closes it (None: outside a request,
# every read checks, as a test writing allocations between reads needs).
_checked: ContextVar[bool | None] = ContextVar("rollups_checked", default=None)


def _request_started(**kwargs) -> None:
    _checked.set(False)


def _request_finished(**kwargs) -> None:
    _checked.set(None)


request_started.connect(_request_started, dispatch_uid="rollups_request_started")
request_finished.connect(_request_finished, dispatch_uid="rollups_request_finished")


def ensure_current() -> None:
    """Refresh the rollups of the hours written outside the engine since (the stale marks):
    every read of the rollups calls this first. One indexed look-up when nothing is stale, once
    per web request."""
    if _checked.get():
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM attribution_rollup_stale)")
        stale = cursor.fetchone()[0]
    if stale:
        with transaction.atomic(), connection.cursor() as cursor:
            _engine_lock(cursor)
            _refresh_stale(cursor)
    if _checked.get() is False:
        _checked.set(True)


# --- Reads -----------------------------------------------------------------------------------
# The window [%(start)s, %(end)s) is read from the daily rollups for its whole UTC days and from
# the hourly ones for the hours before the first and after the last whole day, so any window
# (whole days or not) sums exactly the allocations inside it.
_D0 = (
    "date_trunc('day', %(start)s::timestamptz + interval '1 day' - interval '1 microsecond', 'UTC')"
)
_D1 = "date_trunc('day', %(end)s::timestamptz, 'UTC')"
_EDGES = f"hour >= %(start)s AND hour < %(end)s AND NOT (hour >= {_D0} AND hour < {_D1})"
_LINE_COLUMNS = (
    "currency, pool, pricing_category, kind, team, model, endpoint, gpu_type, on_gpu,"
    " gpu_counted, amortized_cost, billed_cost, gpu_hours, requests, input_tokens, output_tokens"
)


def lines(hourly: bool = False) -> str:
    """A subquery standing in for attribution_allocation over [%(start)s, %(end)s), without
    resource_id: `hour` is the start of the bucket (a day, or an hour at the edges; every hour
    when `hourly`, for reads at hour grain), `first_hour` the earliest allocation hour in it.
    Filters and date_trunc by day or month on `hour` give what they give on the raw rows."""
    ensure_current()
    if hourly:
        return (
            f"(SELECT hour, hour AS first_hour, {_LINE_COLUMNS} FROM attribution_rollup_hour"
            " WHERE hour >= %(start)s AND hour < %(end)s)"
        )
    return f"""(SELECT day AS hour, first_hour, {_LINE_COLUMNS} FROM attribution_rollup_day
    WHERE day >= {_D0} AND day < {_D1}
    UNION ALL
    SELECT hour, hour, {_LINE_COLUMNS} FROM attribution_rollup_hour WHERE {_EDGES})"""


def peak_hours(col: str, teams: str = "") -> str:
    """SELECT team, hour: each team's most expensive hour (its usage and shared lines in
    %(currency)s under the basis of `col`, ties to the earliest) in [%(start)s, %(end)s), from
    the daily peaks of the whole days and the hourly rollups of the edges. `teams`: a further
    condition on `team`."""
    ensure_current()
    x = _suffix(col)
    return f"""SELECT DISTINCT ON (team) team, hour FROM (
        SELECT team, hour_{x} AS hour, cost_{x} AS cost FROM attribution_rollup_peak_day
        WHERE day >= {_D0} AND day < {_D1} AND currency = %(currency)s {teams}
        UNION ALL
        SELECT team, hour, sum({col}) FROM attribution_rollup_hour
        WHERE {_EDGES} AND kind IN ('usage', 'shared') AND team <> ''
          AND currency = %(currency)s {teams}
        GROUP BY team, hour
    ) peaks ORDER BY team, cost DESC, hour"""


def _suffix(col: str) -> str:
    return {"amortized_cost": "a", "billed_cost": "b"}[col]


def shares(col: str, currency: str | None, mode: str = "general", hourly: bool = False) -> str:
    """CTEs ending in `shares` (hour: the bucket's start, first_hour, pool, currency, team,
    model, endpoint, part_a: idle cost, part_b: idle GPU-hours, withheld, n: the hourly shares
    summed) over [%(start)s, %(end)s), for the basis of `col`, as costapp.attribution.idle
    splits them. `withheld` marks the shares of pool-hours withheld from the viewer bound as
    %(viewer)s (a list of teams; NULL: finance, nothing withheld), whose teams used the pool-hour
    with exactly one other team. `mode` "general" reads hourly shares and works out the
    withheld pool-hours for any viewer; "all" is finance's (nothing withheld) and "own" a viewer
    of one team whose read keeps only that team's shares, which the daily rollup serves (its
    held parts are what that team's lead is not shown)."""
    ensure_current()
    x = _suffix(col)
    code = "AND currency = %(currency)s" if currency is not None else ""
    keys = "pool, currency, team, model, endpoint"
    columns = (
        "(hour, first_hour, pool, currency, team, model, endpoint, part_a, part_b, withheld, n)"
    )
    if mode in ("all", "own"):
        finance = mode == "all"
        one = "" if finance else "AND team = (%(viewer)s::text[])[1]"
        held = "false" if finance else f"others_{x} = 1"
        day = f" FROM attribution_rollup_share_day WHERE day >= {_D0} AND day < {_D1} {code} {one}"
        if finance:
            days = f"""SELECT day, first_hour, {keys}, cost_{x}, hours_{x}, false, rows_{x}
    {day} AND rows_{x} > 0"""
        else:  # the lead's own shares: the daily rollup keeps the withheld part apart
            days = f"""SELECT day, first_hour, {keys}, cost_{x} - held_cost_{x},
           hours_{x} - held_hours_{x}, false, rows_{x} - held_rows_{x}
    {day} AND rows_{x} > held_rows_{x}
    UNION ALL
    SELECT day, first_hour, {keys}, held_cost_{x}, held_hours_{x}, true, held_rows_{x}
    {day} AND held_rows_{x} > 0"""
        hours = "hour >= %(start)s AND hour < %(end)s" if hourly else _EDGES
        return f"""shares{columns} AS (
    SELECT hour, hour, {keys}, cost_{x}, hours_{x}, {held}, 1
    FROM attribution_rollup_share_hour
    WHERE {hours} AND cost_{x} IS NOT NULL {code} {one}
    {"" if hourly else "UNION ALL " + days}
)"""
    return f"""held AS (
    SELECT hour, pool, currency FROM attribution_rollup_poolteam
    WHERE hour >= %(start)s AND hour < %(end)s {code}
      AND (hour, pool, currency) IN (
        SELECT hour, pool, currency FROM attribution_rollup_poolteam
        WHERE team = ANY(%(viewer)s::text[]) AND hour >= %(start)s AND hour < %(end)s {code})
    GROUP BY hour, pool, currency
    HAVING count(*) FILTER (WHERE positive_{x} AND NOT team = ANY(%(viewer)s::text[])) = 1
), shares{columns} AS (
    SELECT s.hour, s.hour, s.pool, s.currency, s.team, s.model, s.endpoint, s.cost_{x},
           s.hours_{x}, h.hour IS NOT NULL, 1
    FROM attribution_rollup_share_hour s
    LEFT JOIN held h ON h.hour = s.hour AND h.pool = s.pool AND h.currency = s.currency
    WHERE s.hour >= %(start)s AND s.hour < %(end)s AND s.cost_{x} IS NOT NULL
      {"AND s.currency = %(currency)s" if currency is not None else ""}
)"""


def withheld_sql(basis_col: str, currency: str | None, viewer: list[str]) -> str:
    """The pool-hours (hour, pool, currency) of [%(start)s, %(end)s) withheld from `viewer`:
    those the viewer's teams used (any usage line) and exactly one other team used (a positive
    usage cost under the basis). Bind %(viewer)s."""
    ensure_current()
    x = _suffix(basis_col)
    code = "AND currency = %(currency)s" if currency is not None else ""
    if len(viewer) == 1:
        return f"""SELECT hour, pool, currency FROM attribution_rollup_poolteam
            WHERE team = (%(viewer)s::text[])[1] AND others_{x} = 1
              AND hour >= %(start)s AND hour < %(end)s {code}"""
    return f"""SELECT hour, pool, currency FROM attribution_rollup_poolteam
        WHERE hour >= %(start)s AND hour < %(end)s {code}
          AND (hour, pool, currency) IN (
            SELECT hour, pool, currency FROM attribution_rollup_poolteam
            WHERE team = ANY(%(viewer)s::text[]) AND hour >= %(start)s AND hour < %(end)s {code})
        GROUP BY hour, pool, currency
        HAVING count(*) FILTER (WHERE positive_{x} AND NOT team = ANY(%(viewer)s::text[])) = 1"""
