"""The measured baseline a what-if starts from: one scope's cost, GPU-hours, utilization and
tokens over a base period, read straight from Allocation and UsageRollup.

Everything is scaled to a 30-day month: monthly = amount over the period x 30 / days in the
period. The reader's access scope (costapp.core.access) is applied here: finance reads every
row; anyone else only the attributed rows (usage and shared lines) of their own teams, so a
lead's baseline never holds idle, unallocated or another team's cost.

The reads are our own set-based SQL (grouped sums in Postgres, no row loop in Python). Every
per-hour, per-hour-of-week, GPU-type and currency read sums the allocation rollups
(costapp.attribution.rollups), which hold exactly those sums. The totals alone read the raw
allocation rows: the fully loaded cost divides each usage row's cost by that row's own
utilization, which no sum over rows of different utilizations gives back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection

from costapp.attribution import rollups
from costapp.core.access import Scope
from costapp.money import ZERO

from .levers import ratio

MONTH_DAYS = Decimal(30)
HOURS_PER_MONTH = MONTH_DAYS * 24
MILLION = Decimal(1_000_000)
# An hour of the week whose busy share of the measured GPU-hours stays below this over the
# period is "idle through the night/weekend": capacity that could be scaled to zero then.
OFF_HOURS_UTILIZATION = Decimal("0.05")
# Lines whose cost is GPU capacity (what the levers act on); "shared" lines are the rest.
BUSY_KINDS = ("usage", "unallocated")
GPU_KINDS = ("usage", "unallocated", "idle", "unmeasured")
# FOCUS PricingCategory -> the pricing mix the page shows.
PRICING = {"Committed": "commitment", "Dynamic": "spot", "Standard": "on-demand", "": "on-demand"}


@dataclass(frozen=True)
class WhatIfScope:
    """What to simulate: the organisation (all blank), or one team, model, endpoint or pool
    (several narrow together)."""

    team: str = ""
    model: str = ""
    endpoint: str = ""
    pool: str = ""

    def as_params(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


@dataclass(frozen=True)
class Baseline:
    """The scope's measured month. Money in `currency`; monthly figures are scaled to 30 days."""

    scope: WhatIfScope
    start: datetime
    end: datetime
    currency: str
    monthly_cost: Decimal  # amortized, every line in scope
    monthly_billed_cost: Decimal
    gpu_cost: Decimal  # monthly amortized cost of GPU lines (busy, idle, unmeasured)
    busy_cost: Decimal  # monthly, usage and unallocated lines
    idle_cost: Decimal  # monthly
    unmeasured_cost: Decimal  # monthly
    other_cost: Decimal  # monthly shared (non-GPU) lines
    # Monthly: each usage line with its share of its resource-hour's idle (cost / utilization,
    # the share-idle view), plus shared lines: what the scope's use costs, idle included.
    loaded_cost: Decimal
    gpu_hours: Decimal  # monthly
    busy_gpu_hours: Decimal  # monthly
    mean_utilization: Decimal | None  # busy GPU-hours / measured GPU-hours
    peak_hour_utilization: Decimal | None  # the busiest hour's busy / measured GPU-hours
    steady_share: Decimal  # the lowest hour's GPU cost x hours / GPU cost: what runs always
    input_tokens: int  # monthly
    output_tokens: int
    requests: int
    cache_hits: int  # over the period, from the request logs
    logged_requests: int  # the requests those logs hold over the period
    pricing_mix: dict[str, Decimal] = field(default_factory=dict)  # category -> monthly cost
    gpu_types: tuple[str, ...] = ()
    # Hours of the week (ISO weekday 1-7, UTC hour) whose capacity sat nearly all idle over the
    # period (utilization below OFF_HOURS_UTILIZATION), their idle GPU-hours (over the period)
    # and every idle GPU-hour: what scaling to zero through nights and weekends would remove.
    off_hours: tuple[tuple[int, int], ...] = ()
    off_hours_idle_gpu_hours: Decimal = ZERO
    idle_gpu_hours: Decimal = ZERO

    @property
    def off_hours_idle_share(self) -> Decimal | None:
        return ratio(self.off_hours_idle_gpu_hours, self.idle_gpu_hours)

    @property
    def days(self) -> Decimal:
        return Decimal((self.end - self.start) // timedelta(hours=1)) / 24

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def cache_hit_share(self) -> Decimal | None:
        return ratio(Decimal(self.cache_hits), Decimal(self.logged_requests))

    @property
    def gpus(self) -> Decimal:
        """GPUs running on average over the month."""
        return self.gpu_hours / HOURS_PER_MONTH

    @property
    def cost_per_1m_tokens(self) -> Decimal | None:
        """Fully loaded: every line in scope over every token."""
        return per_million(self.monthly_cost, self.tokens)

    @property
    def loaded_cost_per_1m_tokens(self) -> Decimal | None:
        """The use's cost with its share of idle: comparable across models and scopes."""
        return per_million(self.loaded_cost, self.tokens)

    @property
    def busy_cost_per_1m_tokens(self) -> Decimal | None:
        return per_million(self.busy_cost, self.tokens)

    @property
    def on_demand_share(self) -> Decimal:
        return ratio(self.pricing_mix.get("on-demand", ZERO), self.monthly_cost) or ZERO


def per_million(cost: Decimal, tokens: int) -> Decimal | None:
    return None if tokens <= 0 else cost * MILLION / tokens


def _where(scope: Scope, what: WhatIfScope, *, alias: str = "a") -> tuple[str, list]:
    clauses, params = [], []
    if not scope.whole_company:
        clauses.append(f"{alias}.team = ANY(%s) AND {alias}.kind IN ('usage', 'shared')")
        params.append(list(scope.teams or ()))
    for column in ("team", "model", "endpoint", "pool"):
        value = getattr(what, column)
        if value:
            clauses.append(f"{alias}.{column} = %s")
            params.append(value)
    return "".join(f" AND {c}" for c in clauses), params


_TOTALS = """
SELECT a.kind, a.pricing_category, sum(a.amortized_cost), sum(a.billed_cost), sum(a.gpu_hours),
       sum(a.requests), sum(a.input_tokens), sum(a.output_tokens),
       sum(CASE WHEN a.utilization > 0 THEN a.amortized_cost / a.utilization
                ELSE a.amortized_cost END) FILTER (WHERE a.kind = 'usage')
FROM attribution_allocation a
WHERE a.hour >= %s AND a.hour < %s AND a.currency = %s{where}
GROUP BY a.kind, a.pricing_category
"""

# From here on `{lines}` is a rollup subquery (costapp.attribution.rollups.lines) and the
# parameters are named: %(start)s, %(end)s, %(currency)s and _named_where's.
_HOURS = """
SELECT max(busy / measured), min(gpu_cost), count(*)
FROM (
    SELECT sum(a.gpu_hours) FILTER (WHERE a.kind IN ('usage', 'unallocated')) AS busy,
           nullif(sum(a.gpu_hours) FILTER (WHERE a.kind IN ('usage', 'unallocated', 'idle')), 0)
               AS measured,
           sum(a.amortized_cost) FILTER (WHERE a.kind <> 'shared') AS gpu_cost
    FROM {lines} a
    WHERE a.hour >= %(start)s AND a.hour < %(end)s AND a.currency = %(currency)s{where}
    GROUP BY a.hour
) per_hour
"""

# Per hour of the week (ISO weekday, UTC hour): busy, measured and idle GPU-hours.
_WEEK = """
SELECT extract(isodow FROM a.hour)::int, extract(hour FROM a.hour)::int,
       coalesce(sum(a.gpu_hours) FILTER (WHERE a.kind IN ('usage', 'unallocated')), 0),
       coalesce(sum(a.gpu_hours) FILTER (WHERE a.kind IN ('usage', 'unallocated', 'idle')), 0),
       coalesce(sum(a.gpu_hours) FILTER (WHERE a.kind = 'idle'), 0)
FROM {lines} a
WHERE a.hour >= %(start)s AND a.hour < %(end)s AND a.currency = %(currency)s{where}
GROUP BY 1, 2
ORDER BY 1, 2
"""

# The GPU type each allocation was computed with (the inventory version in force at its hour;
# gpu_counted: the allocation's gpu_count was set).
_GPU_TYPES = """
SELECT DISTINCT a.gpu_type
FROM {lines} a
WHERE a.hour >= %(start)s AND a.hour < %(end)s AND a.currency = %(currency)s
      AND a.kind <> 'shared' AND a.gpu_counted AND a.gpu_type <> ''{where}
ORDER BY 1
"""

_CURRENCIES = """
SELECT a.currency FROM {lines} a
WHERE a.hour >= %(start)s AND a.hour < %(end)s{where}
GROUP BY a.currency ORDER BY sum(a.amortized_cost) DESC, a.currency
"""

# Cache hits come from the request rollups (the allocations do not carry them); a pool scope
# joins the rollups' resource, in the inventory version in force at the hour, to its pool.
_CACHE = """
SELECT coalesce(sum(u.cache_hits), 0), coalesce(sum(u.requests), 0)
FROM ingest_usagerollup u
LEFT JOIN ingest_gpuresource r ON r.resource_id = u.resource_id
     AND (r.effective_from IS NULL OR r.effective_from <= u.hour)
     AND (r.effective_to IS NULL OR r.effective_to > u.hour)
LEFT JOIN ingest_gpupool p ON p.id = r.pool_id
WHERE u.hour >= %s AND u.hour < %s{where}
"""


def currencies(scope: Scope, what: WhatIfScope, start: datetime, end: datetime) -> list[str]:
    """The scope's currencies in the period, biggest first."""
    where, params = _named_where(scope, what)
    with connection.cursor() as cursor:
        sql = _CURRENCIES.format(lines=rollups.lines(), where=where)
        cursor.execute(sql, {"start": start, "end": end, **params})
        return [row[0] for row in cursor.fetchall()]


def _named_where(scope: Scope, what: WhatIfScope) -> tuple[str, dict]:
    """`_where` with named parameters (%(w0)s, ...), beside the rollups' %(start)s, %(end)s."""
    where, params = _where(scope, what)
    parts = where.split("%s")
    names = [f"w{i}" for i in range(len(params))]
    text = parts[0] + "".join(f"%({n})s{part}" for n, part in zip(names, parts[1:], strict=True))
    return text, dict(zip(names, params, strict=True))


def _cache_where(scope: Scope, what: WhatIfScope) -> tuple[str, list]:
    clauses, params = [], []
    if not scope.whole_company:
        clauses.append("u.team = ANY(%s)")
        params.append(list(scope.teams or ()))
    for column in ("team", "model", "endpoint"):
        if getattr(what, column):
            clauses.append(f"u.{column} = %s")
            params.append(getattr(what, column))
    if what.pool:
        clauses.append("p.name = %s")
        params.append(what.pool)
    return "".join(f" AND {c}" for c in clauses), params


def measure(
    scope: Scope, what: WhatIfScope, start: datetime, end: datetime, currency: str
) -> Baseline:
    """The baseline of `what` over [start, end) in `currency`, as `scope` may see it."""
    where, params = _where(scope, what)
    window = [start, end, currency, *params]
    with connection.cursor() as cursor:
        cursor.execute(_TOTALS.format(where=where), window)
        totals = cursor.fetchall()
        named, named_params = _named_where(scope, what)
        hourly, daily = rollups.lines(hourly=True), rollups.lines()
        rolled = {"start": start, "end": end, "currency": currency, **named_params}
        cursor.execute(_HOURS.format(lines=hourly, where=named), rolled)
        peak, lowest_hour, hours_seen = cursor.fetchone()
        cursor.execute(_WEEK.format(lines=hourly, where=named), rolled)
        week = cursor.fetchall()
        cursor.execute(_GPU_TYPES.format(lines=daily, where=named), rolled)
        gpu_types = tuple(row[0] for row in cursor.fetchall())
        cache_where, cache_params = _cache_where(scope, what)
        cursor.execute(_CACHE.format(where=cache_where), [start, end, *cache_params])
        cache_hits, cache_requests = cursor.fetchone()

    hours = (end - start) // timedelta(hours=1)
    scale = MONTH_DAYS * 24 / hours  # period -> 30 days

    def monthly(value) -> Decimal:
        return Decimal(value or 0) * scale

    sums: dict[str, Decimal] = {}
    mix: dict[str, Decimal] = {}
    amortized = billed = gpu_hours = busy_hours = measured_hours = ZERO
    requests = input_tokens = output_tokens = 0
    loaded = ZERO
    for kind, category, cost, bill, hours_used, reqs, tokens_in, tokens_out, grossed in totals:
        loaded += (grossed or ZERO) + (cost if kind == "shared" else ZERO)
        sums[kind] = sums.get(kind, ZERO) + cost
        label = PRICING.get(category, category.lower() or "on-demand")
        mix[label] = mix.get(label, ZERO) + monthly(cost)
        amortized += cost
        billed += bill
        if kind in GPU_KINDS:
            gpu_hours += hours_used
        if kind in BUSY_KINDS:
            busy_hours += hours_used
        if kind in (*BUSY_KINDS, "idle"):
            measured_hours += hours_used
        requests += reqs
        input_tokens += tokens_in
        output_tokens += tokens_out
    gpu_cost = sum((v for k, v in sums.items() if k in GPU_KINDS), ZERO)
    # At most 168 rows: the hours of the week, already summed in SQL.
    off = [(d, h, idle) for d, h, busy, measured, idle in week
           if measured > 0 and idle > 0 and busy / measured < OFF_HOURS_UTILIZATION]  # fmt: skip
    # An hour with no GPU line in the period counts as zero: then nothing runs "always".
    lowest = (lowest_hour or ZERO) if hours_seen == hours else ZERO
    return Baseline(
        scope=what,
        start=start,
        end=end,
        currency=currency,
        monthly_cost=monthly(amortized),
        monthly_billed_cost=monthly(billed),
        gpu_cost=monthly(gpu_cost),
        busy_cost=monthly(sum((sums.get(k, ZERO) for k in BUSY_KINDS), ZERO)),
        idle_cost=monthly(sums.get("idle")),
        unmeasured_cost=monthly(sums.get("unmeasured")),
        other_cost=monthly(sums.get("shared")),
        loaded_cost=monthly(loaded),
        gpu_hours=monthly(gpu_hours),
        busy_gpu_hours=monthly(busy_hours),
        mean_utilization=ratio(busy_hours, measured_hours),
        peak_hour_utilization=None if peak is None else Decimal(peak),
        steady_share=min(ratio(lowest * hours, gpu_cost) or ZERO, Decimal(1)),
        input_tokens=int(monthly(input_tokens)),
        output_tokens=int(monthly(output_tokens)),
        requests=int(monthly(requests)),
        cache_hits=cache_hits,
        logged_requests=cache_requests,
        pricing_mix=mix,
        gpu_types=gpu_types,
        off_hours=tuple((d, h) for d, h, _ in off),
        off_hours_idle_gpu_hours=sum((idle for _, _, idle in off), ZERO),
        idle_gpu_hours=sum((row[4] for row in week), ZERO),
    )
