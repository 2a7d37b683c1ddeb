"""/units/ and the overview as an attacker: a team lead with idle shared back never learns the
one other team's figures from their own idle share (docs/ARCHITECTURE.md, "What a team lead
may see").

The attack: in a pool-hour that one other team shares, the lead's idle share is the pool's idle
x own cost / the pool's busy cost, so own cost / (own cost + own idle share) is the pool's
utilization u (likewise with GPU-hours, or 100% - the idle % the page prints). The GPU count
(inventory) and own cost / own GPU-hours give the hourly price H; then H x u - own cost is the
other team's cost, H x (1 - u) - own idle share its idle share, own weight x its cost / own cost
its tokens. Checked three ways:

- the attacker's algebra over every number on the page (tables and chart JSON) finds none of
  the other team's figures, though the same algebra on the withheld share finds them all;
- two worlds that differ only in the other team's use and the pool's utilization, with the
  lead's own figures equal, give the lead identical pages (finance's differ);
- every number, and every pair difference, sum and ratio, misses every other team's figure
  (tests/dashboard/shared_hours.py), while a pool that two other teams share keeps its share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.db import transaction

from costapp.attribution import selectors as attribution
from costapp.attribution.engine import run_attribution
from costapp.attribution.models import Allocation, LineKind
from costapp.core.access import scope_for
from costapp.dashboard.templatetags.ledger import money
from tests.attribution import builders as b

from . import shared_hours as s
from .builders import finance_user, page, team_lead

pytestmark = pytest.mark.django_db

H0, H1 = b.hour(0), b.hour(1)
GPUS = 8
MILLION = Decimal(1_000_000)
# Alpha (the lead's team) per hour on "i-pair": requests, input tokens, output tokens.
ALPHA = [(3701, 1187, 203), (2903, 1409, 173)]
# Bravo's use and the pool's utilization in two worlds, chosen so that u x alpha's weight / the
# pool's weight is the same in both (weights 4552 and 4372 x 1.25 = 5690 and 5465): alpha's own
# cost, GPU-hours and tokens are equal, only what the lead must not learn differs.
WORLDS = {
    "seen": ("0.60", [(8317, 2713, 449), (6113, 2267, 523)]),
    "other": ("0.75", [(9001, 3511, 789), (7207, 3100, 783)]),
}
PERIODS = {"H0": [H0], "H1": [H1], "day": [H0, H1]}
LEAD_PAGES = [
    "/units/?idle=share&grain=hour",
    "/units/?idle=share&grain=hour&by=model",
    "/units/?idle=share&grain=hour&by=endpoint",
    "/units/?idle=share&grain=day",
    "/units/?idle=share&grain=month",
    "/units/?idle=separate&grain=hour",
    "/?idle=share",
    "/?idle=share&basis=billed",
]


def units(user, **query) -> attribution.UnitReport:
    return attribution.unit_report(scope_for(user), attribution.ReportQuery(**query))


def overview(user, **query) -> attribution.CostReport:
    return attribution.cost_report(scope_for(user), attribution.ReportQuery(**query))


def build_pair(world: str = "seen") -> None:
    """One 8-GPU node in its own pool, used by alpha and bravo alone in two hours of a day."""
    utilization, bravo = WORLDS[world]
    b.gpu_resource("i-pair", gpus=GPUS, pool="pool-pair")
    b.cost_line("i-pair", cost="173.2918", billed="191.0713", hours=2)
    for at, mine, theirs in zip((H0, H1), ALPHA, bravo, strict=True):
        b.samples("i-pair", at, [utilization], gpus=GPUS)
        for team, (requests, inp, out) in (("alpha", mine), ("bravo", theirs)):
            b.usage(team, at, "i-pair", requests=requests, input_tokens=inp, output_tokens=out)
    run_attribution(H0, H1 + timedelta(hours=1))


def main(client, user, path: str) -> str:
    """The page's <main>, entities decoded: its figures, and the chart JSON, without the chrome."""
    html = unescape(page(client, user, path))
    return html.split("<main>", 1)[1].split("</main>", 1)[0]


@dataclass(frozen=True)
class Own:
    """What the lead knows of their own team in some hours (their explain shows it all)."""

    cost: Decimal
    gpu_hours: Decimal
    weight: Decimal
    counts: tuple[int, ...]  # tokens, input, output, requests: what per-unit prices divide by
    hours: int


