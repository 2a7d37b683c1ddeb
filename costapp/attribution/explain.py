"""Explain one team's cost in one hour: the lines, utilization, share and rule behind each row.

`explain(team, hour)` is what a finance reader follows to check an allocation by hand: for each
Allocation of that team in that hour, the cost lines of its resource and each line's part of
that hour (the even spread of money.split), the resource-hour's cost, idle and busy amounts,
the utilization and where it came from, and the usage share weight / weight_total.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q, Sum

from costapp.ingest.models import CostLine
from costapp.money import ZERO, split

from .models import Allocation, LineKind

_HOUR = timedelta(hours=1)


def _hours_of(line: CostLine) -> list[datetime]:
    first = line.charge_period_start.replace(minute=0, second=0, microsecond=0)
    hours = [first]
    while hours[-1] + _HOUR < line.charge_period_end:
        hours.append(hours[-1] + _HOUR)
    return hours


def _line_part(line: CostLine, hour: datetime) -> dict:
    hours = _hours_of(line)
    index = hours.index(hour)
    even = [1] * len(hours)
    return {
        "cost_line_id": line.id,
        "source_file": line.source_file,
        "source_row": line.source_row,
        "charge_period": (line.charge_period_start, line.charge_period_end),
        "charge_category": line.charge_category,
        "charge_description": line.charge_description,
        "pricing_category": line.pricing_category,
        "effective_cost": line.effective_cost,
        "billed_cost": line.billed_cost,
        "hours_spread_over": len(hours),
        "amortized_in_hour": split(line.effective_cost, even)[index],
        "billed_in_hour": split(line.billed_cost, even)[index],
    }


def _cost_lines(resource_id: str, hour: datetime, currency: str, gpu: bool) -> list[dict]:
    lines = CostLine.objects.filter(
        resource_id=resource_id,
        billing_currency=currency,
        charge_period_start__lt=hour + _HOUR,
        charge_period_end__gt=hour,
    ).order_by("id")
    lines = (
        lines.filter(charge_category="Usage")
        if gpu
        else lines.filter(~Q(charge_category="Usage") | Q(resource_id=""))
    )
    return [_line_part(line, hour) for line in lines if hour in _hours_of(line)]


def _resource_hour(resource_id: str, hour: datetime, currency: str) -> dict:
    # The engine conserves per resource, hour and currency: the context is that one's.
    rows = Allocation.objects.filter(resource_id=resource_id, hour=hour, currency=currency)
    totals = rows.aggregate(a=Sum("amortized_cost"), b=Sum("billed_cost"))
    idle = rows.filter(kind=LineKind.IDLE).aggregate(a=Sum("amortized_cost"), b=Sum("billed_cost"))
    gpu_hours = rows.exclude(kind=LineKind.SHARED).aggregate(g=Sum("gpu_hours"))["g"] or ZERO
    amortized, billed = totals["a"] or ZERO, totals["b"] or ZERO
    return {
        "amortized_cost": amortized,
        "billed_cost": billed,
        "idle_amortized": idle["a"] or ZERO,
        "idle_billed": idle["b"] or ZERO,
        "gpu_hours": gpu_hours,
    }


def explain(team: str, hour: datetime) -> list[dict]:
    """One dict per Allocation of `team` in the hour containing `hour`."""
    hour = hour.replace(minute=0, second=0, microsecond=0)
    result = []
    for row in Allocation.objects.filter(team=team, hour=hour).order_by(
        "resource_id", "kind", "model", "endpoint"
    ):
        on_gpu = row.kind == LineKind.USAGE
        share = None
        if row.weight is not None and row.weight_total:
            share = {
                "numerator": row.weight,
                "denominator": row.weight_total,
                "fraction": row.weight / row.weight_total,
            }
        entry = {
            "hour": hour,
            "team": row.team,
            "model": row.model,
            "endpoint": row.endpoint,
            "resource_id": row.resource_id,
            "pool": row.pool,
            "kind": row.kind,
            "rule": row.rule,
            "utilization": row.utilization,
            "utilization_source": row.utilization_source,
            "share": share,
            "amortized_cost": row.amortized_cost,
            "billed_cost": row.billed_cost,
            "pricing_category": row.pricing_category,
            "currency": row.currency,
            "requests": row.requests,
            "input_tokens": row.input_tokens,
            "output_tokens": row.output_tokens,
            "gpu_hours": row.gpu_hours,
            "cost_lines": _cost_lines(row.resource_id, hour, row.currency, on_gpu),
        }
        if on_gpu:
            context = _resource_hour(row.resource_id, hour, row.currency)
            context["busy_amortized"] = context["amortized_cost"] - context["idle_amortized"]
            context["busy_billed"] = context["billed_cost"] - context["idle_billed"]
            entry["resource_hour"] = context
            entry["formula"] = _formula(row, context, share)
        result.append(entry)
    return result


def _formula(row: Allocation, context: dict, share: dict | None) -> str:
    u = row.utilization if row.utilization is not None else Decimal(0)
    text = (
        f"resource-hour {context['amortized_cost']} x utilization {u} ({row.utilization_source})"
        f" = busy {context['busy_amortized']}"
    )
    if share:
        text += (
            f"; by {row.rule} {share['numerator']} / {share['denominator']}"
            f" -> {row.amortized_cost} (largest remainder at 1E-10)"
        )
    return text
