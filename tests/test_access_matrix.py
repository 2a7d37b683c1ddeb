"""Access, proven: every page, export and API endpoint of the URL conf, as finance, as the lead
of team alpha asking for team bravo's objects, and as anonymous.

Bravo's names and figures are distinctive, as are the company's idle and unallocated totals, so
any of them in any body, header or file a lead gets is a leak. The URL conf is enumerated, so a
new route is tested without being listed; a route with a parameter needs a sample here (the
test of that says so) — bravo's object, which the lead must not learn exists.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from costapp.alerts.models import Budget, ScopeKind
from costapp.attribution.models import LineKind
from costapp.attribution.periods import close_month
from costapp.dashboard.exports import OVERVIEW_TABLES, UNITS_TABLES
from tests.dashboard.builders import allocation, finance_user, gpu_resource, team_lead

pytestmark = pytest.mark.django_db

BRAVO_NAMES = ("bravo-secret-model", "/bravo/secret-endpoint", "bravo-secret-budget")
# bravo's cost, tokens and requests, and the company's idle and unallocated totals, in every
# form a page, a CSV or the API writes them.
BRAVO_FIGURES = ("777.78", "777.7777777771", "313,131", "313131", "5,309", "5309")
COMPANY_FIGURES = ("3,333.33", "3333.33", "4,444.44", "4444.44")
HOUR = "2026-10-15T10:00Z"
# Public, or answered before any access rule (the push API takes a source's token).
PUBLIC = {"healthz", "login/", "logout/", "api/schema/", "api/docs/", "api/v1/usage"}
# A sample for each route parameter: bravo's object, or one that does not exist.
SAMPLES = {
    "<path:team>": ["bravo"],
    "<path:name>": ["bravo-secret-model"],
    "<str:month>": ["2026-10"],
    "<str:name>": list(OVERVIEW_TABLES + UNITS_TABLES),
    "<int:token_id>": ["999999"],
}
# Query strings every route is also asked with: bravo's team, hour, model, endpoint.
QUERIES = (
    "",
    "?team=bravo",
    f"?team=bravo&hour={HOUR}",
    "?model=bravo-secret-model&endpoint=/bravo/secret-endpoint",
    "?name=/bravo/secret-endpoint",
    "?idle=share",
    "?group=team,model,endpoint&by=model&grain=hour",
)


def routes() -> list[str]:
    """Every route of the URL conf but the admin's, as its pattern text."""

    def walk(patterns, prefix: str = ""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace != "admin":
                    yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    return sorted(set(walk(get_resolver().url_patterns)))


def _paths(route: str, budget: int) -> list[str]:
    samples = {**SAMPLES, "<int:pk>": [str(budget)]}
    paths = ["/" + route]
    for parameter in re.findall(r"<[^>]+>", route):
        paths = [p.replace(parameter, value, 1) for p in paths for value in samples[parameter]]
    return paths


@pytest.fixture
def world():
    """Alpha and bravo share one H100 node-hour, with idle and an unallocated line, in a closed
    October; bravo has a budget."""
    gpu_resource()
    common = dict(pool="h100-east", utilization=Decimal("0.5"), rule="tokens")
    allocation(
        "2026-10-15T10:00", team="alpha", model="alpha-model", endpoint="/alpha/chat",
        amortized="12.3456789012", input_tokens=20_000, output_tokens=1000, requests=21,
        gpu_hours="2", weight=Decimal(21_000), weight_total=Decimal(334_131), **common,
    )  # fmt: skip
    allocation(
        "2026-10-15T10:00", team="bravo", model="bravo-secret-model",
        endpoint="/bravo/secret-endpoint", amortized="777.7777777771", input_tokens=300_000,
        output_tokens=13_131, requests=5309, gpu_hours="2", weight=Decimal(313_131),
        weight_total=Decimal(334_131), **common,
    )  # fmt: skip
    allocation("2026-10-15T10:00", LineKind.IDLE, amortized="3333.3333333333", gpu_hours="4",
               **common)  # fmt: skip
    allocation("2026-10-15T10:00", LineKind.UNALLOCATED, amortized="4444.4444444444",
               resource_id="nat-0d3f")  # fmt: skip
    close_month(date(2026, 10, 1))
    budget = Budget.objects.create(
        name="bravo-secret-budget", scope_kind=ScopeKind.TEAM, scope_value="bravo",
        amount=Decimal("98765.43"),
    )  # fmt: skip
    return budget.pk


def _everything(response) -> str:
    """Body (streamed or not) and headers, as text."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    headers = "\n".join(f"{key}: {value}" for key, value in response.items())
    return headers + "\n" + body.decode("utf-8", errors="replace")


def test_every_route_parameter_has_a_sample():
    for route in routes():
        for parameter in re.findall(r"<[^>]+>", route):
            assert parameter in SAMPLES or parameter == "<int:pk>", (
                f"{route}: add a sample for {parameter} to SAMPLES"
            )


def test_a_lead_never_gets_another_teams_name_or_figure_or_the_company_totals(client, world):
    lead = team_lead("alpha")
    client.force_login(lead)
    checked = 0
    for route in routes():
        for path in _paths(route, world):
            for query in QUERIES:
                url = path + query
                response = client.get(url)
                assert response.status_code < 500, (url, response.status_code)
                text = _everything(response)
                for secret in (*BRAVO_NAMES, *BRAVO_FIGURES, *COMPANY_FIGURES):
                    if secret in url:
                        continue  # what the lead typed may be said back to them
                    assert secret not in text, (url, secret)
                checked += 1
    assert checked > 100


def test_finance_gets_every_route_without_an_error_and_sees_bravo(client, world):
    client.force_login(finance_user())
    seen = ""
    for route in routes():
        for path in _paths(route, world):
            response = client.get(path)
            assert response.status_code < 500, (path, response.status_code)
            seen += _everything(response)
    # The figures the lead test looks for are really there to leak: the matrix can fail.
    for secret in ("bravo-secret-model", "777.78", "3,333.33", "4,444.44", "bravo-secret-budget"):
        assert secret in seen, secret


def test_anonymous_visitors_are_sent_to_log_in_and_api_callers_get_401(world):
    client = Client()
    for route in routes():
        if route in PUBLIC:
            continue
        for path in _paths(route, world):
            response = client.get(path)
            if route.startswith("api/"):
                assert response.status_code == 401, path
            else:
                assert response.status_code == 302, path
                assert response["Location"].startswith("/login/"), path
            # Only the login redirect's ?next= says back the path that was asked for.
            assert "777.78" not in _everything(response) and "3,333.33" not in _everything(response)


# Pages only finance may open, answered 404 to a lead (the company's bill, not a team's view).
FINANCE_ONLY_404 = ("hosted/", "hosted/reconciliation.csv")


def test_finance_only_pages_are_404_to_a_lead_and_hold_the_figures_for_finance(client, world):
    from costapp.ingest.models import IngestionRun, UsageRollup
    from tests.dashboard.builders import cost_line

    line = cost_line("", "2026-10-15T00:00", "2026-10-16T00:00", "777.78", "777.78")
    line.hosted_provider, line.hosted_model, line.token_direction = "openai", "gpt-4o", "input"
    line.save()
    run = IngestionRun.objects.create(format="litellm", location="spend.json")
    UsageRollup.objects.create(
        run=run, hour="2026-10-15T10:00Z", team="bravo", model="bravo-secret-model",
        endpoint="/bravo/secret-endpoint", requests=5309, input_tokens=313131,
    )  # fmt: skip
    routes_now = routes()
    for route in FINANCE_ONLY_404:
        assert route in routes_now, route
    client.force_login(team_lead("alpha"))
    for route in FINANCE_ONLY_404:
        for query in QUERIES:
            response = client.get("/" + route + query)
            assert response.status_code == 404, (route, query)
            assert "777.78" not in _everything(response)
    client.force_login(finance_user())
    assert "777.78" in _everything(client.get("/hosted/?start=2026-10-01&end=2026-10-31"))