def own(team: str, hours: list, basis: str = "amortized") -> Own:
    rows = list(Allocation.objects.filter(team=team, hour__in=hours, kind=LineKind.USAGE))
    inp = sum(r.input_tokens for r in rows)
    out = sum(r.output_tokens for r in rows)
    return Own(
        cost=sum((getattr(r, f"{basis}_cost") for r in rows), Decimal(0)),
        gpu_hours=sum((r.gpu_hours for r in rows), Decimal(0)),
        weight=sum((r.weight for r in rows), Decimal(0)),
        counts=(inp + out, inp, out, sum(r.requests for r in rows)),
        hours=len({r.hour for r in rows}),
    )


def idle_share(team: str, hours: list, basis: str = "amortized") -> Decimal:
    """The idle `team` carries under share-idle in those hours: finance's figure."""
    end = hours[-1] + timedelta(hours=1)
    rows = attribution.unit_costs(hours[0], end, [team], share_idle=True, basis=basis)
    return sum((row.idle for row in rows), Decimal(0))


def other_figures(team: str, hours: list, basis: str = "amortized") -> dict[str, Decimal]:
    """The figures of `team` over those hours that the attack goes after."""
    figures = own(team, hours, basis)
    found = {
        "cost": figures.cost,
        "idle share": idle_share(team, hours, basis),
        "GPU-hours": figures.gpu_hours,
        "utilization": Allocation.objects.filter(kind=LineKind.USAGE, hour=hours[0])
        .first()
        .utilization,
    }
    if len(hours) == 1:
        # Over several hours the weights of different pool sizes do not add up to one ratio.
        found["tokens"] = Decimal(figures.counts[0])
    return found


def _half_unit(text: str) -> Decimal:
    """Half the last shown place of a number: how far the page's rounding can have moved it.
    Whole numbers are counts (tokens, requests) or parts of a date, shown exactly."""
    if "." not in text:
        return Decimal(0)
    return Decimal(5).scaleb(-len(text.split(".", 1)[1]) - 1)


def utilizations(text: str, mine: Own) -> list[tuple[Decimal, Decimal]]:
    """Each utilization the attacker can compute from one number on the page and their own
    figures, as an interval (low, high): the number read as the idle share (cost or GPU-hours),
    as the row's cost or GPU-hours with idle, as a unit price times what it divides by, or as
    an idle percentage."""
    found = []

    def by_idle(own_amount: Decimal, idle: Decimal, spread: Decimal) -> None:
        for end in (idle - spread, idle + spread):
            if own_amount + end <= 0:
                return
        low = own_amount / (own_amount + idle + spread)
        high = own_amount / (own_amount + idle - spread)
        found.append((low, high))

    for value, spread in _figures(text):
        for total, amount in ((mine.cost, value), (mine.gpu_hours, value)):
            by_idle(total, amount, spread)
            by_idle(total, amount - total, spread)
            for count in mine.counts:
                for per in (MILLION, Decimal(1000)):
                    by_idle(total, amount * count / per - total, spread * count / per)
    for shown in re.findall(r"(-?\d+(?:\.\d+)?)%", text):
        value, spread = Decimal(shown) / 100, _half_unit(shown) / 100
        found += [(1 - value - spread, 1 - value + spread), (value - spread, value + spread)]
    return found


def derive(u_low: Decimal, u_high: Decimal, mine: Own) -> dict[str, tuple[Decimal, Decimal]]:
    """What a utilization gives the attacker about the one other team, as intervals."""
    price = mine.cost / mine.gpu_hours * GPUS  # the node's hourly cost
    out: dict[str, list[Decimal]] = {}
    for u in (u_low, u_high):
        if u <= 0:
            return {}
        busy = price * mine.hours * u
        idle = price * mine.hours * (1 - u)
        cost = busy - mine.cost
        values = {
            "cost": cost,
            "idle share": idle * cost / busy,
            "GPU-hours": GPUS * mine.hours * u - mine.gpu_hours,
            "utilization": u,
            "tokens": mine.weight * cost / mine.cost,
        }
        for name, value in values.items():
            out.setdefault(name, []).append(value)
    return {name: (min(pair), max(pair)) for name, pair in out.items()}


def attack(text: str, mine: Own, secret: dict[str, Decimal]) -> list[str]:
    """The other team's figures the attacker pins down (to within a cent, a token or 0.01%)."""
    slack = {"tokens": Decimal("0.5"), "utilization": Decimal("0.0001")}
    hits = set()
    for low, high in utilizations(text, mine):
        if high - low > Decimal("0.001"):
            continue  # a number too coarse to pin anything (a count, a rounded percent)
        for name, (lo, hi) in derive(low, high, mine).items():
            margin = slack.get(name, Decimal("0.01"))
            if name in secret and lo - margin <= secret[name] <= hi + margin:
                hits.add(f"{name} {secret[name]} (u in [{low:.6f}, {high:.6f}])")
    return sorted(hits)


