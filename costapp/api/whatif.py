"""GET /api/v1/whatif: the what-if simulator over costapp.whatif.service, the same service the
/whatif/ page uses. Bad parameters answer 400 naming the parameter; a team the caller may not
see answers 404, as one that does not exist."""

from __future__ import annotations

from django.http import JsonResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from costapp.attribution.query import QueryError
from costapp.whatif import params, service
from costapp.whatif.scenario import ORDER

from .errors import bad_request, not_found
from .negotiation import JsonOnly
from .schemas import ERROR, MONEY
from .views import LedgerEncoder

_FIGURES = {
    "type": "object",
    "required": ["monthly_cost", "gpu_hours", "cost_per_1m_tokens"],
    "properties": {
        "monthly_cost": MONEY,
        "gpu_hours": MONEY,
        "gpus_needed": {"type": "integer"},
        "cost_per_1m_tokens": {**MONEY, "nullable": True},
    },
}
_ANSWER = {
    "type": "object",
    "required": ["baseline", "projected", "levers", "total_saving"],
    "properties": {
        "currency": {"type": "string"},
        "baseline": _FIGURES,
        "projected": _FIGURES,
        "total_saving": MONEY,
        "levers": {
            "type": "array",
            "description": "in the order applied; the savings add up to total_saving exactly",
            "items": {
                "type": "object",
                "required": ["name", "saving"],
                "properties": {
                    "name": {"type": "string", "enum": list(ORDER)},
                    "saving": MONEY,
                    "applied": {"type": "boolean"},
                    "before": MONEY,
                    "after": MONEY,
                    "assumptions": {"type": "object", "additionalProperties": {"type": "string"}},
                    "note": {"type": "string"},
                },
            },
        },
        "suggestions": {
            "type": "object",
            "description": "defaults per parameter: {value, source, measured}, measured on the "
            "data (discounts from the bill's list prices, finance only) or published",
        },
        "break_even": {
            "type": "array",
            "description": "tokens a day where a hosted API breaks even",
        },
        "quantization_fit": {
            "type": "object",
            "nullable": True,
            "description": "GPUs per replica by precision and GPU type",
        },
    },
}


def _parameters() -> list[OpenApiParameter]:
    found = [OpenApiParameter(name, str, description=f"scope: one {name}") for name in params.SCOPE]
    found += [
        OpenApiParameter("start", str, description="first day, YYYY-MM-DD (default: 30 days "
                         "before end)"),
        OpenApiParameter("end", str, description="last day, YYYY-MM-DD (default: the data's last)"),
        OpenApiParameter("currency", str, description="ISO 4217 (default: the biggest)"),
    ]  # fmt: skip
    for name, what in params.FRACTIONS.items():
        found.append(OpenApiParameter(name, float, description=f"{what}, a fraction 0 to 1"))
    for name, what in {**params.FACTORS, **params.PRICE}.items():
        found.append(OpenApiParameter(name, float, description=what))
    for name, what in params.CHOICES.items():
        found.append(OpenApiParameter(name, str, description=what))
    return found


class WhatIf(APIView):
    permission_classes = [IsAuthenticated]
    content_negotiation_class = JsonOnly

    @extend_schema(
        summary="What would the levers save on this scope's measured month?",
        description=(
            "The scope's baseline over the base period (scaled to 30 days), then each lever "
            "given applied in a fixed order (routing, caching, quantization, scale to zero, "
            "consolidation, right-sizing, pricing) to what the previous left. A lever whose "
            "parameter is absent is off. A lead simulates their own teams only: another team "
            "answers 404."
        ),
        parameters=_parameters(),
        responses={200: _ANSWER, 400: ERROR, 401: ERROR, 404: ERROR},
    )
    def get(self, request) -> JsonResponse:
        try:
            answer = service.run(request.user, request.query_params)
        except QueryError as error:
            raise bad_request(error.message, error.field) from None
        except service.NotVisible:
            raise not_found("no such team among those you may see") from None
        return JsonResponse(service.as_data(answer), encoder=LedgerEncoder)
