"""The overview's idle view: idle kept separate, or shared back to the teams of each pool."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from costapp.attribution.costs import cost_report
from costapp.attribution.models import AttributionPolicy, IdlePolicy, LineKind
from costapp.attribution.query import ReportQuery
from costapp.core.access import scope_for
from costapp.dashboard.templatetags.ledger import money

from .builders import allocation, figure, finance_user, page, team_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def pools():
    """Pool A at 10:00 used 60 : 40 by search and ads with 20 idle; at 11:00 idle 8 and unused.
    Pool B at 10:00 used by search alone with 5 idle. So shared back: search 12 + 5, ads 8,
    and 8 stays the company's."""
    a, b = dict(pool="a", resource_id="i-a"), dict(pool="b", resource_id="i-b")
    allocation("2026-10-01T10:00", team="search", amortized="60", model="m", **a)
    allocation("2026-10-01T10:00", team="ads", amortized="40", model="m", **a)
    allocation("2026-10-01T10:00", LineKind.IDLE, amortized="20", gpu_hours="2", **a)
    allocation("2026-10-01T11:00", LineKind.IDLE, amortized="8", gpu_hours="1", **a)
    allocation("2026-10-01T10:00", team="search", amortized="10", model="m", **b)
    allocation("2026-10-01T10:00", LineKind.IDLE, amortized="5", gpu_hours="1", **b)
    allocation("2026-10-01T10:00", LineKind.SHARED, team="search", amortized="3", resource_id="s3")
    allocation("2026-10-01T10:00", LineKind.UNALLOCATED, amortized="1.5", resource_id="nat")
    allocation("2026-10-01T12:00", LineKind.UNMEASURED, amortized="2", resource_id="i-c")


def _html(client, user, query: str = "") -> str:
    return page(client, user, "/" + query)


def _note(html: str) -> str:
    return html.split('id="idle-view"')[1].split("</p>")[0]


def _team_row(html: str, team: str) -> list[str]:
    table = html.split('id="by-team"')[1].split("</table>")[0]
    table = re.sub(r"</?a\b[^>]*>", "", table)  # names link to their pages
    row = re.search(rf'<th scope="row">{team}</th>(.*?)</tr>', table).group(1)
    return re.findall(r'<td class="num">([^<]*)</td>', row)


def test_the_default_view_is_the_org_policy_and_the_page_says_which(client, pools):
    user = finance_user()
    assert "Idle shown separately." in _note(_html(client, user))
    AttributionPolicy.objects.update_or_create(pk=1, defaults={"idle_policy": IdlePolicy.SHARE})
    html = _html(client, user)
    assert "Idle shared back to teams." in _note(html)
    assert 'data-idle-view="share"' in html
    assert 'data-idle-view="separate"' in _html(client, user, "?idle=separate")


def test_shared_back_team_totals_include_their_pools_idle(client, pools):
    html = _html(client, finance_user(), "?idle=share")
    # cost, idle share, total, requests, tokens, per 1M tokens
    assert _team_row(html, "search")[:3] == [
        money(Decimal(73)),
        money(Decimal(17)),
        money(Decimal(90)),
    ]
    assert _team_row(html, "ads")[:3] == [money(Decimal(40)), money(Decimal(8)), money(Decimal(48))]
    assert figure(html, "attributed") == money(Decimal(138))
    assert figure(html, "idle-shared") == money(Decimal(25))
    assert figure(html, "idle-left") == money(Decimal(8))


def test_separate_view_keeps_team_costs_to_busy_time_and_shared_costs(client, pools):
    html = _html(client, finance_user(), "?idle=separate")
    assert _team_row(html, "search")[0] == money(Decimal(73))
    assert len(_team_row(html, "search")) == 5  # no idle share or total column
    assert figure(html, "attributed") == money(Decimal(113))
    assert 'id="idle-left"' not in html


@pytest.mark.parametrize("share_idle", [False, True])
def test_teams_plus_the_lines_no_team_owns_add_up_to_the_total(pools, share_idle):
    data = cost_report(scope_for(finance_user()), ReportQuery(share_idle=share_idle))
    unowned = data.idle_left + data.stored[LineKind.UNALLOCATED] + data.stored[LineKind.UNMEASURED]
    assert sum((team.cost for team in data.teams), Decimal(0)) + unowned == data.total
    assert data.total == Decimal("149.5")


def test_a_team_lead_sees_their_team_cost_under_either_view(client, pools):
    lead = team_lead("search")
    separate = _html(client, lead, "?idle=separate")
    shared = _html(client, lead, "?idle=share")
    assert figure(separate, "total-spend") == money(Decimal(73))
    # Pool A at 10:00 is shared with ads alone: its idle share (12) is withheld from the lead,
    # pool B's (5) is not (docs/ARCHITECTURE.md, "What a team lead may see").
    assert figure(shared, "total-spend") == money(Decimal(78))
    assert "Idle share withheld for 1 pool-hour shared" in shared
    for html in (separate, shared):
        assert "ads" not in html.split("</header>")[1]
        assert 'id="idle-left"' not in html and 'id="idle-cost"' not in html


def test_switching_the_idle_view_keeps_the_cost_basis(client, pools):
    html = _html(client, finance_user(), "?idle=share&basis=billed")
    form = html.split('class="controls"')[1].split("</form>")[0]
    hidden = form.split('<div class="segmented"')[0]
    assert 'name="basis" value="billed"' in hidden and 'name="idle" value="share"' in hidden
