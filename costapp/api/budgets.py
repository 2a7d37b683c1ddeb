"""/api/v1/channels, /budgets and /alerts over costapp.alerts' services and selectors.

Finance creates channels and budgets and sees all of them; anyone else sees the budgets of
their own teams and those budgets' alerts, and another team's answers 404 like one that does
not exist. A channel's target is shown masked in every answer; a webhook's signing secret never.
An alert's amounts, for a team lead, leave out the idle shares withheld from them
(costapp.alerts.status.alert_figures), and `idle_withheld` says for how many pool-hours.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from costapp.alerts import selectors, services
from costapp.alerts.models import (
    Alert,
    Basis,
    Budget,
    Channel,
    ChannelKind,
    Idle,
    Period,
    ScopeKind,
)
from costapp.alerts.status import alert_figures
from costapp.core.access import is_finance, scope_for

from .errors import ApiError, bad_request, not_found
from .pagination import Pages
from .schemas import ERROR

MONEY = {"max_digits": 28, "decimal_places": 10, "read_only": True}
CHANNEL_KEYS = ("name", "kind", "target", "secret")


class ChannelOut(serializers.ModelSerializer):
    target = serializers.CharField(source="masked_target", read_only=True)
    broken = serializers.BooleanField(source="is_broken", read_only=True)

    class Meta:
        model = Channel
        fields = ["id", "name", "kind", "target", "broken", "broken_reason", "created_at"]


class ChannelIn(serializers.Serializer):
    """The request body (documentation: costapp.alerts.services validates it)."""

    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    target = serializers.CharField(help_text="comma-separated addresses, or the URL to post to")
    secret = serializers.CharField(
        required=False, help_text="webhook only: the HMAC signing key (random when left out)"
    )


class BudgetOut(serializers.ModelSerializer):
    scope = serializers.SerializerMethodField()
    amount = serializers.DecimalField(**MONEY)
    thresholds = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    channels = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Budget
        fields = [
            "id", "name", "scope", "period", "amount", "currency", "basis", "idle",
            "thresholds", "forecast", "channels", "created_at", "updated_at",
        ]  # fmt: skip

    def get_scope(self, budget: Budget) -> dict[str, str]:
        if budget.scope_kind == ScopeKind.ORG:
            return {}
        return {budget.scope_kind: budget.scope_value}


class BudgetIn(serializers.Serializer):
    """The request body (documentation: costapp.alerts.services validates it)."""

    name = serializers.CharField()
    scope = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text='{} for the whole organisation, or one of {"team": ...}, {"model": ...}, '
        '{"endpoint": ...}, {"pool": ...}, {"provider": ...}',
    )
    period = serializers.ChoiceField(choices=Period.choices, required=False)
    amount = serializers.CharField(help_text='a decimal string, e.g. "1000.00"')
    currency = serializers.CharField(required=False, help_text="ISO 4217; USD by default")
    basis = serializers.ChoiceField(choices=Basis.choices, required=False)
    idle = serializers.ChoiceField(choices=Idle.choices, required=False)
    thresholds = serializers.ListField(
        child=serializers.IntegerField(), required=False, help_text="percent; [50, 80, 100]"
    )
    forecast = serializers.BooleanField(required=False, help_text="also alert on the forecast")
    channels = serializers.ListField(child=serializers.IntegerField(), required=False)


class _DeliveryChannel(serializers.ModelSerializer):
    class Meta:
        model = Channel
        fields = ["id", "name", "kind"]


class DeliveryOut(serializers.Serializer):
    channel = _DeliveryChannel(read_only=True)
    status = serializers.CharField(read_only=True)
    attempts = serializers.IntegerField(read_only=True)
    last_error = serializers.CharField(read_only=True)
    next_attempt_at = serializers.DateTimeField(read_only=True)
    sent_at = serializers.DateTimeField(read_only=True, allow_null=True)


class AlertOut(serializers.ModelSerializer):
    budget_name = serializers.CharField(source="budget.name", read_only=True)
    budget_amount = serializers.DecimalField(**MONEY)
    spent = serializers.DecimalField(**MONEY)
    forecast = serializers.DecimalField(**MONEY, allow_null=True)
    forecast_low = serializers.DecimalField(**MONEY, allow_null=True)
    forecast_high = serializers.DecimalField(**MONEY, allow_null=True)
    drivers = serializers.ListField(
        child=inline_serializer(
            "Driver", {"name": serializers.CharField(), "amount": serializers.CharField()}
        ),
        read_only=True,
    )
    deliveries = DeliveryOut(many=True, read_only=True)
    idle_withheld = serializers.SerializerMethodField(
        help_text="pool-hours whose idle share is left out of spent, forecast and drivers "
        "(shared with exactly one other team: a lead's answer; 0 for finance)"
    )

    class Meta:
        model = Alert
        fields = [
            "id", "budget", "budget_name", "scope", "period_start", "period_end", "threshold",
            "kind", "fired_at", "budget_amount", "currency", "spent", "forecast",
            "forecast_low", "forecast_high", "drivers", "idle_withheld", "suppressed",
            "cleared_at", "acknowledged_at", "snoozed_until", "deliveries",
        ]  # fmt: skip

    def get_idle_withheld(self, alert: Alert) -> int:
        return 0  # to_representation fills in a lead's count

    def to_representation(self, alert: Alert) -> dict:
        """A lead's amounts are recomputed without what is withheld from them; the alert fired
        on finance's figures, so only its threshold and kind say that it did."""
        data = super().to_representation(alert)
        viewer = self.context.get("viewer")
        if viewer is None:
            return data
        figures = alert_figures(alert, viewer, drivers=True)
        for name in ("spent", "forecast", "forecast_low", "forecast_high"):
            value = getattr(figures, name)
            data[name] = None if value is None else self.fields[name].to_representation(value)
        data["drivers"] = figures.drivers
        data["idle_withheld"] = figures.withheld
        return data


