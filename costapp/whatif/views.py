"""The /whatif/ page: parse the GET parameters (every input, so a scenario is its URL), call
costapp.whatif.service, render current vs projected and the waterfall. Saving a scenario
stores its query string under a name, for its owner."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from costapp.attribution.query import QueryError
from costapp.core.access import scope_for, visible_teams
from costapp.core.limits import STRING_MAX, check_text

from . import charts, params, prices, recommendations, service
from .levers import QUANTIZATION
from .models import Scenario

INPUTS = (*params.SCOPE, "start", "end", "currency", *params.LEVER_PARAMS)


def _kept(query) -> dict[str, str]:
    """The inputs given, in a fixed order: what a scenario's URL holds."""
    return {name: query[name].strip() for name in INPUTS if (query.get(name) or "").strip()}


def _lever_fields(request, data: dict | None) -> list[dict]:
    suggested = (data or {}).get("suggestions", {})
    rows = []
    for group, names in (
        ("fractions", params.FRACTIONS),
        ("factors", {**params.FACTORS, **params.PRICE}),
    ):
        for name, what in names.items():
            hint = suggested.get(name)
            rows.append({"name": name, "label": what, "value": request.GET.get(name, ""),
                         "group": group, "suggested": hint})  # fmt: skip
    return rows


@login_required
def simulator(request):
    given = _kept(request.GET)
    context = {
        "given": given,
        "teams": list(visible_teams(request.user).values_list("slug", flat=True)),
        "precisions": list(QUANTIZATION),
        "gpu_types": prices.gpu_types(),
        "hosted": prices.hosted_models(),
        "scenarios": Scenario.objects.filter(owner=request.user),
        "share_url": f"{request.path}?{urlencode(given)}" if given else request.path,
    }
    try:
        answer = service.run(request.user, request.GET)
    except QueryError as error:
        context.update(error=error, fields=_lever_fields(request, None))
        return render(request, "whatif/simulator.html", context, status=400)
    except service.NotVisible:
        raise Http404("no such team among those you may see") from None
    data = service.as_data(answer)
    suggested = {name: str(s["value"]) for name, s in data["suggestions"].items()}
    context.update(
        data=data,
        sim=answer.simulation,
        base=answer.simulation.baseline,
        fields=_lever_fields(request, data),
        figure=charts.waterfall(answer.simulation),
        suggested_url=f"{request.path}?{urlencode({**given, **suggested})}",
    )
    return render(request, "whatif/simulator.html", context)


@login_required
@require_POST
def save_scenario(request):
    name = (request.POST.get("name") or "").strip()
    problem = "is blank" if not name else check_text(name, STRING_MAX)
    if problem:
        return HttpResponseBadRequest(f"name: {problem}")
    query = urlencode(_kept(request.POST))
    Scenario.objects.create(name=name, owner=request.user, query=query[:2000])
    return redirect(f"{reverse('whatif:simulator')}?{query}")


@login_required
def recommendation_list(request):
    scope = scope_for(request.user)
    team = (request.GET.get("team") or "").strip()
    if team and not scope.may_see(team):
        raise Http404("no such team among those you may see")
    rows = recommendations.visible(scope, team or None)
    return render(request, "whatif/recommendations.html", {"rows": rows, "team": team})


@login_required
@require_POST
def dismiss_recommendation(request, pk: int):
    try:
        recommendations.dismiss(scope_for(request.user), pk, request.POST.get("reason", ""),
                                request.user)  # fmt: skip
    except QueryError as error:
        return HttpResponseBadRequest(f"{error.field}: {error.message}")
    except recommendations.NotVisible:
        raise Http404("no such recommendation among those you may see") from None
    return redirect(reverse("whatif:recommendations"))
