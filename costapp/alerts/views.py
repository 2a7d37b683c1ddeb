"""Budget and channel pages: parse the request, call costapp.alerts' services and selectors,
render. Finance sees and edits every budget and the channels; anyone else sees the budgets of
their own teams and those budgets' alerts (costapp.alerts.selectors), and another team's budget
or alert answers 404 like one that does not exist. A lead's figures leave out the idle shares
withheld from them (costapp.alerts.status)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from costapp.core.access import is_finance, scope_for, visible_teams

from . import charts, secrets, selectors, services
from .forms import BudgetForm, ChannelForm, SnoozeForm, TargetForm
from .models import Channel, DeliveryStatus
from .spend import daily_spend
from .status import alert_figures, budget_status

ALERTS_SHOWN = 100


def _finance_only(request) -> None:
    if not is_finance(request.user):
        raise PermissionDenied("budgets and channels are created and changed by finance")


@login_required
def budget_list(request):
    open_alerts = Count(
        "alerts", filter=Q(alerts__cleared_at__isnull=True, alerts__acknowledged_at__isnull=True)
    )
    # Meta.ordering does not apply to a GROUP BY query: name the order.
    budgets = (
        selectors.visible_budgets(request.user)
        .annotate(open_alerts=open_alerts)
        .order_by("name", "id")
    )
    now = timezone.now()
    viewer = scope_for(request.user).viewer
    context = {
        "rows": [budget_status(budget, now, viewer) for budget in budgets],
        "finance": is_finance(request.user),
    }
    return render(request, "alerts/budgets.html", context)


def _delivery_rows(deliveries) -> list[dict]:
    """Each delivery with its error masked again here: the stored error is scrubbed when
    written, and a page is one more place a secret must not reach."""
    rows = []
    for delivery in deliveries:
        try:
            hidden = (delivery.channel.target, delivery.channel.secret)
        except secrets.SecretUnreadable:
            hidden = ()
        rows.append({"d": delivery, "error": secrets.scrub(delivery.last_error, *hidden)[:500]})
    return rows


@login_required
def budget_page(request, pk: int):
    budget = get_object_or_404(selectors.visible_budgets(request.user), pk=pk)
    viewer = scope_for(request.user).viewer
    status = budget_status(budget, viewer=viewer)
    daily = daily_spend(budget, status.start, status.now, viewer)
    alerts = selectors.visible_alerts(request.user).filter(budget=budget)[:ALERTS_SHOWN]
    context = {
        "s": status,
        "budget": budget,
        "chart": charts.budget_chart(status, daily),
        "alerts": [
            {
                "a": alert,
                "figures": alert_figures(alert, viewer),
                "deliveries": _delivery_rows(alert.deliveries.all()),
            }
            for alert in alerts
        ],
        "snooze": SnoozeForm(),
        "finance": is_finance(request.user),
        "now": status.now,
    }
    return render(request, "alerts/budget.html", context)


def _budget_form_page(request, form: BudgetForm, budget=None, status: int = 200):
    context = {
        "form": form,
        "budget": budget,
        "teams": visible_teams(request.user).values_list("slug", flat=True),
    }
    return render(request, "alerts/budget_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def budget_create(request):
    _finance_only(request)
    if request.method != "POST":
        return _budget_form_page(request, BudgetForm())
    form = BudgetForm(request.POST)
    if form.is_valid():
        try:
            budget = services.create_budget(**form.service_input())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            return redirect("alerts:budget", pk=budget.pk)
    return _budget_form_page(request, form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def budget_edit(request, pk: int):
    _finance_only(request)
    budget = get_object_or_404(selectors.visible_budgets(request.user), pk=pk)
    if request.method != "POST":
        return _budget_form_page(
            request, BudgetForm(initial=BudgetForm.initial_for(budget)), budget
        )
    form = BudgetForm(request.POST)
    if form.is_valid():
        try:
            services.update_budget(budget, **form.service_input())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            return redirect("alerts:budget", pk=budget.pk)
    budget.refresh_from_db()  # the heading names the budget as stored, not as mistyped
    return _budget_form_page(request, form, budget, status=400)


def _alert_or_404(request, pk: int):
    return get_object_or_404(selectors.visible_alerts(request.user), pk=pk)


def _back_to(alert) -> str:
    return reverse("alerts:budget", kwargs={"pk": alert.budget_id}) + f"#alert-{alert.pk}"


@login_required
@require_POST
def alert_acknowledge(request, pk: int):
    alert = _alert_or_404(request, pk)
    services.acknowledge(alert, request.user)
    return redirect(_back_to(alert))


@login_required
@require_POST
def alert_snooze(request, pk: int):
    alert = _alert_or_404(request, pk)
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        return render(
            request, "alerts/bad_request.html", {"form": form, "back": _back_to(alert)}, status=400
        )
    services.snooze(
        alert, timezone.now() + timedelta(hours=form.cleaned_data["hours"]), request.user
    )
    return redirect(_back_to(alert))


def _channels_page(request, *, form=None, target_forms=None, results=None, status: int = 200):
    waiting = Q(deliveries__status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED])
    channels = Channel.objects.annotate(
        budget_count=Count("budgets", distinct=True),
        waiting=Count("deliveries", filter=waiting, distinct=True),
    )
    target_forms = target_forms or {}
    results = results or {}
    rows = [
        {
            "c": channel,
            "target_form": target_forms.get(channel.pk) or TargetForm(prefix=f"c{channel.pk}"),
            "result": results.get(channel.pk),
        }
        for channel in channels
    ]
    context = {"rows": rows, "form": form or ChannelForm()}
    return render(request, "alerts/channels.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def channel_list(request):
    _finance_only(request)
    if request.method != "POST":
        return _channels_page(request)
    form = ChannelForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.create_channel(
                data["name"], data["kind"], data["target"], data["secret"] or None
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            return redirect("alerts:channels")
    return _channels_page(request, form=form, status=400)


@login_required
@require_POST
def channel_target(request, pk: int):
    _finance_only(request)
    channel = get_object_or_404(Channel, pk=pk)
    form = TargetForm(request.POST, prefix=f"c{channel.pk}")
    if form.is_valid():
        try:
            services.set_channel_target(channel, form.cleaned_data["target"])
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            return redirect(reverse("alerts:channels") + f"#channel-{channel.pk}")
    return _channels_page(request, target_forms={channel.pk: form}, status=400)


@login_required
@require_POST
def channel_test(request, pk: int):
    """Send one test message now, no retry, and show how it went beside the channel."""
    _finance_only(request)
    channel = get_object_or_404(Channel, pk=pk)
    result = services.test_send(channel)
    return _channels_page(request, results={channel.pk: result})
