"""The hosted step: hosted-model lines split by the request logs' tokens, per direction and hour;
what no request explains stays unallocated; money conserved exactly (also under hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costapp.attribution.engine import run_attribution
from costapp.attribution.models import Allocation, CostRule, GpuResource
from costapp.ingest.models import CostLine, GpuSample, UsageRollup
from costapp.money import split

from . import builders as b

pytestmark = pytest.mark.django_db

SONNET = "hosted:bedrock:claude-sonnet-3-5"
BILLED_SONNET = "anthropic.claude-3-5-sonnet-20240620-v1:0"
LOGGED_SONNET = "bedrock/us.anthropic.claude-3-5-sonnet-20240620-v1:0"


def hosted_line(
    cost: str | Decimal,
    direction: str = "input",
    model: str = BILLED_SONNET,
    provider: str = "bedrock",
    hours: int = 1,
    billed: str | Decimal | None = None,
    start: datetime | None = None,
    currency: str = "USD",
) -> CostLine:
    line = b.cost_line(
        resource_id="", cost=cost, billed=billed, hours=hours, start=start, service="Bedrock"
    )
    line.hosted_provider, line.hosted_model, line.token_direction = provider, model, direction
    line.billing_currency = currency
    line.save()
    return line


def use(team: str, model: str = LOGGED_SONNET, at=None, **figures) -> UsageRollup:
    return b.usage(team, at=at, resource_id="", model=model, endpoint="/chat", **figures)


def _rows(**filters) -> dict[tuple[str, str], Allocation]:
    return {(a.kind, a.team): a for a in Allocation.objects.filter(**filters)}


def test_each_direction_splits_by_its_own_tokens():
    hosted_line("30", "input")
    hosted_line("60", "output", billed="66")
    use("search", input_tokens=100, output_tokens=0, requests=2)
    use("ads", input_tokens=200, output_tokens=300, requests=5)
    run_attribution()
    rows = _rows(resource_id=SONNET)
    # input 30 by 100 : 200 -> 10 / 20; output 60 by 0 : 300 -> 0 / 60 (billed 66 -> 0 / 66)
    assert rows[("usage", "search")].amortized_cost == Decimal("10")
    assert rows[("usage", "ads")].amortized_cost == Decimal("80")
    assert rows[("usage", "search")].billed_cost == Decimal("10")
    assert rows[("usage", "ads")].billed_cost == Decimal("86")
    ads = rows[("usage", "ads")]
    # tokens and requests once per key, whatever the number of directions billed
    assert (ads.requests, ads.input_tokens, ads.output_tokens) == (5, 200, 300)
    assert (ads.rule, ads.pool, ads.utilization, ads.gpu_hours) == ("tokens", "", None, 0)
    assert ads.model == LOGGED_SONNET
    assert set(rows) == {("usage", "search"), ("usage", "ads")}


def test_cache_lines_go_by_input_tokens_and_unknown_direction_by_both():
    hosted_line("9", "cache_read")
    hosted_line("4", "")
    use("search", input_tokens=200, output_tokens=0)
    use("ads", input_tokens=100, output_tokens=100)
    run_attribution()
    rows = _rows(resource_id=SONNET)
    # cache 9 by 200 : 100 -> 6 / 3; unknown 4 by 200 : 200 -> 2 / 2
    assert rows[("usage", "search")].amortized_cost == Decimal("8")
    assert rows[("usage", "ads")].amortized_cost == Decimal("5")


def test_split_is_exact_largest_remainder_on_both_bases():
    hosted_line("1.0000000000", "input", billed="0.0000000002")
    for team in ("a", "b", "c"):
        use(team, input_tokens=1)
    run_attribution()
    rows = Allocation.objects.filter(resource_id=SONNET).order_by("team")
    assert [r.amortized_cost for r in rows] == split(Decimal(1), [1, 1, 1])
    assert [r.billed_cost for r in rows] == split(Decimal("0.0000000002"), [1, 1, 1])


def test_a_hosted_line_with_no_matching_requests_stays_unallocated_and_named():
    hosted_line("12.5", "input")
    hosted_line("7.5", "output")
    use("search", model="gpt-4o", input_tokens=100, output_tokens=100)
    run_attribution()
    rows = list(Allocation.objects.filter(resource_id=SONNET))
    assert len(rows) == 1
    row = rows[0]
    assert (row.kind, row.team, row.model, row.pool) == ("unallocated", "", BILLED_SONNET, "")
    assert row.amortized_cost == Decimal("20")


def test_no_tokens_of_the_direction_falls_back_to_requests_then_unallocated():
    hosted_line("10", "output")
    use("search", input_tokens=5, requests=1)
    use("ads", input_tokens=5, requests=3)
    run_attribution()
    rows = _rows(resource_id=SONNET)
    assert rows[("usage", "search")].amortized_cost == Decimal("2.5")
    assert rows[("usage", "ads")].amortized_cost == Decimal("7.5")
    assert rows[("usage", "ads")].rule == "requests"


def test_only_the_direction_nobody_explains_is_unallocated():
    hosted_line("10", "input")
    hosted_line("6", "output")
    use("search", input_tokens=5)  # no output tokens, no requests: the output line is unexplained
    run_attribution()
    rows = _rows(resource_id=SONNET)
    assert rows[("usage", "search")].amortized_cost == Decimal("10")
    assert rows[("unallocated", "")].amortized_cost == Decimal("6")


def test_two_models_in_one_hour_do_not_mix():
    hosted_line("10", "input")
    hosted_line("40", "input", model="gpt-4o-2024-08-06", provider="openai")
    use("search", input_tokens=100)
    use("ads", model="azure/gpt-4o", input_tokens=1)
    run_attribution()
    assert _rows(resource_id=SONNET)[("usage", "search")].amortized_cost == Decimal("10")
    gpt = _rows(resource_id="hosted:openai:gpt-4-o")
    assert set(gpt) == {("usage", "ads")}
    assert gpt[("usage", "ads")].amortized_cost == Decimal("40")


def test_requests_served_by_our_gpus_do_not_explain_a_hosted_bill():
    b.gpu_resource(gpus=1)
    b.cost_line(cost="8")
    b.samples("i-gpu", b.hour(), ["1"])
    b.usage("selfhost", resource_id="i-gpu", model="claude-3-5-sonnet", input_tokens=1000)
    hosted_line("10", "input")
    use("search", input_tokens=1)
    run_attribution()
    assert _rows(resource_id=SONNET)[("usage", "search")].amortized_cost == Decimal("10")
    assert _rows(resource_id="i-gpu")[("usage", "selfhost")].amortized_cost == Decimal("8")


def test_a_daily_line_is_spread_evenly_and_each_hour_split_by_its_own_requests():
    hosted_line("24", "input", hours=24)
    use("search", at=b.hour(0), input_tokens=10)
    use("ads", at=b.hour(1), input_tokens=10)
    run_attribution()
    assert _rows(resource_id=SONNET, hour=b.hour(0))[("usage", "search")].amortized_cost == 1
    assert _rows(resource_id=SONNET, hour=b.hour(1))[("usage", "ads")].amortized_cost == 1
    later = Allocation.objects.filter(resource_id=SONNET, hour__gte=b.hour(2))
    assert set(later.values_list("kind", flat=True)) == {"unallocated"}
    assert later.aggregate(s=Sum("amortized_cost"))["s"] == Decimal(22)
    # A late request log recomputes its hour alone; the line's other hours keep their parts.
    use("late", at=b.hour(5), input_tokens=3)
    run_attribution(b.hour(5), b.hour(6))
    assert _rows(resource_id=SONNET, hour=b.hour(5))[("usage", "late")].amortized_cost == 1
    assert Allocation.objects.filter(resource_id=SONNET).aggregate(s=Sum("amortized_cost"))[
        "s"
    ] == Decimal(24)


def test_tag_rules_and_shared_costs_leave_hosted_lines_and_their_teams_alone():
    CostRule.objects.create(name="all to platform", tag_key="env", action="assign", team="infra")
    CostRule.objects.create(name="even", tag_key="shared", action="even", priority=200)
    b.gpu_resource(gpus=1)
    b.cost_line(cost="8")
    b.samples("i-gpu", b.hour(), ["1"])
    b.usage("gpu-team", input_tokens=10)
    b.cost_line(resource_id="nat", cost="5", tags={"shared": "yes"}, category="Usage")
    line = hosted_line("10", "input")
    line.tags = {"env": "prod"}
    line.save()
    use("search", input_tokens=1)
    run_attribution()
    assert _rows(resource_id=SONNET)[("usage", "search")].amortized_cost == Decimal("10")
    # the "even" shared line goes to the team with GPU use only, not to the hosted model's
    assert set(Allocation.objects.filter(resource_id="nat").values_list("team", flat=True)) == {
        "gpu-team"
    }


def test_hosted_rows_stay_out_of_gpu_figures():
    from costapp.attribution.fleet import fleet

    hosted_line("10", "input")
    use("search", input_tokens=1)
    run_attribution()
    found = fleet((b.hour(0), b.hour(1)), "amortized", "USD")
    assert found.pools == []


# Conservation under random data ------------------------------------------------------------

EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MODELS = (
    ("bedrock", BILLED_SONNET, ("claude-3-5-sonnet", LOGGED_SONNET)),
    ("openai", "gpt-4o-2024-08-06", ("gpt-4o", "openai/gpt-4o")),
)
signed_money = st.decimals(min_value=Decimal("-1000"), max_value=Decimal("1000"), places=10)
lines = st.lists(
    st.tuples(
        st.sampled_from(range(len(MODELS))),
        st.sampled_from(("input", "output", "cache_read", "cache_write", "")),
        signed_money,
        signed_money,
        st.integers(1, 3),
        st.sampled_from(("USD", "EUR")),
    ),
    min_size=1,
    max_size=4,
)
uses = st.lists(
    st.tuples(
        st.sampled_from(range(len(MODELS))),
        st.integers(0, 1),  # which logged spelling
        st.integers(0, 2),  # hour
        st.integers(0, 5),  # requests
        st.integers(0, 10_000),
        st.integers(0, 10_000),
    ),
    max_size=6,
)


def _expected() -> dict:
    """Per (hour, hosted resource id, currency): the hosted lines' spread parts."""
    expected: dict = {}
    for line in CostLine.objects.all():
        hours = int((line.charge_period_end - line.charge_period_start).total_seconds() // 3600)
        resource = SONNET if line.hosted_provider == "bedrock" else "hosted:openai:gpt-4-o"
        parts = zip(
            split(line.effective_cost, [1] * hours),
            split(line.billed_cost, [1] * hours),
            strict=True,
        )
        for i, (part_a, part_b) in enumerate(parts):
            key = (line.charge_period_start + timedelta(hours=i), resource, line.billing_currency)
            old_a, old_b = expected.get(key, (Decimal(0), Decimal(0)))
            expected[key] = (old_a + part_a, old_b + part_b)
    return expected


@EXAMPLES
@given(lines=lines, uses=uses)
def test_every_hosted_model_hour_conserves_both_bases_exactly(lines, uses):
    for model in (Allocation, UsageRollup, GpuSample, CostLine, GpuResource):
        model.objects.all().delete()
    for index, direction, amortized, billed, hours, currency in lines:
        provider, billed_name, _ = MODELS[index]
        hosted_line(amortized, direction, billed_name, provider, hours, billed, currency=currency)
    for i, (index, spelling, hour, requests, tokens_in, tokens_out) in enumerate(uses):
        use(
            f"team-{i % 3}",
            MODELS[index][2][spelling],
            at=b.hour(hour),
            requests=requests,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
        )
    run_attribution()
    got = {
        (row["hour"], row["resource_id"], row["currency"]): (row["a"], row["b"])
        for row in Allocation.objects.values("hour", "resource_id", "currency").annotate(
            a=Sum("amortized_cost"), b=Sum("billed_cost")
        )
    }
    assert got == _expected()
    # a key's tokens are counted once per hosted model and hour, never once per direction
    for row in Allocation.objects.filter(kind="usage"):
        logged = UsageRollup.objects.filter(
            hour=row.hour, team=row.team, model=row.model
        ).aggregate(i=Sum("input_tokens"), o=Sum("output_tokens"))
        assert (row.input_tokens, row.output_tokens) == (logged["i"], logged["o"])


# Hosted and self-hosted on one unit-cost table ----------------------------------------------


def test_hosted_and_self_hosted_models_share_the_unit_cost_table_with_a_marker(client):
    from costapp.attribution.units import unit_costs
    from tests.dashboard.builders import finance_user, page, team_lead

    b.gpu_resource(gpus=1)
    b.cost_line(cost="8")
    b.samples("i-gpu", b.hour(), ["1"])
    b.usage("search", model="llama-70b", input_tokens=1_000_000)
    hosted_line("3", "input")
    hosted_line("15", "output")
    use("search", input_tokens=1_000_000, output_tokens=1_000_000)
    hosted_line("2", "input", model="gpt-4o", provider="openai")
    use("ads", model="gpt-4o", input_tokens=1_000_000)
    run_attribution()
    rows = {r.key: r for r in unit_costs(b.hour(0), b.hour(1), group_by=("model",))}
    assert rows[LOGGED_SONNET].per_million_loaded == Decimal(9)  # 18 / 2M tokens
    assert rows["llama-70b"].per_million_loaded == Decimal(8)
    html = page(client, finance_user(), "/units/?by=model&start=2026-11-01&end=2026-11-01")
    assert "hosted · bedrock" in html and "hosted · openai" in html
    # a lead sees the marker of their own models only
    html = page(client, team_lead("search"), "/units/?by=model&start=2026-11-01&end=2026-11-01")
    assert "hosted · bedrock" in html and "openai" not in html


def test_the_what_if_routing_lever_reads_a_hosted_models_measured_cost_per_1m():
    from costapp.core.access import Scope
    from costapp.whatif.baseline import WhatIfScope, measure

    hosted_line("3", "input")
    hosted_line("15", "output")
    use("search", input_tokens=1_000_000, output_tokens=1_000_000)
    run_attribution()
    target = measure(
        Scope(teams=None), WhatIfScope(model=LOGGED_SONNET), b.hour(0), b.hour(1), "USD"
    )
    # what routing_to=<hosted model> prices the routed tokens at: billed cost / tokens
    assert target.loaded_cost_per_1m_tokens == Decimal(9)