@pytest.fixture
def pair():
    build_pair()


@pytest.mark.parametrize("path", LEAD_PAGES)
@pytest.mark.parametrize("period", PERIODS)
def test_the_idle_share_algebra_gives_the_lead_no_figure_of_the_other_team(
    client, pair, path, period
):
    basis = "billed" if "billed" in path else "amortized"
    hours = PERIODS[period]
    text = main(client, team_lead("alpha"), path)
    assert attack(text, own("alpha", hours, basis), other_figures("bravo", hours, basis)) == []


@pytest.mark.parametrize("period", PERIODS)
def test_the_same_algebra_on_the_withheld_share_gives_every_figure(pair, period):
    """The attack is real: the share the page withholds, shown to the cent, gives them all."""
    hours = PERIODS[period]
    withheld = money(idle_share("alpha", hours))  # as the page would print it
    secret = other_figures("bravo", hours)
    found = attack(withheld, own("alpha", hours), secret)
    assert {hit.split(" ", 1)[0] for hit in found} >= {"cost", "idle", "GPU-hours", "utilization"}
    if period != "day":
        assert any(hit.startswith("tokens") for hit in found)


def _world_pages(client, lead, world: str, paths: list[str]) -> list[str]:
    """The pages in one world, rolled back after: the next world starts from nothing."""
    with transaction.atomic():
        build_pair(world)
        pages = [main(client, lead, path) for path in paths]
        own_rows = sorted(
            Allocation.objects.filter(team="alpha").values_list(
                "hour", "kind", "amortized_cost", "billed_cost", "gpu_hours", "input_tokens"
            )
        )
        transaction.set_rollback(True)
    return [*pages, repr(own_rows)]


def test_a_lead_cannot_tell_two_worlds_apart_that_differ_only_in_the_other_team(client):
    lead = team_lead("alpha")
    seen = _world_pages(client, lead, "seen", LEAD_PAGES)
    other = _world_pages(client, lead, "other", LEAD_PAGES)
    assert seen[-1] == other[-1], "the worlds must give alpha the same own figures"
    for path, one, two in zip(LEAD_PAGES, seen, other, strict=False):
        assert one == two, f"{path} tells the lead which world this is"
    assert "Idle share withheld for 2 pool-hours shared with exactly one other team" in seen[0]


def test_finance_sees_the_two_worlds_differ(client):
    paths = ["/units/?idle=share&grain=hour", "/?idle=share"]
    user = finance_user()
    seen = _world_pages(client, user, "seen", paths)
    other = _world_pages(client, user, "other", paths)
    for one, two in zip(seen[:-1], other[:-1], strict=True):
        assert one != two and "withheld" not in one


def test_finance_sees_the_lead_teams_idle_share(client, pair):
    text = main(client, finance_user(), "/units/?idle=share&grain=hour")
    for at in (H0, H1):
        assert money(idle_share("alpha", [at])) in text
    lead = main(client, team_lead("alpha"), "/units/?idle=share&grain=hour")
    assert money(idle_share("alpha", [H1])) not in lead


@pytest.mark.parametrize("grain", ["hour", "day", "month"])
def test_a_leads_units_add_up_without_the_withheld_share(pair, grain):
    data = units(team_lead("alpha"), grain=grain, share_idle=True)
    assert data.idle_withheld == 2
    [summary] = data.summary
    for name in ("cost", "idle", "gpu_hours", "requests", "input_tokens", "output_tokens"):
        total = sum((getattr(row, name) for row in data.periods), 0)
        assert getattr(summary, name) == total, name
    assert summary.idle == 0
    assert summary.cost == own("alpha", PERIODS["day"]).cost
    assert all(row.idle_withheld for row in data.periods)
    [team] = data.teams_idle
    assert team.idle_cost == 0 and team.idle_gpu_hours == 0


def test_a_leads_overview_adds_up_without_the_withheld_share(client, pair):
    data = overview(team_lead("alpha"), share_idle=True)
    [team] = data.teams
    assert data.idle_withheld == 2 and team.idle == 0
    assert data.total == team.cost == own("alpha", PERIODS["day"]).cost
    loaded = data.all_teams
    assert loaded.per_million_loaded == data.total * MILLION / loaded.tokens
    finance = overview(finance_user(), share_idle=True)
    assert {t.key: t.idle for t in finance.teams}["alpha"] == idle_share("alpha", PERIODS["day"])
    assert finance.idle_withheld == 0


