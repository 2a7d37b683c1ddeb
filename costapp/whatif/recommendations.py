"""Recommendations found in the data, each priced by the simulator itself.

`refresh()` (the nightly task) measures the last 30 days of data as finance sees them, finds
what the levers would act on, and prices each finding by running the simulator query it links
to (costapp.whatif.service.evaluate, over the scope a reader of that link gets), so the saving
shown is the saving the link opens. What it looks for:

- a pool whose mean utilization is under UTILIZATION_LEVEL: consolidate to its own peak-hour
  utilization, or move it to another priced GPU type, whichever saves more;
- a pool whose steady cost (its lowest hour, every hour) is more than its committed cost:
  commit the uncovered steady share;
- a pool idle through hours of the week (nights, weekends): scale to zero then;
- a team's endpoint whose logs show at least CACHE_LEVEL of cache hits (repeated prompts):
  cache at that rate;
- a model whose cost per 1M tokens (with its share of idle) is FAR_ABOVE times the median of
  its peers': for each team running it, quantize to FP8 or route ROUTE_SHARE of its requests to
  a cheaper model the team runs or a hosted API, whichever saves more.

A recommendation's key is kind + subject + a hash of its evidence: re-running replaces the open
one with the same key, drops the open ones the data no longer shows, and never writes again a
key that was dismissed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from statistics import median
from urllib.parse import urlencode

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from costapp.attribution.query import QueryError
from costapp.core.access import Scope
from costapp.core.limits import check_text

from . import prices
from .baseline import Baseline, WhatIfScope, currencies, measure
from .models import Recommendation, RecommendationKind
from .params import DAY, WhatIfRequest, parse
from .service import _last_hour, evaluate

UTILIZATION_LEVEL = Decimal("0.5")
CACHE_LEVEL = Decimal("0.1")
FAR_ABOVE = Decimal(2)
ROUTE_SHARE = Decimal("0.3")  # an assumption, shown in the link: the "simple" requests
QUANTIZE_TO = "fp8"
MIN_SAVING = Decimal(1)  # per month: below this a finding is noise, not a recommendation
REASON_MAX = 500
FOUR = Decimal("0.0001")
FINANCE = Scope(teams=None, finance=True)
Kind = RecommendationKind


class NotVisible(Exception):
    """The reader may not see this recommendation (answered as one that does not exist)."""


@dataclass(frozen=True)
class Finding:
    kind: str
    scope: WhatIfScope
    title: str
    levers: dict[str, str]
    evidence: dict


@dataclass(frozen=True)
class Priced:
    finding: Finding
    query: str
    saving: Decimal
    currency: str


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    currency: str

    @property
    def params(self) -> dict[str, str]:
        return {"start": self.start.date().isoformat(),
                "end": (self.end - DAY).date().isoformat(), "currency": self.currency}  # fmt: skip


def _num(value: Decimal | None, places: str = "0.0001") -> str | None:
    return None if value is None else str(value.quantize(Decimal(places)))


def _period() -> Period | None:
    last = _last_hour(FINANCE)
    if last is None:
        return None
    start, end = WhatIfRequest().window(last)
    found = currencies(FINANCE, WhatIfScope(), start, end)
    return Period(start, end, found[0]) if found else None


def _names(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


_POOLS = """
SELECT DISTINCT pool FROM attribution_allocation
WHERE hour >= %s AND hour < %s AND currency = %s AND pool <> '' AND kind <> 'shared'
ORDER BY 1
"""
_TEAM_MODELS = """
SELECT DISTINCT team, model FROM attribution_allocation
WHERE hour >= %s AND hour < %s AND currency = %s AND kind = 'usage' AND team <> ''
      AND model <> ''
