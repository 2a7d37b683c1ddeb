"""The what-if service the page and the API share: parse, check access, measure, resolve the
prices a lever needs, simulate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Max

from costapp.attribution.models import Allocation
from costapp.attribution.query import QueryError
from costapp.core.access import Scope, scope_for
from costapp.money import DEFAULT_CURRENCY

from . import breakeven, discounts, fit, prices
from . import levers as lv
from .baseline import Baseline, WhatIfScope, currencies, measure
from .params import WhatIfRequest, parse
from .scenario import RightSizing, Routing, Simulation, simulate, suggestions


class NotVisible(Exception):
    """The reader may not see the team asked for (answered like a team that does not exist)."""


@dataclass(frozen=True)
class Answer:
    request: WhatIfRequest
    simulation: Simulation
    # The discounts the bill shows on the scope's resources (finance only): suggested defaults.
    bill: dict[str, discounts.BillDiscount] = field(default_factory=dict)


def _scope(user, what: WhatIfScope) -> Scope:
    scope = scope_for(user)
    narrowed = scope.narrowed(what.team or None)
    if narrowed is None:
        raise NotVisible(what.team)
    return narrowed


def _last_hour(scope: Scope) -> datetime | None:
    rows = Allocation.objects.all()
    if not scope.whole_company:
        rows = rows.filter(team__in=scope.teams, kind__in=("usage", "shared"))
    return rows.aggregate(last=Max("hour"))["last"]


def _routing(request: WhatIfRequest, baseline: Baseline, scope: Scope) -> Routing | None:
    if not request.levers.get("routing_share"):
        return None
    api = str(request.levers.get("routing_api", ""))
    if api:
        price = prices.hosted_price(api)
        if price is None:
            raise QueryError("routing_api", f"{api[:40]!r} is not in the hosted-model price table")
        if price.currency != baseline.currency:
            raise QueryError("routing_api", f"{api} is priced in {price.currency}, the scope's "
                             f"cost in {baseline.currency}")  # fmt: skip
        citation = f"list price, {price.source} ({price.as_of}, verify before use)"
        return Routing(api, price.input_per_1m, price.output_per_1m, citation)
    model = str(request.levers.get("routing_to", ""))
    if not model:
        raise QueryError("routing_to", "routing_share needs routing_to or routing_api")
    target = measure(scope, WhatIfScope(model=model), baseline.start, baseline.end,
                     baseline.currency)  # fmt: skip
    # With its share of idle: the source's GPU cost it replaces carries idle too.
    cost = target.loaded_cost_per_1m_tokens
    if cost is None:
        raise QueryError("routing_to", f"no tokens of {model[:40]!r} you may see in the period")
    return Routing(model, cost, cost, "measured in the same period, with its share of idle")


def _right_sizing(request: WhatIfRequest, baseline: Baseline) -> RightSizing | None:
    target = str(request.levers.get("rightsize_gpu", ""))
    if not target:
        return None
    if len(baseline.gpu_types) != 1:
        found = ", ".join(baseline.gpu_types) or "none known"
        raise QueryError("rightsize_gpu", f"the scope must run on one GPU type (found: {found})")
    current = baseline.gpu_types[0]
    now = prices.gpu_hour_price(current)
    if now is None:
        raise QueryError("rightsize_gpu", f"no list price for today's {current} in the price table")
    given = request.levers.get("rightsize_price")
    if given is None:
        new = prices.gpu_hour_price(target)
        if new is None:
            raise QueryError(
                "rightsize_gpu", f"no list price for {target[:40]!r} in the price table"
            )
        price, price_source = new.per_gpu_hour, new.citation
    else:
        price, price_source = Decimal(given), "given"
    throughput = request.levers.get("rightsize_throughput")
    if throughput is None:
        table = lv.RELATIVE_THROUGHPUT
        if current not in table or target not in table:
            raise QueryError("rightsize_throughput", f"no relative throughput for {current} -> "
                             f"{target[:40]}: give rightsize_throughput")  # fmt: skip
        throughput, throughput_source = table[target] / table[current], lv.THROUGHPUT_SOURCE
    else:
        throughput_source = "given"
    source = (f"price: {price_source}; today: {now.citation}; "
              f"throughput: {throughput_source}")  # fmt: skip
    return RightSizing(target, price / now.per_gpu_hour, Decimal(throughput), source)


def run(user, params: Mapping[str, str]) -> Answer:
    """The what-if of `params` as `user` may see it. Raises QueryError naming a bad parameter
    and NotVisible for a team the user may not see."""
    request = parse(params)
    return evaluate(_scope(user, request.scope), request)


def evaluate(scope: Scope, request: WhatIfRequest) -> Answer:
    """The what-if of `request` over what `scope` may see (already narrowed to its team):
    the one computation the page, the API and the recommendations share."""
    start, end = request.window(_last_hour(scope))
    present = currencies(scope, request.scope, start, end)
    currency = request.currency or (present[0] if present else DEFAULT_CURRENCY)
    baseline = measure(scope, request.scope, start, end, currency)
    routing = _routing(request, baseline, scope)
    right_sizing = _right_sizing(request, baseline)
    bill = discounts.from_bill(scope, request.scope, start, end, currency)
    return Answer(request, simulate(baseline, request.levers, routing, right_sizing), bill)


def _figures(projection) -> dict:
    return {
        "monthly_cost": projection.monthly_cost,
        "gpu_cost": projection.gpu_cost,
        "routed_cost": projection.routed_cost,
        "other_cost": projection.other_cost,
        "gpu_hours": projection.gpu_hours,
        "gpus_needed": projection.gpus,
        "cost_per_1m_tokens": projection.cost_per_1m_tokens,
    }


def _break_even(answer: Answer) -> list[dict]:
    """The scope against the hosted API the routing lever names, else against each one."""
    api = str(answer.request.levers.get("routing_api", ""))
    hosted = [prices.hosted_price(api)] if api else prices.hosted_models()
    rows = breakeven.for_baseline(answer.simulation.baseline, [h for h in hosted if h])
    return [{**vars(row), "cheaper": row.cheaper} for row in rows]


def _fit(answer: Answer) -> dict | None:
    base, levers = answer.simulation.baseline, answer.request.levers
    given = levers.get("model_params_b")
    size = Decimal(given) if given else fit.params_from_name(base.scope.model)
    if size is None:
        return None
    headroom = Decimal(levers.get("kv_headroom", fit.KV_HEADROOM))
    return {
        "params_b": size,
        "params_source": "given" if given else f"model name {base.scope.model!r}",
        "kv_headroom": headroom,
        "kv_source": "given" if "kv_headroom" in levers else fit.KV_SOURCE,
        "gpus": [
            {"gpu_type": f.gpu_type, "memory_gb": f.memory_gb, "memory_source": f.memory_source,
             "per_precision": f.gpus}
            for f in fit.fits(size, base.gpu_types, headroom)
        ],
    }  # fmt: skip


def as_data(answer: Answer) -> dict:
    """The answer as plain data (Decimals kept exact) for the API and the page's chart."""
    sim = answer.simulation
    base = sim.baseline
    suggested = suggestions(base, answer.bill)
    return {
        "scope": base.scope.as_params(),
        "start": base.start,
        "end": base.end,
        "days": base.days,
        "currency": base.currency,
        "baseline": {
            **_figures(sim.current),
            "monthly_billed_cost": base.monthly_billed_cost,
            "busy_cost": base.busy_cost,
            "idle_cost": base.idle_cost,
            "unmeasured_cost": base.unmeasured_cost,
            "busy_gpu_hours": base.busy_gpu_hours,
            "mean_utilization": base.mean_utilization,
            "peak_hour_utilization": base.peak_hour_utilization,
            "steady_share": base.steady_share,
            "input_tokens": base.input_tokens,
            "output_tokens": base.output_tokens,
            "requests": base.requests,
            "cache_hit_share": base.cache_hit_share,
            "busy_cost_per_1m_tokens": base.busy_cost_per_1m_tokens,
            "loaded_cost_per_1m_tokens": base.loaded_cost_per_1m_tokens,
            "pricing_mix": base.pricing_mix,
            "gpu_types": list(base.gpu_types),
        },
        "projected": _figures(sim.projected),
        "total_saving": sim.total_saving,
        "levers": [
            {
                "name": lever.name,
                "applied": lever.applied,
                "saving": lever.saving,
                "before": lever.before,
                "after": lever.after,
                "assumptions": lever.assumptions,
                "note": lever.note,
            }
            for lever in sim.levers
        ],
        "suggestions": {
            name: {"value": s.value, "source": s.source, "measured": s.measured}
            for name, s in suggested.items()
        },
        "break_even": _break_even(answer),
        "quantization_fit": _fit(answer),
    }
