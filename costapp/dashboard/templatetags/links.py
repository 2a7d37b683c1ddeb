"""Links to the page of a team, model, endpoint or pool, and to explain, that keep the reader's
report filters (dates, basis, idle view, currency): a view followed by a click is still the
same view, and its address can be shared."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from django import template
from django.urls import reverse

register = template.Library()
KEPT = ("start", "end", "basis", "idle", "currency")


def _with(context, path: str, **first: str) -> str:
    request = context.get("request")
    params = dict(first)
    if request is not None:
        params.update({k: request.GET[k] for k in KEPT if request.GET.get(k, "").strip()})
    return f"{path}?{urlencode(params)}" if params else path


@register.simple_tag(takes_context=True)
def team_url(context, name: str) -> str:
    return _with(context, reverse("dashboard:team", args=[name]))


@register.simple_tag(takes_context=True)
def model_url(context, name: str) -> str:
    return _with(context, reverse("dashboard:model", args=[name]))


@register.simple_tag(takes_context=True)
def endpoint_url(context, name: str) -> str:
    return _with(context, reverse("dashboard:endpoint"), name=name)


@register.simple_tag(takes_context=True)
def pool_url(context, name: str) -> str:
    return _with(context, reverse("dashboard:fleet"), pool=name)


@register.simple_tag(takes_context=True)
def explain_url(context, team: str, hour: datetime) -> str:
    """Explain of `team` at `hour`, in the page's basis and currency (its only filters)."""
    params = {"team": team, "hour": hour.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")}
    request = context.get("request")
    if request is not None:
        params.update({k: request.GET[k] for k in ("basis",) if request.GET.get(k)})
    if context.get("currency"):
        params["currency"] = context["currency"]
    return f"{reverse('dashboard:explain')}?{urlencode(params)}"
