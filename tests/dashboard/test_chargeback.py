"""The chargeback report of a closed month: team totals plus idle, unmeasured and unallocated add
up to the month's invoice to the last quantum, with the difference explained by lines charged
across the month's edges; finance only; an open month is refused."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db.models import Sum

from costapp.attribution.chargeback import chargeback
from costapp.attribution.engine import run_attribution
from costapp.attribution.models import Allocation
from costapp.attribution.periods import close_month
from costapp.ingest.models import CostLine, LoadedBill
from tests.attribution import builders as b

from .builders import PASSWORD, finance_user, team_lead

pytestmark = pytest.mark.django_db
OCT = date(2026, 10, 1)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _bill(month: str) -> None:
    """The LoadedBill a delivery of the month's lines would record."""
    start = _at(f"{month}-01T00:00")
    lines = CostLine.objects.filter(billing_period_start=start)
    totals = lines.aggregate(billed=Sum("billed_cost"), effective=Sum("effective_cost"))
    LoadedBill.objects.create(
        run=b.run(), stream="test", provider="AWS", billing_period_start=start,
        billing_currency="USD", rows=lines.count(), billed_cost=totals["billed"],
        effective_cost=totals["effective"],
    )  # fmt: skip


@pytest.fixture
def october():
    """October on one 1-GPU node, attributed by the engine: a line inside the month, an
    October line running 2 hours into November, a September line running 1 hour into October,
    and a storage line no rule places."""
    b.gpu_resource(gpus=1)
    inside = _at("2026-10-10T10:00")
    b.cost_line(cost="100.0000000001", billed="120", start=inside, hours=3)
    b.cost_line(cost="50.0000000002", billed="60", start=_at("2026-10-31T23:00"), hours=3)
    b.cost_line(cost="7.0000000001", billed="9", start=_at("2026-09-30T23:00"), hours=2)
    b.cost_line("arn:aws:s3:::weights", cost="3.3333333333", start=inside, hours=24,
                category="Usage", service="Amazon S3")  # fmt: skip
    for hour in ("2026-10-10T10:00", "2026-10-10T11:00", "2026-10-31T23:00", "2026-10-01T00:00"):
        b.samples("i-gpu", _at(hour), ["0.7"])
        b.usage("alpha", _at(hour), input_tokens=700, output_tokens=11)
        b.usage("bravo", _at(hour), model="bravo-secret-model", input_tokens=300)
    _bill("2026-09")
    _bill("2026-10")
    run_attribution()
    close_month(OCT, by="finance")


@pytest.mark.parametrize("basis", ["amortized", "billed"])
@pytest.mark.parametrize("share_idle", [False, True])
def test_the_statement_adds_up_to_the_invoice_to_the_last_quantum(october, basis, share_idle):
    found = chargeback(OCT, basis, share_idle)
    (usd,) = found.statements
    column = "amortized_cost" if basis == "amortized" else "billed_cost"
    in_october = Allocation.objects.filter(hour__gte=_at("2026-10-01T00:00"),
                                           hour__lt=_at("2026-11-01T00:00"))  # fmt: skip
    assert usd.allocated == in_october.aggregate(total=Sum(column))["total"]
    assert usd.lines_total == usd.allocated  # teams + idle + unmeasured + unallocated
    invoice = "effective_cost" if basis == "amortized" else "billed_cost"
    expected_invoice = LoadedBill.objects.filter(billing_period_start=_at("2026-10-01T00:00"))
    assert usd.invoice == expected_invoice.aggregate(total=Sum(invoice))["total"]
    # 2 of the November-spilling line's 3 hours are outside; 1 of September's 2 is inside.
    # The engine gives a spread line's spare quanta to its first hours: 16.6666666668 stays in
    # October of the November-spilling line, September's line leaves 3.5 (its second hour).
    after = {"amortized": "33.3333333334", "billed": "40"}[basis]
    assert usd.charged_after == Decimal(after)
    assert usd.charged_before == Decimal({"amortized": "3.5", "billed": "4.5"}[basis])
    assert usd.unexplained == 0
    assert usd.allocated + usd.charged_after - usd.charged_before == usd.invoice
    assert {team.team for team in usd.teams} == {"alpha", "bravo"}
    if share_idle:
        assert sum(team.idle for team in usd.teams) > 0


def _get(client, user, path: str):
    assert client.login(username=user.username, password=PASSWORD)
    return client.get(path)


def test_the_page_states_the_method_and_shows_the_reconciliation(client, october):
    response = _get(client, finance_user(), "/chargeback/2026-10/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Allocation method" in html and "GPU-seconds, else tokens" in html
    assert 'id="unexplained-USD">$0.00<' in html
    usd = chargeback(OCT).statements[0]
    assert f'id="invoice-USD">${usd.invoice:,.2f}<' in html


def test_the_csv_lines_sum_to_the_allocated_total_and_reconcile_to_the_invoice(client, october):
    response = _get(client, finance_user(), "/chargeback/2026-10.csv?basis=billed")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][-1] == "total (billed)"
    lines = [Decimal(row[-1]) for row in rows[1:] if row[1] in ("team", "company")]
    recon = {row[2]: Decimal(row[-1]) for row in rows[1:] if row[1] == "reconciliation"}
    assert sum(lines) == recon["allocated total"]
    invoice = next(value for label, value in recon.items() if label.startswith("invoice total"))
    assert sum(v for label, v in recon.items() if not label.startswith("invoice")) == invoice


def test_an_open_month_is_refused_with_a_link_to_close_it(client, october):
    user = finance_user()
    response = _get(client, user, "/chargeback/2026-11/")
    assert response.status_code == 400
    html = response.content.decode()
    assert "close the month first" in html and 'href="/periods/"' in html
    assert _get(client, user, "/chargeback/2026-11.csv").status_code == 400
    bad = _get(client, user, "/chargeback/2026-13/")
    assert bad.status_code == 400 and "month:" in bad.content.decode()


def test_the_chargeback_is_for_finance_only(client, october):
    lead = team_lead("alpha")
    for path in ("/chargeback/2026-10/", "/chargeback/2026-10.csv"):
        response = _get(client, lead, path)
        assert response.status_code == 403
        assert b"bravo" not in response.content


def test_a_bill_restated_after_the_close_shows_as_unexplained(client, october):
    bill = LoadedBill.objects.get(billing_period_start=_at("2026-10-01T00:00"))
    bill.effective_cost += Decimal("1.25")
    bill.save()
    usd = chargeback(OCT).statements[0]
    assert usd.unexplained == Decimal("1.25")
    html = _get(client, finance_user(), "/chargeback/2026-10/").content.decode()
    assert 'id="restated"' in html