ORDER BY 1, 2
"""
_CACHED = """
SELECT team, endpoint, sum(cache_hits), sum(requests) FROM ingest_usagerollup
WHERE hour >= %s AND hour < %s AND team <> '' AND endpoint <> ''
GROUP BY team, endpoint HAVING sum(requests) > 0
ORDER BY 1, 2
"""


def _base_evidence(base: Baseline) -> dict:
    return {
        "period": {"start": base.start.isoformat(), "end": base.end.isoformat(),
                   "days": _num(base.days, "0.01")},
        "monthly_gpu_cost": _num(base.gpu_cost, "0.01"),
        "monthly_gpu_hours": _num(base.gpu_hours, "0.01"),
    }  # fmt: skip


def _pool_findings(pool: str, period: Period) -> Iterable[Finding]:
    what = WhatIfScope(pool=pool)
    base = measure(FINANCE, what, period.start, period.end, period.currency)
    common = _base_evidence(base)
    util, peak = base.mean_utilization, base.peak_hour_utilization
    if util is not None and util < UTILIZATION_LEVEL:
        evidence = {**common, "mean_utilization": _num(util), "peak_hour_utilization": _num(peak),
                    "monthly_idle_cost": _num(base.idle_cost, "0.01")}  # fmt: skip
        if peak is not None and peak > util:
            yield Finding(Kind.CONSOLIDATE, what, f"Pool {pool} runs at {util:.0%}: consolidate "
                          f"to its peak hour's {peak:.0%}",
                          {"utilization_target": _num(peak)}, evidence)  # fmt: skip
        if len(base.gpu_types) == 1:
            for gpu_type in prices.gpu_types():
                if gpu_type != base.gpu_types[0]:
                    yield Finding(Kind.RIGHT_SIZE, what, f"Pool {pool} runs at {util:.0%}: move "
                                  f"it from {base.gpu_types[0]} to {gpu_type}",
                                  {"rightsize_gpu": gpu_type}, evidence)  # fmt: skip
    committed = base.pricing_mix.get("commitment", Decimal(0))
    on_demand = base.gpu_cost * base.on_demand_share
    uncovered = base.steady_share * base.gpu_cost - committed
    if uncovered > 0 and on_demand > 0:
        share = min(uncovered / on_demand, Decimal(1)).quantize(FOUR)
        yield Finding(Kind.COMMIT, what, f"Pool {pool}: {share:.0%} of its on-demand GPU cost "
                      "runs every hour: commit it",
                      {"commitment_share": str(share)},
                      {**common, "steady_share": _num(base.steady_share),
                       "monthly_committed_cost": _num(committed, "0.01"),
                       "monthly_on_demand_gpu_cost": _num(on_demand, "0.01")})  # fmt: skip
    off = base.off_hours_idle_share
    if off:
        yield Finding(Kind.SCALE_TO_ZERO, what, f"Pool {pool} sits idle {len(base.off_hours)} "
                      "hours a week: scale it to zero then",
                      {"scale_to_zero_share": _num(off)},
                      {**common, "hours_of_week_utc": [f"{d}:{h:02d}" for d, h in base.off_hours],
                       "idle_gpu_hours_then": _num(base.off_hours_idle_gpu_hours, "0.01"),
                       "idle_gpu_hours": _num(base.idle_gpu_hours, "0.01")})  # fmt: skip


def _cache_findings(period: Period) -> Iterable[Finding]:
    for team, endpoint, hits, requests in _names(_CACHED, [period.start, period.end]):
        share = Decimal(hits) / Decimal(requests)
        if share >= CACHE_LEVEL:
            yield Finding(Kind.CACHE, WhatIfScope(team=team, endpoint=endpoint),
                          f"{endpoint} ({team}): {share:.0%} of its requests repeat a prompt",
                          {"caching_hit_rate": _num(share)},
                          {"period": {"start": period.start.isoformat(),
                                      "end": period.end.isoformat()},
                           "cache_hits": int(hits), "requests": int(requests)})  # fmt: skip


def _model_findings(period: Period) -> Iterable[Finding]:
    pairs = _names(_TEAM_MODELS, [period.start, period.end, period.currency])
    costs: dict[str, Decimal] = {}
    for model in sorted({model for _, model in pairs}):
        base = measure(FINANCE, WhatIfScope(model=model), period.start, period.end,
                       period.currency)  # fmt: skip
        if base.loaded_cost_per_1m_tokens is not None:
            costs[model] = base.loaded_cost_per_1m_tokens
    if len(costs) < 2:
        return
    for model, cost in costs.items():
        peers = [c for m, c in costs.items() if m != model]
        typical = Decimal(median(peers))
        if cost < typical * FAR_ABOVE:
            continue
        evidence = {"period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
                    "cost_per_1m_tokens": _num(cost), "peers_median_cost_per_1m": _num(typical),
                    "peers": {m: _num(c) for m, c in costs.items() if m != model}}  # fmt: skip
        for team in sorted(t for t, m in pairs if m == model):
            what = WhatIfScope(team=team, model=model)
            yield Finding(Kind.QUANTIZE, what, f"{model} ({team}) costs {cost / typical:.1f}x "
                          f"its peers per token: quantize it to {QUANTIZE_TO.upper()}",
                          {"quantization": QUANTIZE_TO}, evidence)  # fmt: skip
            cheaper = [m for m, c in costs.items() if c < cost and (team, m) in pairs]
            for target in cheaper:
                yield Finding(Kind.ROUTE, what, f"{model} ({team}) costs {cost / typical:.1f}x "
                              f"its peers per token: route {ROUTE_SHARE:.0%} to {target}",
                              {"routing_share": str(ROUTE_SHARE), "routing_to": target},
                              evidence)  # fmt: skip
            for hosted in prices.hosted_models():
                if hosted.currency == period.currency:
                    yield Finding(Kind.ROUTE, what, f"{model} ({team}) costs {cost / typical:.1f}x "
                                  f"its peers per token: route {ROUTE_SHARE:.0%} to "
                                  f"{hosted.model}",
                                  {"routing_share": str(ROUTE_SHARE),
                                   "routing_api": hosted.model}, evidence)  # fmt: skip


def price(finding: Finding, period: Period) -> Priced | None:
    """The finding's saving as its link computes it, or None when the simulator refuses it."""
    query = {**finding.scope.as_params(), **period.params, **finding.levers}
    request = parse(query)
    scope = FINANCE.narrowed(request.scope.team or None)
    try:
        answer = evaluate(scope, request)
    except QueryError:
        return None  # e.g. no list price for the pool's GPU type
    return Priced(finding, urlencode(query), answer.simulation.total_saving, period.currency)


