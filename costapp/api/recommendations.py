"""GET /api/v1/recommendations: the open what-if recommendations the caller may see
(costapp.whatif.recommendations), best saving first, paged like every list. Finance sees all;
anyone else their teams' only, and another team answers 404 like one that does not exist."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from costapp.core.access import scope_for
from costapp.whatif import recommendations
from costapp.whatif.models import Recommendation, RecommendationKind

from .errors import bad_request, not_found
from .negotiation import JsonOnly
from .pagination import Pages
from .schemas import ERROR


class RecommendationOut(serializers.ModelSerializer):
    monthly_saving = serializers.DecimalField(max_digits=28, decimal_places=10, read_only=True)
    url = serializers.CharField(read_only=True, help_text="/whatif/ with the lever set")

    class Meta:
        model = Recommendation
        fields = ["id", "kind", "subject", "team", "title", "monthly_saving", "currency",
                  "evidence", "url", "created_at", "updated_at"]  # fmt: skip


class Recommendations(APIView):
    permission_classes = [IsAuthenticated]
    content_negotiation_class = JsonOnly

    @extend_schema(
        summary="Open recommendations, best monthly saving first",
        description=(
            "Each saving is the simulator's answer for `url` (the same levers, scope and "
            "period). Written nightly from the last 30 days of data; dismissed ones are left out."
        ),
        parameters=[
            OpenApiParameter("team", str, description="only this team's (404 if not yours)"),
            OpenApiParameter("kind", str, enum=list(RecommendationKind.values)),
            OpenApiParameter("limit", int),
            OpenApiParameter("offset", int),
        ],
        responses={200: RecommendationOut(many=True), 400: ERROR, 401: ERROR, 404: ERROR},
    )
    def get(self, request) -> Response:
        scope = scope_for(request.user)
        team = (request.query_params.get("team") or "").strip()
        if team and not scope.may_see(team):
            raise not_found("no such team among those you may see")
        rows = recommendations.visible(scope, team or None)
        kind = request.query_params.get("kind")
        if kind is not None:
            if kind not in RecommendationKind.values:
                raise bad_request(
                    f"{kind[:40]!r} is not one of {', '.join(RecommendationKind.values)}", "kind"
                )
            rows = rows.filter(kind=kind)
        pages = Pages()
        page = pages.paginate_queryset(rows, request, view=self)
        return pages.get_paginated_response(RecommendationOut(page, many=True).data)
