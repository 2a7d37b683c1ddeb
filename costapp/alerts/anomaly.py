"""Spend anomalies: a day's spend per team or per model far outside its trailing baseline, and
what drove the change.

Method (docs/ARCHITECTURE.md, "Budgets and alerts"): for each of the last LOOKBACK_DAYS complete
UTC days d, the baseline is the `baseline_days` (28) days before d, from the scope's first day
with spend on (zero where nothing was spent; at least MIN_HISTORY_DAYS, else no judgement).
With m the baseline's median and MAD the median of |x_i - m|, the robust z of the day's spend
x is 0.6745 x (x - m) / MAD (Iglewicz and Hoaglin's modified z). MAD = 0 (more than half the
days equal) falls back to the mean absolute deviation: z = (x - m) / (1.253314 x MeanAD); a
constant baseline gives an infinite z for any change, so the floor alone decides. A day fires
when z > threshold (3.5; |z| with direction "both") and |x - m| >= floor ($50): a small scope's
wobble pages nobody.

Driver: the day's change against the baseline's median day B (the baseline day at the median
rank, the lower one for an even count, ties by date) splits exactly into
- new resource: the busy cost of resources with no allocation of this scope in the baseline;
- idle: the change in its share of its pools' idle (fully loaded only);
- tokens (volume): (T1 - T0) x P0, P0 = B's busy cost per token;
- model mix (endpoint mix for a model): sum_m T1_m x p0_m - T1 x P0, with p0_m each model's
  cost per token on B (a model absent from B at its own price: a new model is a mix change);
- cost per token: what remains of the busy change (sum_m T1_m x (p1_m - p0_m), plus cost that
  came with no tokens, such as shared lines).
The largest contribution in the direction of the change names the driver.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from costapp.attribution.idle import cost_column, fetch, idle_ctes, idle_params
from costapp.money import ZERO, quantize

from .findings import Finding, money, report_url
from .models import AlertKind, AlertRule, Idle
from .spend import midnight

THRESHOLD = "3.5"
FLOOR = "50"
BASELINE_DAYS = 28
MIN_HISTORY_DAYS = 7
# Bills arrive up to two days late: a day is judged again until it is this old.
LOOKBACK_DAYS = 3
Z_SCALE = Decimal("0.6745")  # MAD x 1/0.6745 estimates the standard deviation of a normal
MEAN_AD_SCALE = Decimal("1.253314")  # sqrt(pi/2): MeanAD x this estimates it likewise
INFINITE = Decimal("Infinity")
# Whom a scope's spend is split by for the mix term.
SUB_OF = {"team": "model", "model": "endpoint"}
DRIVERS = ("tokens", "cost per token", "mix", "idle", "new resource")


@dataclass
class Day:
    """One scope's day: busy cost and tokens per (model or endpoint, resource), idle share."""

    busy: dict[tuple[str, str], list] = field(default_factory=dict)
    idle: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return sum((cost for cost, _ in self.busy.values()), ZERO) + self.idle


@dataclass(frozen=True)
class Score:
    median: Decimal
    spread: Decimal  # MAD, or MeanAD when MAD is 0
    z: Decimal  # +-Infinity for a change against a constant baseline
    method: str


def median(values: list[Decimal]) -> Decimal:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def robust_z(x: Decimal, baseline: list[Decimal]) -> Score:
    """The modified z of `x` against `baseline` (see the module's docstring)."""
    middle = median(baseline)
    deviations = [abs(v - middle) for v in baseline]
    mad = median(deviations)
    change = x - middle
    if mad > 0:
        return Score(middle, mad, Z_SCALE * change / mad, "MAD")
    mean_ad = sum(deviations, ZERO) / len(deviations)
    if mean_ad > 0:
        return Score(middle, mean_ad, change / (MEAN_AD_SCALE * mean_ad), "mean absolute deviation")
    z = ZERO if change == 0 else INFINITE.copy_sign(change)
    return Score(middle, ZERO, z, "constant baseline")


def _by_sub(day: Day, known: set[str] | None) -> tuple[dict, dict, Decimal, list[str]]:
    """Cost and tokens per model (or endpoint), leaving out resources not `known`."""
    cost: dict[str, Decimal] = defaultdict(lambda: ZERO)
    tokens: dict[str, int] = defaultdict(int)
    new, names = ZERO, set()
    for (sub, resource), (amount, count) in day.busy.items():
        if known is not None and resource not in known:
            new += amount
            names.add(resource)
            continue
        cost[sub] += amount
        tokens[sub] += count
    return cost, tokens, new, sorted(names)


