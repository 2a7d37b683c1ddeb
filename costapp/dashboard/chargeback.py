"""/chargeback/<YYYY-MM>/ (printable) and /chargeback/<YYYY-MM>.csv: a closed month's showback
per team, reconciled with the month's invoices (costapp.attribution.chargeback). Finance only,
as /periods/ is. An open month answers 400 with a link to close it: a statement that could
still move is not one to send."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from costapp.attribution.chargeback import Chargeback, chargeback
from costapp.attribution.models import IdlePolicy, LineKind
from costapp.attribution.periods import PeriodError, parse_month
from costapp.attribution.query import BASES, IDLE_VIEWS, QueryError
from costapp.core.access import is_finance

from .exports import bad_request, csv_response


def _read(request, month: str) -> tuple:
    """The month, basis and idle view asked for (the idle view: the month's policy if blank)."""
    try:
        first = parse_month(month)
    except PeriodError as error:
        raise QueryError("month", str(error)) from None
    basis = request.GET.get("basis") or "amortized"
    if basis not in BASES:
        raise QueryError("basis", f"{basis[:40]!r} is not one of {', '.join(BASES)}")
    idle = request.GET.get("idle") or ""
    if idle and idle not in IDLE_VIEWS:
        raise QueryError("idle", f"{idle[:40]!r} is not one of {', '.join(IDLE_VIEWS)}")
    return first, basis, (idle == IdlePolicy.SHARE) if idle else None


def _statement(request, month: str):
    """(chargeback, None) or (None, the reason to answer 400 with)."""
    if not is_finance(request.user):
        raise PermissionDenied("the chargeback report is for finance")
    first, basis, share_idle = _read(request, month)
    found = chargeback(first, basis, share_idle)
    if found is None:
        return None, first
    return found, first


@login_required
@require_GET
def page(request, month: str):
    try:
        found, first = _statement(request, month)
    except QueryError as error:
        context = {"error": f"{error.field}: {error.message}", "month_text": month}
        return render(request, "dashboard/chargeback.html", context, status=400)
    if found is None:
        context = {"open_month": first, "month_text": month}
        return render(request, "dashboard/chargeback.html", context, status=400)
    return render(request, "dashboard/chargeback.html", {"c": found, "month_text": month})


def rows(found: Chargeback) -> list[list]:
    """The statement as CSV rows: each team, the company's lines, then the reconciliation."""
    out = []
    for s in found.statements:
        for team in s.teams:
            out.append(
                [s.currency, "team", team.team or "(no team)", team.usage, team.shared,
                 team.idle, team.total]
            )  # fmt: skip
        out += [
            [s.currency, "company", label, "", "", "", amount]
            for label, amount in (
                ("idle" if not found.share_idle else "idle (pools unused)", s.idle),
                (LineKind.UNMEASURED.value, s.unmeasured),
                (LineKind.UNALLOCATED.value, s.unallocated),
            )
        ]
        out += [
            [s.currency, "reconciliation", label, "", "", "", amount]
            for label, amount in (
                ("allocated total", s.lines_total),
                ("this month's bills charged outside the month", s.charged_after),
                ("other months' bills charged in this month", -s.charged_before),
                ("unexplained", s.unexplained),
                (f"invoice total ({s.bills} bills, {found.invoice_column})", s.invoice),
            )
        ]
    return out


@login_required
@require_GET
def csv(request, month: str):
    try:
        found, first = _statement(request, month)
    except QueryError as error:
        return bad_request(error)
    if found is None:
        return bad_request(
            QueryError("month", f"{first:%Y-%m} is open; close the month first (/periods/)")
        )
    header = [
        "currency", "section", "line", f"usage ({found.basis})", f"shared ({found.basis})",
        f"idle share ({found.basis})", f"total ({found.basis})",
    ]  # fmt: skip
    name = f"chargeback-{found.month:%Y-%m}-{found.basis}"
    return csv_response(name, header, [rows(found)])