def _finance_only(request, what: str) -> None:
    if not is_finance(request.user):
        raise ApiError(status.HTTP_403_FORBIDDEN, f"{what} is for finance")


def _object_body(request) -> dict:
    if not isinstance(request.data, dict):
        raise bad_request("expected a JSON object", "body")
    return request.data


def _page(request, view, queryset, serializer, context: dict | None = None) -> Response:
    pages = Pages()
    page = pages.paginate_queryset(queryset, request, view=view)
    return pages.get_paginated_response(serializer(page, many=True, context=context or {}).data)


def _reader(request) -> dict:
    """The serializer context naming whose idle shares are withheld (None: finance)."""
    return {"viewer": scope_for(request.user).viewer}


def _one(queryset, pk: int):
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise not_found()
    return found


_WRITE_ERRORS = {400: ERROR, 401: ERROR, 403: ERROR}
_READ_ERRORS = {401: ERROR, 404: ERROR}


class Channels(APIView):
    @extend_schema(
        summary="List alert channels (finance)",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
        responses={200: ChannelOut(many=True), **_WRITE_ERRORS},
    )
    def get(self, request) -> Response:
        _finance_only(request, "listing channels")
        return _page(request, self, Channel.objects.order_by("name", "id"), ChannelOut)

    @extend_schema(
        summary="Create an alert channel (finance)",
        request=ChannelIn,
        responses={201: ChannelOut, **_WRITE_ERRORS},
    )
    def post(self, request) -> Response:
        _finance_only(request, "creating channels")
        body = _object_body(request)
        for key in body:
            if key not in CHANNEL_KEYS:
                raise bad_request(f"is not a channel field ({', '.join(CHANNEL_KEYS)})", key)
        channel = services.create_channel(**{key: body.get(key) for key in CHANNEL_KEYS})
        return Response(ChannelOut(channel).data, status=status.HTTP_201_CREATED)


class Budgets(APIView):
    @extend_schema(
        summary="List the budgets you may see",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
        responses={200: BudgetOut(many=True), 401: ERROR},
    )
    def get(self, request) -> Response:
        return _page(request, self, selectors.visible_budgets(request.user), BudgetOut)

    @extend_schema(
        summary="Create a budget (finance)",
        request=BudgetIn,
        responses={201: BudgetOut, **_WRITE_ERRORS},
    )
    def post(self, request) -> Response:
        _finance_only(request, "creating budgets")
        budget = services.create_budget(**_object_body(request))
        return Response(BudgetOut(budget).data, status=status.HTTP_201_CREATED)


class BudgetDetail(APIView):
    @extend_schema(summary="One budget", responses={200: BudgetOut, **_READ_ERRORS})
    def get(self, request, pk: int) -> Response:
        return Response(BudgetOut(_one(selectors.visible_budgets(request.user), pk)).data)


class Alerts(APIView):
    @extend_schema(
        summary="Alerts fired, newest first, each with its deliveries",
        parameters=[
            OpenApiParameter("budget", int, description="only this budget's alerts"),
            OpenApiParameter("limit", int),
            OpenApiParameter("offset", int),
        ],
        responses={200: AlertOut(many=True), 400: ERROR, 401: ERROR},
    )
    def get(self, request) -> Response:
        alerts = selectors.visible_alerts(request.user)
        raw = request.query_params.get("budget")
        if raw is not None:
            if not raw.isdigit():
                raise bad_request(f"{raw!r} is not a budget id", "budget")
            alerts = alerts.filter(budget_id=int(raw))
        return _page(request, self, alerts, AlertOut, _reader(request))


class AlertDetail(APIView):
    @extend_schema(
        summary="One alert with its deliveries", responses={200: AlertOut, **_READ_ERRORS}
    )
    def get(self, request, pk: int) -> Response:
        alert = _one(selectors.visible_alerts(request.user), pk)
        return Response(AlertOut(alert, context=_reader(request)).data)
