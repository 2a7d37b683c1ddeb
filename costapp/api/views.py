"""JSON API views: parse the request, call a service, answer JSON. No logic of their own."""

from __future__ import annotations

import json
from decimal import Decimal

from django.core.exceptions import RequestDataTooBig
from django.core.serializers.json import DjangoJSONEncoder
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.views import APIView

from costapp.attribution.query import QueryError, parse_currency, parse_hour
from costapp.dashboard.explanation import explanation
from costapp.ingest.errors import TransientError
from costapp.ingest.models import RunStatus
from costapp.sources import push

from . import schemas
from .negotiation import JsonOnly


def _bearer(request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _error(status: int, message: str, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


class LedgerEncoder(DjangoJSONEncoder):
    """Money as exact decimal strings in plain notation ("0.0000000000", never "0E-10" nor a
    float); datetimes as ISO 8601."""

    def default(self, o):
        if isinstance(o, Decimal):
            return format(o, "f")
        return super().default(o)


class Usage(APIView):
    """POST /api/v1/usage: a batch of request records, stored all or nothing. Authenticated by
    the push source's own token (costapp.sources.push), not a user's: no cookies, so no CSRF."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    content_negotiation_class = JsonOnly

    @schemas.usage
    def post(self, request) -> JsonResponse:
        source = push.source_for_token(_bearer(request))
        if source is None:
            response = _error(401, "missing or invalid API token")
            response["WWW-Authenticate"] = 'Bearer realm="inference-ledger"'
            return response
        try:
            payload = push.parse_body(request.body)
        except RequestDataTooBig:
            return _error(413, "batch too large; send fewer records per request")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return _error(400, f"body is not JSON ({exc})", index=None, field=None)
        try:
            records = push.records_of(payload)
            run = push.ingest_batch(source, records)
        except push.BatchError as exc:
            return _error(400, exc.message, index=exc.index, field=exc.field)
        except (TransientError, OperationalError, InterfaceError):
            response = _error(503, "temporarily unavailable; retry the same batch")
            response["Retry-After"] = "30"
            return response
        return JsonResponse(
            {
                "run_id": run.pk,
                "status": run.status,
                "received": len(records),
                "stored": run.rows_stored,
                "duplicate_batch": run.status == RunStatus.SKIPPED,
            }
        )


@require_GET
def explain(request) -> JsonResponse:
    """GET /api/v1/explain?team=<slug>&hour=<ISO 8601>[&currency=EUR]: one team's allocations
    in one hour, in one currency as on the page: `currency` when the team has cost in it then,
    else its biggest. `currencies` lists every one it has, so a client can ask for the others;
    totals are never summed across them. For a team lead, figures that would reveal one other
    team's are null, with the reason in `withheld` (docs/ARCHITECTURE.md)."""
    if not request.user.is_authenticated:
        return _error(401, "log in first; this API uses the dashboard's session")
    team = request.GET.get("team", "").strip()
    if not team:
        return _error(400, "team is required", field="team")
    try:
        hour = parse_hour(request.GET.get("hour", ""))
        currency = parse_currency(request.GET.get("currency"))
    except QueryError as error:
        return _error(400, f"{error.field}: {error.message}", field=error.field)
    found = explanation(request.user, team, hour, currency)
    if found is None:
        # The same answer as for a team that does not exist: leads learn no other team's name.
        return _error(404, "no such team among those you may see")
    body = {
        "team": found.team,
        "hour": found.hour,
        "currency": found.currency,
        "currencies": found.currencies,
        "allocations": found.entries,
        "totals": found.totals,
        "idle_shared_withheld": found.idle_withheld,
    }
    return JsonResponse(body, encoder=LedgerEncoder)


class Explain(APIView):
    """GET /api/v1/explain, documented and authenticated (a bearer token or the dashboard's
    session) by DRF; the answer is `explain`'s above."""

    permission_classes = [IsAuthenticated]
    content_negotiation_class = JsonOnly

    @extend_schema(
        summary="One team's allocations in one hour",
        description=(
            "Every allocation line of one team in one UTC hour with how it was computed: the "
            "cost lines spread into the hour, utilization, idle, the split rule and the team's "
            "share. One currency at a time (`currencies` lists the others). For a team lead, "
            "figures that would reveal one other team's are null, with the reason in "
            "`idle_shared_withheld`. Another team answers 404, as one that does not exist."
        ),
        parameters=[
            OpenApiParameter("team", str, required=True, description="team slug"),
            OpenApiParameter(
                "hour", str, required=True, description="ISO 8601, any form of the hour"
            ),
            OpenApiParameter("currency", str, description="ISO 4217 code; default: the biggest"),
        ],
        responses=schemas.EXPLAIN_RESPONSES,
    )
    def get(self, request) -> JsonResponse:
        # DRF has set request._request.user to whoever the token or session names.
        return explain(request._request)