def decompose(day: Day, base: Day, known: set[str]) -> tuple[dict[str, Decimal], list[str]]:
    """The change day - base split into DRIVERS (summing to it up to 1E-10 per term), and the
    new resources' ids."""
    c1, t1, new, names = _by_sub(day, known)
    c0, t0, _, _ = _by_sub(base, None)
    tokenised1 = sum((c1[m] for m in c1 if t1[m] > 0), ZERO)
    tokenised0 = sum((c0[m] for m in c0 if t0[m] > 0), ZERO)
    untokened = sum((c1[m] for m in c1 if t1[m] == 0), ZERO) - sum(
        (c0[m] for m in c0 if t0[m] == 0), ZERO
    )
    total1, total0 = sum(t1.values()), sum(t0.values())
    if total0 > 0:
        price0 = tokenised0 / total0
        volume = (total1 - total0) * price0
        at_old = sum(
            (t1[m] * (c0[m] / t0[m] if t0[m] > 0 else c1[m] / t1[m]) for m in t1 if t1[m] > 0),
            ZERO,
        )
        mix = at_old - total1 * price0
    else:  # nothing to price the baseline by: all the day's tokenised cost is new volume
        volume, mix = tokenised1, ZERO
    price = (tokenised1 - tokenised0) - volume - mix + untokened
    parts = {
        "tokens": volume,
        "cost per token": price,
        "mix": mix,
        "idle": day.idle - base.idle,
        "new resource": new,
    }
    return {name: quantize(value) for name, value in parts.items()}, names


def driver(parts: dict[str, Decimal], change: Decimal) -> str:
    """The largest contribution in the direction of the change (ties: DRIVERS' order)."""
    sign = 1 if change >= 0 else -1
    return max(DRIVERS, key=lambda name: (sign * parts[name], -DRIVERS.index(name)))


# Busy cost and tokens per day, scope value, model or endpoint and resource; and, fully loaded,
# the scope's share of its pools' idle per day (costapp.attribution.idle, share-idle).
_BUSY = """
SELECT (date_trunc('day', hour))::date AS day, {scope} AS key, {sub} AS sub, resource_id,
       sum({col}) AS cost, sum(input_tokens + output_tokens) AS tokens, 'busy' AS part
FROM attribution_allocation
WHERE kind IN ('usage', 'shared') AND team <> '' AND {scope} <> '' {value}
  AND hour >= %(start)s AND hour < %(end)s AND currency = %(currency)s
GROUP BY 1, 2, 3, 4"""
_IDLE = """
UNION ALL
SELECT (date_trunc('day', hour))::date, {scope}, '', '', sum(part_a), 0, 'idle'
FROM shares WHERE NOT withheld AND {scope} <> '' {value}
GROUP BY 1, 2"""


def load(rule: AlertRule, params: dict, start: datetime, end: datetime) -> dict[str, dict]:
    """Each scope value's Days over [start, end)."""
    scope = rule.scope_kind
    col = cost_column(params["basis"])
    value = f"AND {scope} = %(value)s" if rule.scope_value else ""
    fields = {"scope": scope, "sub": SUB_OF[scope], "col": col, "value": value}
    sql = _BUSY.format(**fields)
    params_sql = {"start": start, "end": end, "currency": params["currency"]}
    if params["idle"] == Idle.FULLY_LOADED:
        sql = f"WITH {idle_ctes(col, params['currency'], None)}" + sql + _IDLE.format(**fields)
        params_sql = idle_params(start, end, params["basis"], params["currency"], None)
    params_sql["value"] = rule.scope_value
    days: dict[str, dict[date, Day]] = defaultdict(lambda: defaultdict(Day))
    for row in fetch(sql, params_sql):
        entry = days[row["key"]][row["day"]]
        if row["part"] == "idle":
            entry.idle += row["cost"]
            continue
        slot = entry.busy.setdefault((row["sub"], row["resource_id"]), [ZERO, 0])
        slot[0] += row["cost"]
        slot[1] += int(row["tokens"])
    return days


@dataclass(frozen=True)
class Judgement:
    day: date
    spend: Decimal
    score: Score
    baseline_days: int
    median_day: date
    parts: dict[str, Decimal]
    new_resources: list[str]
    driver: str