# Each group offers alternatives for one subject; only the best of a group is recommended.
_GROUPS = {Kind.CONSOLIDATE: "pool", Kind.RIGHT_SIZE: "pool", Kind.QUANTIZE: "model",
           Kind.ROUTE: "model"}  # fmt: skip


def find(period: Period) -> list[Priced]:
    """Every recommendation the period's data supports, priced, the best of each group."""
    findings: list[Finding] = []
    for (pool,) in _names(_POOLS, [period.start, period.end, period.currency]):
        findings.extend(_pool_findings(pool, period))
    findings.extend(_cache_findings(period))
    findings.extend(_model_findings(period))
    best: dict[tuple, Priced] = {}
    for finding in findings:
        priced = price(finding, period)
        if priced is None or priced.saving < MIN_SAVING:
            continue
        group = (_GROUPS.get(finding.kind, finding.kind), finding.scope)
        if group not in best or priced.saving > best[group].saving:
            best[group] = priced
    return list(best.values())


def _hash(evidence: dict) -> str:
    return hashlib.sha256(json.dumps(evidence, sort_keys=True).encode()).hexdigest()


def store(found: list[Priced]) -> int:
    """Write `found` as the open recommendations; returns how many are open now."""
    keep: set[tuple[str, str, str]] = set()
    with transaction.atomic():
        dismissed = set(Recommendation.objects.filter(status=Recommendation.DISMISSED)
                        .values_list("kind", "subject", "evidence_hash"))  # fmt: skip
        for item in found:
            f = item.finding
            key = (str(f.kind), urlencode(f.scope.as_params()), _hash(f.evidence))
            if key in dismissed:
                continue
            keep.add(key)
            Recommendation.objects.update_or_create(
                kind=key[0], subject=key[1], evidence_hash=key[2],
                defaults={"team": f.scope.team, "title": f.title[:500],
                          "monthly_saving": item.saving, "currency": item.currency,
                          "evidence": f.evidence, "query": item.query[:2000]},
            )  # fmt: skip
        stale = [row.pk for row in Recommendation.objects.filter(status=Recommendation.OPEN)
                 if (row.kind, row.subject, row.evidence_hash) not in keep]  # fmt: skip
        Recommendation.objects.filter(pk__in=stale).delete()
    return len(keep)


def refresh() -> int:
    """The nightly run: find, price and store; idempotent."""
    period = _period()
    return store(find(period) if period else [])


def visible(scope: Scope, team: str | None = None) -> QuerySet[Recommendation]:
    """The open recommendations `scope` may see (finance: all; others: their teams'), of one
    team when given."""
    rows = Recommendation.objects.filter(status=Recommendation.OPEN)
    if not scope.whole_company:
        rows = rows.filter(team__in=scope.teams or ())
    if team:
        rows = rows.filter(team=team)
    return rows


def dismiss(scope: Scope, pk: int, reason: str, user) -> Recommendation:
    """Dismiss an open recommendation with a reason; raises NotVisible or QueryError("reason")."""
    reason = (reason or "").strip()
    problem = "is blank (say why)" if not reason else check_text(reason, REASON_MAX)
    if problem:
        raise QueryError("reason", problem)
    row = visible(scope).filter(pk=pk).first()
    if row is None:
        raise NotVisible(pk)
    row.status, row.dismissed_reason = Recommendation.DISMISSED, reason
    row.dismissed_by, row.dismissed_at = user, timezone.now()
    row.save(update_fields=["status", "dismissed_reason", "dismissed_by", "dismissed_at",
                            "updated_at"])  # fmt: skip
    return row