def _figures(text: str) -> list[tuple[Decimal, Decimal]]:
    """The page's numbers in order with their rounding; of a chart, its data, not its styling
    (font sizes, margins and colours are not figures, and only make chance matches)."""
    text = re.sub(r'"layout": \{.*?\}\}\s*(?=</script>)', "", text, flags=re.S)
    text = re.sub(r'"(?:line|marker|marker_color)": \{[^}]*\}|"#[0-9a-fA-F]{6}"', "", text)
    return [
        (Decimal(m.replace(",", "")), _half_unit(m.replace(",", "")))
        for m in re.findall(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?", text)
    ]


def _pairs(figures: list[tuple[Decimal, Decimal]]):
    """Each number and each pair's difference, sum and ratio, as intervals the page's rounding
    allows, named by the numbers' places on the page."""
    for i, (x, dx) in enumerate(figures):
        yield f"#{i}", x - dx, x + dx
        for j, (y, dy) in enumerate(figures):
            if i == j:
                continue
            yield f"#{i} - #{j}", x - y - dx - dy, x - y + dx + dy
            yield f"#{i} + #{j}", x + y - dx - dy, x + y + dx + dy
            if y - dy >= 1:  # dividing by a fraction magnifies its rounding past use
                ratios = [(x + a) / (y + c) for a in (-dx, dx) for c in (-dy, dy)]
                yield f"#{i} / #{j}", min(ratios), max(ratios)


def _matches(text: str, secret: dict[str, Decimal]) -> set[tuple[str, str]]:
    found = set()
    for how, low, high in _pairs(_figures(text)):
        found |= {(name, how) for name, value in secret.items() if low <= value <= high}
    return found


def _bravo_secrets() -> dict[str, Decimal]:
    """Bravo's figures per hour (every allocation, each basis) and over the day, its idle
    share, and the pool's idle, which less the lead's share is bravo's."""
    found = {**s.secrets("bravo", H0), **s.secrets("bravo", H1)}
    for name, hours in PERIODS.items():
        for key, value in other_figures("bravo", hours).items():
            found[f"bravo {name} {key}"] = value
        found[f"i-pair {name} idle"] = sum(
            (a.amortized_cost for a in Allocation.objects.filter(kind="idle", hour__in=hours)),
            Decimal(0),
        )
    return found


def _world_matches(client, lead, world: str, paths: list[str]) -> list[set[tuple[str, str]]]:
    with transaction.atomic():
        build_pair(world)
        secret = _bravo_secrets()
        found = [_matches(main(client, lead, path), secret) for path in paths]
        transaction.set_rollback(True)
    return found


def test_no_number_or_pair_of_numbers_gives_the_other_teams_figure_in_both_worlds(client):
    """Every number, pair difference, sum and ratio on each page, against every bravo figure.
    Rounded to the cent, some pair lands near some figure by chance; a derivation that reveals
    the figure keeps revealing it when bravo's use changes, so a leak is one that matches in
    both worlds, each against its own bravo."""
    lead = team_lead("alpha")
    seen = _world_matches(client, lead, "seen", LEAD_PAGES)
    other = _world_matches(client, lead, "other", LEAD_PAGES)
    for path, one, two in zip(LEAD_PAGES, seen, other, strict=True):
        assert one & two == set(), path


# The shared-hours world (tests/dashboard/shared_hours.py): i-pair (alpha and bravo) in H0 and
# H1, i-trio (alpha, bravo and charlie) in H0, a storage line shared over both hours.


@pytest.fixture
def shared():
    s.build()


def test_a_pool_two_other_teams_share_keeps_its_idle_share(client, shared):
    lead = team_lead("alpha")
    data = units(lead, grain="hour", share_idle=True)
    by_hour = {row.period: row for row in data.periods}
    trio = attribution.unit_costs(
        H0, H0 + timedelta(hours=1), ["alpha"], share_idle=True, viewer=["alpha", "charlie"]
    )  # charlie visible too: i-trio then has one other team (bravo), i-pair still one
    assert trio[0].idle == 0
    assert by_hour[H0].idle > 0 and by_hour[H1].idle == 0
    assert by_hour[H0].idle < idle_share("alpha", [H0])
    assert data.idle_withheld == 2  # i-pair in H0 and H1
    text = main(client, lead, "/units/?idle=share&grain=hour")
    assert "Idle share withheld for 2 pool-hours" in text
    assert money(by_hour[H0].idle) + " *" in text