def judge(per_day: dict[date, Day], day: date, params: dict) -> Judgement | None:
    """The anomaly of one scope on `day`, or None when within its baseline or too young."""
    first_seen = min(per_day)
    span = params["baseline_days"]
    base_days = [
        day - timedelta(days=i) for i in range(span, 0, -1) if day - timedelta(days=i) >= first_seen
    ]
    if len(base_days) < MIN_HISTORY_DAYS:
        return None
    empty = Day()
    totals = {b: per_day.get(b, empty).total for b in base_days}
    spend = per_day.get(day, empty).total
    score = robust_z(spend, list(totals.values()))
    change = spend - score.median
    threshold, floor = Decimal(params["threshold"]), Decimal(params["floor"])
    if params["direction"] == "up":
        past = score.z > threshold and change >= floor
    else:
        past = abs(score.z) > threshold and abs(change) >= floor
    if not past:
        return None
    ranked = sorted(base_days, key=lambda b: (totals[b], b))
    median_day = ranked[(len(ranked) - 1) // 2]
    known = {res for b in base_days for _, res in per_day.get(b, empty).busy}
    parts, names = decompose(per_day.get(day, empty), per_day.get(median_day, empty), known)
    return Judgement(
        day, spend, score, len(base_days), median_day, parts, names, driver(parts, change)
    )


def _z_text(z: Decimal) -> str:
    return "unbounded (constant baseline)" if z.is_infinite() else f"{z:.1f}"


def findings(rule: AlertRule, params: dict, now: datetime) -> list[Finding]:
    today = now.astimezone(UTC).date()
    days = [today - timedelta(days=i) for i in range(LOOKBACK_DAYS, 0, -1)]
    start = midnight(days[0] - timedelta(days=params["baseline_days"]))
    data = load(rule, params, start, midnight(today))
    found = []
    for key, per_day in sorted(data.items()):
        for day in days:
            verdict = judge(per_day, day, params)
            if verdict is not None:
                found.append(_finding(rule, params, key, verdict))
    return found


def _label(name: str, scope_kind: str, new: list[str]) -> str:
    if name == "mix":
        return f"{SUB_OF[scope_kind]} mix"
    if name == "new resource" and new:
        shown = ", ".join(new[:3]) + (f" and {len(new) - 3} more" if len(new) > 3 else "")
        return f"new resource ({shown})"
    return name


def _signed(amount: Decimal, currency: str) -> str:
    return ("+" if amount >= 0 else "") + money(amount, currency)


def _finding(rule: AlertRule, params: dict, key: str, v: Judgement) -> Finding:
    cur = params["currency"]
    scope = f"{rule.scope_kind}={key}"
    change = v.spend - v.score.median
    name = _label(v.driver, rule.scope_kind, v.new_resources)
    direction = "above" if change >= 0 else "below"
    start = midnight(v.day)
    ordered = sorted(DRIVERS, key=lambda n: -abs(v.parts[n]))
    drivers = [
        (_label(n, rule.scope_kind, v.new_resources), v.parts[n]) for n in ordered if v.parts[n]
    ]
    against_b = v.spend - sum(v.parts.values(), ZERO)
    return Finding(
        scope=scope,
        kind=AlertKind.ANOMALY,
        window_start=start,
        window_end=start + timedelta(days=1),
        summary=f"{scope} {money(v.spend, cur)} on {v.day} (driver: {name})",
        headline=(
            f"Spend of {scope} on {v.day} was {money(v.spend, cur)}, far {direction} its "
            f"{v.baseline_days}-day median of {money(v.score.median, cur)}; driver: {name} "
            f"({_signed(v.parts[v.driver], cur)})"
        ),
        currency=cur,
        observed=v.spend,
        reference=v.score.median,
        severity=abs(change),
        lines=[
            ("Spend", f"{money(v.spend, cur)} on {v.day} (UTC)"),
            (
                "Baseline",
                f"median {money(v.score.median, cur)} over {v.baseline_days} days "
                f"({v.score.method} {money(v.score.spread, cur)})",
            ),
            ("Robust z", f"{_z_text(v.score.z)} (threshold {params['threshold']})"),
            (
                "Driver",
                f"{name}: {_signed(v.parts[v.driver], cur)} of the "
                f"{_signed(v.spend - against_b, cur)} change against the median day "
                f"{v.median_day} ({money(against_b, cur)})",
            ),
        ],
        values={
            "spend": str(v.spend),
            "median": str(v.score.median),
            "spread": str(v.score.spread),
            "method": v.score.method,
            "z": str(v.score.z),
            "driver": v.driver,
            "median_day": str(v.median_day),
            "new_resources": ",".join(v.new_resources),
            **{f"change_{n.replace(' ', '_')}": str(v.parts[n]) for n in DRIVERS},
        },
        drivers=drivers,
        url=report_url(rule.scope_kind, start, start + timedelta(days=1), "day"),
    )
