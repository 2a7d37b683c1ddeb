"""Explain one team's cost in one hour: the lines, utilization, share and rule behind each row.

`explain(team, hour)` is what a finance reader follows to check an allocation by hand: for each
Allocation of that team in that hour, the cost lines of its resource and each line's part of
that hour (the even spread of money.split), the resource-hour's cost, idle and busy amounts,
the utilization and where it came from, and the usage share weight / weight_total.

A reader who is not finance (`viewer_teams` given) gets the same arithmetic except where it
would hand them one other team's figure: on a resource-hour that exactly one other team shares,
the totals minus the reader's own line *are* that team's cost and tokens, so those totals are
withheld and the entry says why (costapp.core.access.total_reveals_one_team;
docs/ARCHITECTURE.md, "What a team lead may see"). Server paths are never shown: finance gets a
cost line's file base name, leads only its id.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import PurePosixPath, PureWindowsPath

from django.db.models import Count, Q, Sum

from costapp.core.access import total_reveals_one_team
from costapp.ingest.models import CostLine
from costapp.money import ZERO, split

from .models import Allocation, CostRule, GpuResource, LineKind, in_force_at

_HOUR = timedelta(hours=1)

WITHHELD_GPU = (
    "Withheld: one other team used this resource in this hour, so the hour's cost, idle, busy, "
    "utilization and weight total, less your own figures, would be that team's figures."
)
WITHHELD_SHARED = (
    "Withheld: in an hour this cost is spread over, one other team shared it, so the line's "
    "amount and the weight total, less your own figures, would be that team's figures."
)
WITHHELD_IDLE = (
    "Withheld: one other team used one of your pools in this hour, so your share of its idle "
    "would tell that team's use."
)
# What a withheld cost line keeps: which line it is and how it is spread, not what it costs.
_LINE_AMOUNTS = ("effective_cost", "billed_cost", "amortized_in_hour", "billed_in_hour")


def file_name(path: str) -> str:
    """The base name of a stored source file (a local path, an s3:// key or a Windows path):
    enough to find the delivery, without the server's directories."""
    if not path:
        return ""
    name = PureWindowsPath(path).name if "\\" in path else PurePosixPath(path).name
    return name or path.rstrip("/").rsplit("/", 1)[-1]


def _hours_of(line: CostLine) -> list[datetime]:
    first = line.charge_period_start.replace(minute=0, second=0, microsecond=0)
    hours = [first]
    while hours[-1] + _HOUR < line.charge_period_end:
        hours.append(hours[-1] + _HOUR)
    return hours


def _line_part(line: CostLine, hour: datetime, whole_company: bool) -> dict:
    hours = _hours_of(line)
    index = hours.index(hour)
    even = [1] * len(hours)
    return {
        "cost_line_id": line.id,
        "source_file": file_name(line.source_file) if whole_company else None,
        "source_row": line.source_row if whole_company else None,
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


def _cost_lines(
    resource_id: str, hour: datetime, currency: str, gpu: bool, whole_company: bool
) -> list[dict]:
    lines = CostLine.objects.filter(
        resource_id=resource_id,
        billing_currency=currency,
        charge_period_start__lt=hour + _HOUR,
        charge_period_end__gt=hour,
    ).order_by("id")
    # As the engine decides (steps.LINES): a Usage line of a GPU resource (in the inventory
    # version in force at the hour) is GPU cost, any other line (storage, network, a GPU's
    # support fee) is shared cost.
    gpus = GpuResource.objects.filter(in_force_at(hour)).exclude(resource_id="")
    gpus = gpus.values("resource_id")
    on_gpu = Q(charge_category="Usage", resource_id__in=gpus)
    lines = lines.filter(on_gpu) if gpu else lines.exclude(on_gpu)
    return [_line_part(line, hour, whole_company) for line in lines if hour in _hours_of(line)]


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


def _isolates(
    viewer_teams: Collection[str],
    start: datetime,
    end: datetime,
    currency: str,
    kinds: tuple[str, ...],
    **where,
) -> bool:
    """Whether some hour in [start, end) has exactly one team the viewer may not see among the
    rows matching `where` (one resource, or some pools: each pool-hour counts on its own)."""
    per_hour = (
        Allocation.objects.filter(
            hour__gte=start, hour__lt=end, currency=currency, kind__in=kinds, **where
        )
        .exclude(team="")
        .exclude(team__in=list(viewer_teams))
        .values("hour", "resource_id" if "resource_id" in where else "pool")
        .annotate(others=Count("team", distinct=True))
    )
    return any(total_reveals_one_team(row["others"]) for row in per_hour)


def _withheld(row: Allocation, hour: datetime, lines: list[dict], viewer_teams) -> str | None:
    """Why this entry's totals are withheld from the viewer, or None when they may be shown."""
    if viewer_teams is None:
        return None
    attributed = (LineKind.USAGE, LineKind.SHARED)
    where = dict(resource_id=row.resource_id)
    if row.kind == LineKind.USAGE:
        # On a GPU the hour's totals split only that hour: its cost alone (the instance's
        # price, which own cost / own GPU-hours x GPU count gives anyway) reveals no team.
        if _isolates(viewer_teams, hour, hour + _HOUR, row.currency, attributed, **where):
            return WITHHELD_GPU
        return None
    # A shared line's amount is the whole of what its recipients split, and an even spread
    # gives every hour of the line the same amount: shown in one hour, it is known in all.
    start = min((line["charge_period"][0] for line in lines), default=hour)
    end = max((line["charge_period"][1] for line in lines), default=hour + _HOUR)
    start = min(start.replace(minute=0, second=0, microsecond=0), hour)
    if _isolates(viewer_teams, start, max(end, hour + _HOUR), row.currency, attributed, **where):
        return WITHHELD_SHARED
    return None


def idle_share_withheld(
    team: str, hour: datetime, currency: str, viewer_teams: Collection[str] | None
) -> str | None:
    """Why the idle `team` would carry under share-idle in that hour is withheld from the
    viewer, or None. It is the pool's idle x own use / the pool's use: with one other team in
    the pool, the ratio of the two gives that team's use."""
    if viewer_teams is None:
        return None
    pools = Allocation.objects.filter(
        team=team, hour=hour, currency=currency, kind=LineKind.USAGE
    ).values("pool")
    end = hour + _HOUR
    if _isolates(viewer_teams, hour, end, currency, (LineKind.USAGE,), pool__in=pools):
        return WITHHELD_IDLE
    return None


def explain(
    team: str, hour: datetime, *, viewer_teams: Collection[str] | None = None
) -> list[dict]:
    """One dict per Allocation of `team` in the hour containing `hour`.

    `viewer_teams`: the teams whose figures the reader may see, or None for finance (every
    figure). Entries whose totals would reveal one other team's figure to that reader carry
    `withheld` (the reason) and None in place of those totals.
    """
    hour = hour.replace(minute=0, second=0, microsecond=0)
    whole_company = viewer_teams is None
    result = []
    for row in Allocation.objects.filter(team=team, hour=hour).order_by(
        "resource_id", "kind", "model", "endpoint"
    ):
        # Hosted-model rows (costapp.attribution.hosted) are usage with no GPU hour behind them.
        on_gpu = row.kind == LineKind.USAGE and not row.resource_id.startswith("hosted:")
        share = None
        if row.weight is not None and row.weight_total:
            share = {
                "numerator": row.weight,
                "denominator": row.weight_total,
                "fraction": row.weight / row.weight_total,
            }
        lines = _cost_lines(row.resource_id, hour, row.currency, on_gpu, whole_company)
        entry = {
            "hour": hour,
            "team": row.team,
            "model": row.model,
            "endpoint": row.endpoint,
            "resource_id": row.resource_id,
            "pool": row.pool,
            "kind": row.kind,
            "rule": row.rule,
            "rule_version": _rule_version(row),
            "weight_rule": _weight_rule(row),
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
            "cost_lines": lines,
            "withheld": _withheld(row, hour, lines, viewer_teams),
        }
        if on_gpu:
            context = _resource_hour(row.resource_id, hour, row.currency)
            context["busy_amortized"] = context["amortized_cost"] - context["idle_amortized"]
            context["busy_billed"] = context["billed_cost"] - context["idle_billed"]
            entry["resource_hour"] = context
            entry["formula"] = _formula(row, context, share)
        if entry["withheld"]:
            _withhold(entry)
        result.append(entry)
    return result


def _withhold(entry: dict) -> None:
    """Keep the reader's own figures and the method; drop every total they would subtract."""
    entry["utilization"] = None
    if entry["share"]:
        entry["share"] = {**entry["share"], "denominator": None, "fraction": None}
    entry["cost_lines"] = [
        {**line, **dict.fromkeys(_LINE_AMOUNTS), "charge_description": ""}
        for line in entry["cost_lines"]
    ]
    if "resource_hour" in entry:
        entry["resource_hour"] = None
        entry["formula"] = (
            "busy = the resource-hour's cost x utilization; your part = busy x your weight "
            f"{entry['share']['numerator'] if entry['share'] else '(none)'} / the weight of "
            "every team on the resource in the hour (largest remainder at 1E-10)"
        )


def _rule_version(row: Allocation) -> str:
    """The cost rule version that placed the row ("" when no rule did): hours computed before
    an edit took effect keep naming the version they were split by."""
    if row.cost_rule_id is None:
        return ""
    rule = CostRule.objects.filter(pk=row.cost_rule_id).first()
    if rule is None:
        return f"rule version #{row.cost_rule_id} (since deleted)"
    return f"rule {rule.name} (version {rule.version_label})"


def _weight_rule(row: Allocation) -> str:
    """How the row's own weight was counted, from its own figures: the method, no totals."""
    if row.weight is None:
        return ""
    if row.rule == "tokens":
        if row.output_tokens:
            w = (row.weight - row.input_tokens) / row.output_tokens
            return (
                f"input tokens + w x output tokens = {row.input_tokens} + {w.normalize():f}"
                f" x {row.output_tokens} = {row.weight.normalize():f}"
            )
        return f"input tokens = {row.weight.normalize():f}"
    if row.rule == "gpu_seconds":
        return f"GPU-seconds measured by the gateway = {row.weight.normalize():f}"
    if row.rule == "requests":
        return f"requests = {row.weight.normalize():f}"
    if row.rule == "gpu_cost":
        return f"this team's GPU cost in the hour = {row.weight.normalize():f}"
    if row.rule == "even":
        return "one part per team with GPU use in the hour"
    return f"{row.rule} = {row.weight.normalize():f}"


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
