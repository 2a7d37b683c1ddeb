"""One team's cost in one hour, explained: the read behind the /explain/ page and the API.

Wraps costapp.attribution.explain.explain with the access rule (finance sees any team, anyone
else only their own), the GPU count of each resource and the idle the team would carry under
share-idle, and lays each allocation out as the arithmetic a finance reader checks by hand:
hourly cost, utilization, idle, busy, share, result. A lead gets the same for their own teams,
less the totals that would reveal one other team's figure (costapp.attribution.explain). A
team can be billed in two currencies in the same hour (Azure in EUR, AWS in USD); the
explanation covers one of them, never their sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from costapp.attribution import selectors as attribution
from costapp.attribution.explain import explain, idle_share_withheld
from costapp.attribution.models import Allocation
from costapp.core.limits import check_time
from costapp.money import ZERO

from .selectors import BASES, Basis, currency_param, scope_for

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Explanation:
    team: str
    hour: datetime
    currency: str
    currencies: list[str]  # the team's currencies in that hour, biggest amortized cost first
    entries: list[dict]  # explain() output, one per Allocation in `currency`, plus "gpu_count"
    totals: dict[str, Decimal | None]  # in `currency`; None where withheld
    idle_withheld: str | None = None  # why the share-idle figures are withheld, if they are

    def steps(self, basis: Basis) -> list[dict]:
        """Each allocation's figures in one cost basis, in the order the method applies them."""
        return [_step(entry, basis) for entry in self.entries]


def _currencies(entries: list[dict]) -> list[str]:
    """The entries' currencies, biggest amortized cost first (the API has no basis to go by)."""
    totals: dict[str, Decimal] = {}
    for entry in entries:
        totals[entry["currency"]] = totals.get(entry["currency"], ZERO) + entry["amortized_cost"]
    return sorted(totals, key=lambda code: (-totals[code], code))


def explanation(user, team: str, hour: datetime, currency: str | None = None) -> Explanation | None:
    """The team's allocations in that hour in one currency (`currency` when the team has it
    then, else its biggest), or None when the user may not see the team."""
    scope = scope_for(user)
    if not scope.may_see(team):
        return None
    entries = explain(team, hour, viewer_teams=scope.teams)
    present = _currencies(entries)
    chosen = currency_param(currency, present)
    entries = [entry for entry in entries if entry["currency"] == chosen]
    # The GPU count the engine computed the hour with (the inventory version then in force).
    counts = dict(
        Allocation.objects.filter(
            hour=hour,
            resource_id__in={entry["resource_id"] for entry in entries},
            gpu_count__isnull=False,
        ).values_list("resource_id", "gpu_count")
    )
    for entry in entries:
        # With the hour's totals withheld, the GPU count would give them back (own cost / own
        # GPU-hours x GPUs = the hourly cost).
        entry["gpu_count"] = None if entry["withheld"] else counts.get(entry["resource_id"])
    idle_withheld = idle_share_withheld(team, hour, chosen, scope.teams)
    totals: dict[str, Decimal | None] = {}
    for basis in BASES:
        totals[f"{basis}_cost"] = sum((entry[f"{basis}_cost"] for entry in entries), ZERO)
        if idle_withheld:
            totals[f"idle_shared_{basis}"] = None
            continue
        # Idle is stored per resource-hour; this is what the team carries when it is shared.
        shared = attribution.team_costs(
            hour, hour + HOUR, [team], share_idle=True, basis=basis, currency=chosen
        )
        totals[f"idle_shared_{basis}"] = shared[0].idle if shared else ZERO
    return Explanation(
        team=team,
        hour=hour,
        currency=chosen,
        currencies=present,
        entries=entries,
        totals=totals,
        idle_withheld=idle_withheld,
    )


def neighbour_hour(hour: datetime, step: int) -> datetime | None:
    """The hour `step` hours away, or None past the plausible time window, where the page's
    previous / next link would only lead to a 400."""
    moved = hour + step * HOUR
    return None if check_time(moved) else moved


def _step(entry: dict, basis: Basis) -> dict:
    line_cost = "effective_cost" if basis == "amortized" else "billed_cost"
    lines = [
        {**line, "amount": line[line_cost], "in_hour": line[f"{basis}_in_hour"]}
        for line in entry["cost_lines"]
    ]
    step = {"entry": entry, "cost": entry[f"{basis}_cost"], "lines": lines}
    context = entry.get("resource_hour")
    if context and not entry["withheld"]:
        step.update(
            hour_cost=context[f"{basis}_cost"],
            idle=context[f"idle_{basis}"],
            busy=context[f"busy_{basis}"],
            gpu_hours=context["gpu_hours"],
            idle_fraction=Decimal(1) - (entry["utilization"] or ZERO),
        )
    return step
