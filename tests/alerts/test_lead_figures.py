"""A team lead's budget figures never give away the one other team's (docs/ARCHITECTURE.md, "What
a team lead may see" and "Budgets and alerts").

A fully loaded team budget carries the team's share of its pools' idle. In a pool-hour that
exactly one other team shares, that share beside the lead's own cost gives the pool's
utilization and with it the other team's cost (tests/dashboard/test_units_attacker.py): so the
budget pages, their chart and the API leave it out for a lead, as /units/ does. Checked as the
attacker would:

- two worlds that differ only in the other team's use of the pool (and so the pool's idle),
  with the lead's own figures equal, give the lead identical budget pages, chart JSON and API
  answers, while finance's differ;
- the lead's budget spent equals their /units/ total, so subtracting one from the other leaves
  nothing, while finance's spent less that total is exactly the withheld share;
- an alert fires on finance's figures, and shows the lead the threshold it crossed with the
  lead's own spent, not the amount it fired on.

The clock is fixed at NOW (a forecast moves with every second), the spend is laid out by hand.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from html import unescape

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from costapp.alerts.evaluate import evaluate_budget
from costapp.alerts.models import Alert, AlertKind, Budget
from costapp.alerts.status import alert_figures, budget_status
from costapp.api import tokens
from costapp.attribution import selectors as attribution
from costapp.core.access import scope_for
from costapp.dashboard.templatetags.ledger import money
from tests.dashboard.builders import PASSWORD, finance_user, team_lead

from .conftest import NOW, budget, day, spend

pytestmark = pytest.mark.django_db

DAYS = (17, 18, 19, 20)  # 10:00 UTC on each: three complete days for the forecast, then today
HOURLY = Decimal(100)  # what i-pair costs each hour, in both worlds
# Alpha's use of i-pair each hour, the same in both worlds.
ALPHA = ["30", "34.5", "26.25", "31"]
# i-pair's utilization: bravo uses what alpha leaves of it, the rest is idle.
WORLDS = {"seen": Decimal("0.8"), "other": Decimal("0.4")}
# i-trio, every hour, both worlds: three teams, so alpha's idle share there is shown. The odd
# quantum goes to alpha by largest remainder (ties to the first key), as /units/ splits it.
TRIO_USE, TRIO_IDLE = "20", "30.0000000001"
WITHHELD_NOTE = "Idle share withheld for 4 pool-hours shared with exactly one other team"


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def build(world: str) -> None:
    utilization = WORLDS[world]
    for n, alpha in zip(DAYS, ALPHA, strict=True):
        at = day(n, hour=10)
        pair = {"pool": "pool-pair", "resource_id": "i-pair"}
        spend(at, alpha, team="alpha", model="llama-70b", **pair)
        spend(at, HOURLY * utilization - Decimal(alpha), team="bravo", model="llama-70b", **pair)
        spend(at, HOURLY * (1 - utilization), kind="idle", **pair)
        trio = {"pool": "pool-trio", "resource_id": "i-trio"}
        for team in ("alpha", "bravo", "charlie"):
            spend(at, TRIO_USE, team=team, model="mistral", **trio)
        spend(at, TRIO_IDLE, kind="idle", **trio)


def alpha_budget(**data) -> Budget:
    data.setdefault("amount", "2000")
    data.setdefault("thresholds", [10, 80])
    data.setdefault("forecast", True)
    return budget(name="Alpha inference", scope={"team": "alpha"}, **data)


def lead_spent_by_hand() -> Decimal:
    """Alpha's busy cost plus its i-trio idle shares: nothing of i-pair's idle."""
    trio = Decimal(TRIO_USE) + Decimal("10.0000000001")
    return sum((Decimal(a) for a in ALPHA), Decimal(0)) + trio * len(DAYS)


def withheld_by_hand(world: str) -> Decimal:
    """Alpha's share of i-pair's idle: idle x alpha's use / the pool's use, each hour."""
    utilization = WORLDS[world]
    return sum(
        (HOURLY * (1 - utilization) * Decimal(a) / (HOURLY * utilization) for a in ALPHA),
        Decimal(0),
    )


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def main(client, path: str) -> str:
    """The page's <main> (figures and chart JSON), without what changes on every request (the
    CSRF tokens of the alert forms) or between worlds for no reason (an alert's id)."""
    response = client.get(path)
    assert response.status_code == 200, path
    html = unescape(response.content.decode()).split("<main>", 1)[1].split("</main>", 1)[0]
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    return re.sub(r'(alert-|data-alert="|/alerts/|snooze-)\d+', r"\1ID", html)


def api(user, path: str):
    """`user`'s answer at /api/v1/`path`, with a bearer token of their own."""
    secret = tokens.issue(user, "test").secret
    response = Client(headers={"Authorization": f"Bearer {secret}"}).get(f"/api/v1/{path}")
    assert response.status_code == 200, response.content
    return response.json()


def without_ids(answer: dict) -> str:
    results = answer.get("results", [answer])
    for alert in results:
        alert.pop("id")
    return json.dumps(answer, sort_keys=True)


def chart(html: str) -> dict:
    found = re.search(r'<script id="budget-figure" type="application/json">(.*?)</script>', html)
    assert found, "no budget chart on the page"
    return json.loads(found.group(1))


def everything(client, user, target: Budget) -> dict[str, str]:
    """What `user` gets about the budget: both pages (chart JSON included) and the API."""
    login(client, user)
    [alert] = Alert.objects.filter(budget=target)
    return {
        "/budgets/": main(client, "/budgets/"),
        "budget page": main(client, f"/budgets/{target.pk}/"),
        "/api/v1/alerts": without_ids(api(user, f"alerts?budget={target.pk}")),
        "/api/v1/alerts/<id>": without_ids(api(user, f"alerts/{alert.pk}")),
        "/api/v1/budgets": json.dumps(api(user, "budgets"), sort_keys=True),
    }


def in_world(client, user, target: Budget, world: str) -> dict[str, str]:
    """Everything `user` gets in one world, evaluated at NOW, rolled back after."""
    with transaction.atomic():
        build(world)
        fired = evaluate_budget(target, NOW).fired
        # The same thresholds fire in both worlds (an alert is a bound on finance's figure:
        # docs/ARCHITECTURE.md); only the amounts could tell the worlds apart.
        assert [(a.threshold, a.kind) for a in fired] == [(10, AlertKind.ACTUAL)]
        seen = everything(client, user, target)
        transaction.set_rollback(True)
    return seen


def test_a_lead_cannot_tell_two_worlds_apart_on_budget_pages_charts_or_the_api(client):
    lead, target = team_lead("alpha"), alpha_budget()
    seen = in_world(client, lead, target, "seen")
    other = in_world(client, lead, target, "other")
    for what, page in seen.items():
        assert page == other[what], f"{what} tells the lead which world this is"
    assert WITHHELD_NOTE in seen["budget page"]
    assert "Idle share withheld for 4 pool-hours" in seen["/budgets/"]
    spent = lead_spent_by_hand()
    assert f'<dd id="spent">{money(spent)}</dd>' in seen["budget page"]
    actual = next(t for t in chart(seen["budget page"])["data"] if t["name"].startswith("Actual"))
    assert actual["y"][-1] == float(round(spent, 2))


def test_finance_sees_the_two_worlds_differ(client):
    user, target = finance_user(), alpha_budget()
    seen = in_world(client, user, target, "seen")
    other = in_world(client, user, target, "other")
    for what in ("/budgets/", "budget page", "/api/v1/alerts", "/api/v1/alerts/<id>"):
        assert seen[what] != other[what], what
        assert "Idle share withheld" not in seen[what]


@pytest.mark.parametrize("world", WORLDS)
def test_budget_spent_less_the_units_total_leaves_the_lead_nothing(world):
    """The subtraction the brief feared: budget spent - /units/ total. For the lead it is 0;
    with finance's budget figure it would be exactly the withheld share."""
    build(world)
    lead, finance, target = team_lead("alpha"), finance_user(), alpha_budget()
    query = attribution.ReportQuery(start=date(2026, 11, 1), end=NOW.date(), share_idle=True)
    [units] = attribution.unit_report(scope_for(lead), query).summary
    lead_status = budget_status(target, NOW, scope_for(lead).viewer)
    assert lead_status.spent == units.loaded == lead_spent_by_hand()
    assert lead_status.withheld == 4
    full = budget_status(target, NOW, scope_for(finance).viewer)
    assert full.withheld == 0
    assert full.spent - units.loaded == withheld_by_hand(world)
    # The evaluation's split is /units/' own, to the quantum: finance's budget is its total.
    [everyone] = attribution.unit_report(scope_for(finance), query).summary[:1]
    assert everyone.key == "alpha" and full.spent == everyone.loaded


def test_an_alert_shows_a_lead_the_threshold_crossed_and_their_own_spent(client):
    """Evaluation reads finance's figures: 30% of 1,000 is crossed by alpha's full spend, not
    by what the lead sees. The lead gets the alert, its threshold and their own amounts."""
    build("other")
    lead, finance = team_lead("alpha"), finance_user()
    target = alpha_budget(amount="1000", thresholds=[30])
    [alert] = evaluate_budget(target, NOW).fired
    full = lead_spent_by_hand() + withheld_by_hand("other")
    assert alert.spent == full  # what fired it, kept for finance
    [mine] = api(lead, "alerts")["results"]
    assert (mine["threshold"], mine["kind"]) == (30, "actual")
    assert Decimal(mine["spent"]) == lead_spent_by_hand() < Decimal(300)
    assert mine["idle_withheld"] == 4
    own = budget_status(target, NOW, scope_for(lead).viewer)
    assert Decimal(mine["forecast"]) == own.forecast.point != alert.forecast
    assert {d["name"]: Decimal(d["amount"]) for d in mine["drivers"]} == {
        "mistral": Decimal("120.0000000004"),
        "llama-70b": sum((Decimal(a) for a in ALPHA), Decimal(0)),
    }
    [theirs] = api(finance, "alerts")["results"]
    assert Decimal(theirs["spent"]) == full and theirs["idle_withheld"] == 0
    assert alert_figures(alert, None).spent == full
    html = main(login(client, lead), f"/budgets/{target.pk}/")
    assert WITHHELD_NOTE in html
    row = re.search(r'<tr id="alert-ID".*?</tr>', html, re.S).group(0)
    assert money(lead_spent_by_hand()) in row and money(full) not in html
    assert '<tr data-threshold="30">' in html and "not reached" in html
