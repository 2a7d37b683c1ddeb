"""Exact largest-remainder split in SQL, the set-based twin of costapp.money.split.

`largest_remainder(source, group, order)` returns SQL (CTEs to append after a CTE named by
`source`) that splits each group's `amount_a` and `amount_b` across its rows in proportion to
`weight`, at the 1E-10 quantum:

- units = |amount| x 1E10 is an exact integer (amounts are NUMERIC(28,10));
- each row gets floor(units x weight / total) quanta, computed with div()/mod(), which are exact
  on NUMERIC (plain "/" rounds to a finite scale and could round a share up);
- the leftover quanta go one each to the rows with the largest remainders, ties to the earlier
  row in `order` — exactly what money.split does for the same weights in the same order;
- a negative amount (a credit) splits its magnitude and takes the sign back.

Every group must have a positive weight total; callers filter the others out first.
The final CTE, `lr`, has every source column plus weight_total, part_a and part_b.
"""

from __future__ import annotations


def largest_remainder(source: str, group: str, order: str) -> str:
    return f"""
lr_units AS (
    SELECT s.*, sum(s.weight) OVER (PARTITION BY {group}) AS weight_total,
           abs(s.amount_a) * 10000000000 AS units_a,
           abs(s.amount_b) * 10000000000 AS units_b
    FROM {source} s
), lr_floor AS (
    SELECT u.*,
           div(u.units_a * u.weight, u.weight_total) AS floor_a,
           mod(u.units_a * u.weight, u.weight_total) AS rem_a,
           div(u.units_b * u.weight, u.weight_total) AS floor_b,
           mod(u.units_b * u.weight, u.weight_total) AS rem_b
    FROM lr_units u
), lr_rank AS (
    SELECT f.*,
           f.units_a - sum(f.floor_a) OVER (PARTITION BY {group}) AS left_a,
           f.units_b - sum(f.floor_b) OVER (PARTITION BY {group}) AS left_b,
           row_number() OVER (PARTITION BY {group} ORDER BY f.rem_a DESC, {order}) AS rank_a,
           row_number() OVER (PARTITION BY {group} ORDER BY f.rem_b DESC, {order}) AS rank_b
    FROM lr_floor f
), lr AS (
    SELECT r.*,
           sign(r.amount_a) * (r.floor_a + (r.rank_a <= r.left_a)::int) * 0.0000000001 AS part_a,
           sign(r.amount_b) * (r.floor_b + (r.rank_b <= r.left_b)::int) * 0.0000000001 AS part_b
    FROM lr_rank r
)"""


def largest_remainder_grouped(source: str, group: str, order: str) -> str:
    """The same split for a source whose rows already carry their group's figures: `weight`,
    `weight_total` (the group's sum of weight, positive), `units_a` / `units_b` (|amount| x 1E10
    as scale-0 integers) and `sign_a` / `sign_b`. `group` is best one integer column.

    Same parts as `largest_remainder`, for less work on big splits: no window pass for the
    totals, each division done once (the remainder is x - floor x total; OFFSET 0 keeps the
    planner from inlining, and so re-evaluating, those columns in every window), and two sorts,
    one per basis, on a narrow key. The final CTE, `lr`, has every source column plus part_a
    and part_b.
    """
    return f"""
lr_floor AS (
    SELECT s.*, s.weight * s.units_a AS x_a, s.weight * s.units_b AS x_b,
           div(s.weight * s.units_a, s.weight_total) AS floor_a,
           div(s.weight * s.units_b, s.weight_total) AS floor_b
    FROM {source} s OFFSET 0
), lr_rank AS (
    SELECT f.*,
           f.units_a - sum(f.floor_a) OVER lr_group AS left_a,
           f.units_b - sum(f.floor_b) OVER lr_group AS left_b,
           row_number() OVER (PARTITION BY {group}
                              ORDER BY f.x_a - f.floor_a * f.weight_total DESC, {order}) AS rank_a,
           row_number() OVER (PARTITION BY {group}
                              ORDER BY f.x_b - f.floor_b * f.weight_total DESC, {order}) AS rank_b
    FROM lr_floor f WINDOW lr_group AS (PARTITION BY {group})
), lr AS (
    SELECT r.*,
           r.sign_a * (r.floor_a + (r.rank_a <= r.left_a)::int) * 0.0000000001 AS part_a,
           r.sign_b * (r.floor_b + (r.rank_b <= r.left_b)::int) * 0.0000000001 AS part_b
    FROM lr_rank r
)"""


def largest_remainder_splits(
    source: str, group: str, order: str, splits: dict[str, tuple[str, str, str, str]]
) -> str:
    """Several splits of one source in one pass, for amounts split by different weights over
    the same rows: `splits` maps a name to its (weight, total, units, sign) columns of
    `source`, as `largest_remainder_grouped` takes them; a NULL total skips that split (its
    part is NULL). The final CTE, `lr`, has every source column plus part_<name> per split.

    Each split's parts are those `largest_remainder_grouped` gives for it alone (same floors,
    same remainders, same tie order); what one pass saves is the extra joins and the window
    pass per split.
    """
    floors = ", ".join(
        f"s.{w} * s.{u} AS x_{n}, div(s.{w} * s.{u}, s.{t}) AS floor_{n}"
        for n, (w, t, u, _) in splits.items()
    )
    ranks = ", ".join(
        f"f.{u} - sum(f.floor_{n}) OVER lr_group AS left_{n},"
        f" row_number() OVER (PARTITION BY {group}"
        f" ORDER BY f.x_{n} - f.floor_{n} * f.{t} DESC, {order}) AS rank_{n}"
        for n, (_, t, u, _) in splits.items()
    )
    parts = ", ".join(
        f"r.{s} * (r.floor_{n} + (r.rank_{n} <= r.left_{n})::int) * 0.0000000001 AS part_{n}"
        for n, (_, _, _, s) in splits.items()
    )
    return f"""
lr_floor AS (
    SELECT s.*, {floors} FROM {source} s OFFSET 0
), lr_rank AS (
    SELECT f.*, {ranks} FROM lr_floor f WINDOW lr_group AS (PARTITION BY {group})
), lr AS (
    SELECT r.*, {parts} FROM lr_rank r
)"""
