"""The demo dataset: deterministic, realistic in shape, and readable by our own parsers."""

from __future__ import annotations

import csv
import filecmp
import io
import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from costapp.demo import hosted
from costapp.demo.billing import AWS_COLUMNS, COLUMNS
from costapp.demo.dataset import generate_dataset
from costapp.ingest import dcgm, focus, jsonl
from costapp.ingest.files import InputFile

# Four days from Thursday 2026-10-01 00:00 UTC; the second L4 node is launched on day 4 at 10:27.
END = datetime(2026, 10, 5, tzinfo=UTC)
START = END - timedelta(days=4)
# The hosted model's allocation rows (costapp.attribution.hosted), and the hours of the Thursday
# night batch that calls Bedrock without the gateway (costapp.demo.hosted.BATCH).
HOSTED_RESOURCE = "hosted:bedrock:claude-sonnet-4"
BATCH_HOURS = {datetime(2026, 10, 1, hour, tzinfo=UTC) for hour in (2, 3, 4)}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    outdir = tmp_path_factory.mktemp("demo")
    generate_dataset(outdir, seed=7, end=END, days=4)
    return outdir


def _bill(demo: Path) -> list[dict[str, str]]:
    with (demo / "billing" / "focus-2026-10.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_same_seed_gives_identical_files_and_another_seed_does_not(demo, tmp_path):
    generate_dataset(tmp_path / "again", seed=7, end=END, days=4)
    generate_dataset(tmp_path / "other", seed=8, end=END, days=4)
    for sub in ("billing", "telemetry", "requests"):
        names = sorted(p.name for p in (demo / sub).iterdir())
        match, mismatch, errors = filecmp.cmpfiles(
            demo / sub, tmp_path / "again" / sub, names, shallow=False
        )
        assert (mismatch, errors) == ([], []) and len(match) == len(names)
        _, differ, _ = filecmp.cmpfiles(demo / sub, tmp_path / "other" / sub, names, shallow=False)
        assert differ


def test_bill_has_hourly_gpu_lines_for_every_pricing_category(demo):
    lines = _bill(demo)
    gpu = [
        line
        for line in lines
        if line["ServiceCategory"] == "Compute" and line["ResourceId"].startswith("i-")
    ]
    types = {line["ResourceType"] for line in gpu}
    assert types == {"p5.48xlarge", "g5.12xlarge", "g6.xlarge"}
    assert {line["PricingCategory"] for line in gpu} == {"Standard", "Committed", "Dynamic"}
    per_instance = defaultdict(int)
    for line in gpu:
        per_instance[line["ResourceId"]] += 1
    # Six nodes run all 96 hours; the late L4 starts mid-hour on day 4 (a partial hour, 14 lines).
    assert sorted(per_instance.values()) == [14] + [96] * 6
    # 7 GPU lines an hour at most, plus the plan's fee and NAT egress hourly, storage daily,
    # and the hosted model's Bedrock lines (test_the_hosted_model_...).
    bedrock = [line for line in lines if line["ServiceName"] == "Amazon Bedrock"]
    assert bedrock
    assert len(lines) == len(gpu) + 96 * 2 + 4 * 2 + len(bedrock)


def test_committed_and_spot_lines_price_below_list(demo):
    for line in _bill(demo):
        if line["PricingCategory"] == "Committed" and line["ChargeCategory"] == "Usage":
            assert Decimal(line["BilledCost"]) == 0
            assert Decimal(line["EffectiveCost"]) < Decimal(line["ListCost"])
            assert line["CommitmentDiscountStatus"] == "Used"
        if line["PricingCategory"] == "Dynamic":
            assert Decimal(line["EffectiveCost"]) < Decimal(line["ListCost"])


def test_amounts_are_exact_decimals_with_sub_cent_precision(demo):
    lines = _bill(demo)
    costs = [Decimal(line["BilledCost"]) for line in lines]
    assert all(cost.as_tuple().exponent == -10 for cost in costs)
    assert any(cost != cost.quantize(Decimal("0.01")) for cost in costs)
    assert any(Decimal(0) < cost < Decimal("0.01") for cost in costs)
    assert all(json.loads(line["Tags"]) for line in lines if line["Tags"])


def test_bill_uses_the_focus_sample_column_names(shared_fixtures, demo):
    sample = shared_fixtures / "focus-sample-data" / "focus_1.0_sample_1000.csv"
    with sample.open(newline="") as handle:
        assert next(csv.reader(handle)) == list(COLUMNS)
    # Then AWS's own columns, as its FOCUS export adds them.
    with (demo / "billing" / "focus-2026-10.csv").open(newline="") as handle:
        assert next(csv.reader(handle)) == [*COLUMNS, *AWS_COLUMNS]
    assert all(name.startswith("x_") for name in AWS_COLUMNS)


def test_telemetry_parses_and_follows_the_day(demo):
    path = demo / "telemetry" / "dcgm-2026-10-02.prom.gz"  # a Friday
    rows = list(dcgm.parse(InputFile.from_path(path)))
    # 29 GPUs (the second L4 is not launched yet), one reading per 5 minutes.
    assert len(rows) == 29 * 288
    by_pool = defaultdict(lambda: defaultdict(list))
    for row in rows:
        pool = "a10g" if "A10G" in row.gpu_model else "h100" if "H100" in row.gpu_model else "l4"
        by_pool[pool][row.ts.hour].append(row.utilization)
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    assert mean(by_pool["h100"][14]) > mean(by_pool["h100"][3]) + Decimal("0.3")
    # The A10G pool is the chronically underused one, even at its busiest.
    assert mean(by_pool["a10g"][14]) < Decimal("0.35") < mean(by_pool["h100"][14])
    assert all(row.resource_id.startswith("i-0") for row in rows)


def test_requests_are_valid_jsonl_for_five_teams_nine_models_fourteen_endpoints(demo):
    rows = []
    for path in sorted((demo / "requests").iterdir()):
        rows.extend(jsonl.parse(InputFile.from_path(path)))
    assert len({row.request_id for row in rows}) == len(rows)
    assert len({row.team for row in rows}) == 5
    # Eight self-hosted models and the hosted one, which two teams call from two endpoints.
    assert len({row.model for row in rows}) == 9
    assert len({row.endpoint for row in rows}) == 14
    assert {(row.team, row.endpoint) for row in rows if row.model == hosted.GATEWAY_MODEL} == {
        ("assistant", "/assistant/agent"),
        ("research", "/research/judge"),
    }
    billed = {line["ResourceId"] for line in _bill(demo)}
    assert {row.resource_id for row in rows} <= billed
    # Load follows the day: early afternoon is busier than the small hours.
    per_hour = defaultdict(int)
    for row in rows:
        per_hour[row.ts.hour] += 1
    assert per_hour[14] > 3 * per_hour[3]


def _hourly(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def test_the_hosted_model_is_billed_the_logged_tokens_hour_by_hour_but_for_an_unlogged_batch(
    demo,
):
    lines = [
        row
        for path in sorted((demo / "billing").iterdir())
        for row in focus.parse(InputFile.from_path(path))
        if row.hosted_model
    ]
    # Read by the FOCUS reader as Bedrock lines of the model the inference profile names.
    assert {(row.hosted_provider, row.hosted_model) for row in lines} == {
        ("bedrock", hosted.BEDROCK_MODEL)
    }
    billed = defaultdict(lambda: [0, 0])  # hour -> [input and cache-read tokens, output tokens]
    for row in lines:
        billed[row.charge_period_start][row.token_direction == "output"] += row.token_count
        per_token = hosted.PRICE_PER_1M[row.token_direction] / 1_000_000
        assert row.billed_cost == row.effective_cost == row.token_count * per_token
    logged = defaultdict(lambda: [0, 0])
    for path in sorted((demo / "requests").iterdir()):
        for row in jsonl.parse(InputFile.from_path(path)):
            if row.model == hosted.GATEWAY_MODEL:
                assert row.resource_id == hosted.PROFILE_ARN
                logged[_hourly(row.ts)][0] += row.input_tokens
                logged[_hourly(row.ts)][1] += row.output_tokens
    # Every logged hour is billed its tokens exactly; the batch's hours have no request at all.
    assert logged.keys() == billed.keys() - BATCH_HOURS
    assert all(billed[hour] == tokens for hour, tokens in logged.items())
    assert all(billed[hour][0] > 1_000_000 for hour in BATCH_HOURS)
    # Prompt caching starts on the window's last third, in whole days: its fourth day here.
    cached = {row.charge_period_start for row in lines if row.token_direction == "cache_read"}
    assert cached and min(cached) >= datetime(2026, 10, 4, tzinfo=UTC)
    assert hosted.caching_from(START, END) == datetime(2026, 10, 4, tzinfo=UTC)
    assert hosted.caching_from(START, START + timedelta(days=30)) == START + timedelta(days=20)


def test_a_month_stays_within_the_demo_budget_of_requests():
    from costapp.demo.traffic import request_records

    total = sum(1 for _ in request_records(7, START, START + timedelta(days=30)))
    assert 100_000 < total <= 300_000


@pytest.mark.slow
@pytest.mark.django_db
def test_demo_loads_through_ingestion_conserves_cost_and_is_idempotent(tmp_path):
    from django.db.models import Sum

    from costapp.attribution.models import Allocation
    from costapp.demo.load import load_demo
    from costapp.ingest.models import CostLine, IngestionRun, RunStatus
    from costapp.sources.selectors import freshness

    end = START + timedelta(days=2)
    first = load_demo(tmp_path / "demo", seed=7, end=end, days=2, fresh=False)
    assert first.failures == [] and first.runs == {RunStatus.SUCCEEDED: 5}
    assert first.gpu_resources == 6 and first.allocations
    billed = CostLine.objects.aggregate(a=Sum("effective_cost"))["a"]
    assert (
        Allocation.objects.aggregate(a=Sum("amortized_cost"))["a"]
        == billed
        == first.amortized_total
    )
    assert [login.username for login in first.logins][:2] == ["finance", "lead-search"]
    # Loaded as the scheduler would: every run belongs to a demo source, whose freshness shows.
    by_source = {f.source.name: f for f in freshness()}
    assert set(by_source) == {"demo-billing", "demo-telemetry", "demo-requests"}
    assert not IngestionRun.objects.filter(source__isnull=True).exists()
    assert all(f.last_success_at and not f.failing for f in by_source.values())
    assert by_source["demo-requests"].data_through.date() == date(2026, 10, 2)

    again = load_demo(tmp_path / "demo", seed=7, end=end, days=2, fresh=False)
    assert again.runs == {RunStatus.SKIPPED: 5}
    assert again.allocations == first.allocations
    assert CostLine.objects.aggregate(a=Sum("effective_cost"))["a"] == billed


@pytest.mark.slow
@pytest.mark.django_db
def test_a_demo_stored_before_demo_sources_existed_is_replaced_not_counted_twice(tmp_path):
    from django.db.models import Sum

    from costapp.demo.load import load_demo
    from costapp.ingest.models import CostLine
    from costapp.ingest.runs import ingest

    files = generate_dataset(tmp_path / "demo", seed=7, end=START + timedelta(days=1), days=1)
    for path in files.billing:  # as the loader once did: no source, location = the file
        ingest([InputFile.from_path(path)], "focus", location=str(path.resolve()))
    once = CostLine.objects.aggregate(a=Sum("effective_cost"))["a"]

    load_demo(tmp_path / "demo", seed=7, end=START + timedelta(days=1), days=1, fresh=False)

    assert CostLine.objects.aggregate(a=Sum("effective_cost"))["a"] == once
    assert not CostLine.objects.filter(run__source__isnull=True).exists()


def test_the_window_ends_at_the_given_hour_and_whole_days_carry_storage(tmp_path):
    end = datetime(2026, 10, 3, 14, tzinfo=UTC)
    files = generate_dataset(tmp_path, seed=7, end=end, days=2)
    start = end - timedelta(days=2)

    with files.billing[0].open(newline="") as handle:
        lines = list(csv.DictReader(handle))
    parse = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
    assert min(parse(line["ChargePeriodStart"]) for line in lines) == start
    assert max(parse(line["ChargePeriodEnd"]) for line in lines) == end
    # S3 posts a day's storage once the day is over: only 2 October lies wholly inside.
    storage = {line["ChargePeriodStart"] for line in lines if line["ServiceCategory"] == "Storage"}
    assert storage == {"2026-10-02T00:00:00Z"}

    assert [p.name for p in files.requests] == [
        "requests-2026-10-01.jsonl",
        "requests-2026-10-02.jsonl",
        "requests-2026-10-03.jsonl",
    ]
    stamps = [row.ts for path in files.requests for row in jsonl.parse(InputFile.from_path(path))]
    assert start <= min(stamps) and max(stamps) < end
    assert max(stamps) >= end - timedelta(hours=1)  # the last hour is there, not a day short
    samples = [row.ts for row in dcgm.parse(InputFile.from_path(files.telemetry[-1]))]
    assert max(samples) == end - timedelta(minutes=5)


def test_a_window_across_two_months_is_billed_one_file_per_period(tmp_path):
    files = generate_dataset(tmp_path, seed=7, end=datetime(2026, 11, 1, 6, tzinfo=UTC), days=1)
    assert [p.name for p in files.billing] == ["focus-2026-10.csv", "focus-2026-11.csv"]
    for path in files.billing:
        with path.open(newline="") as handle:
            periods = {line["BillingPeriodStart"] for line in csv.DictReader(handle)}
        assert periods == {f"{path.stem[6:]}-01T00:00:00Z"}


def test_the_savings_plan_fee_carries_the_cost_category_the_demo_rule_matches(demo):
    from costapp.demo.load import DEMO_RULES

    fees = [line for line in _bill(demo) if line["ChargeCategory"] == "Purchase"]
    assert len(fees) == 96
    rule = DEMO_RULES[0]
    assert all(json.loads(fee["Tags"]) == {rule["tag_key"]: rule["tag_value"]} for fee in fees)
    others = [line for line in _bill(demo) if line["ChargeCategory"] != "Purchase"]
    assert not any(rule["tag_key"] in json.loads(line["Tags"] or "{}") for line in others)


def test_the_commands_refuse_an_end_that_is_not_a_date_on_the_hour(tmp_path):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="not on the hour"):
        call_command("demo_data", str(tmp_path), "--end", "2026-10-05T14:30")
    with pytest.raises(CommandError, match="expected YYYY-MM-DD"):
        call_command("demo", "--end", "yesterday")


def test_without_an_end_the_demo_data_runs_to_the_current_hour(tmp_path):
    from django.core.management import call_command

    from costapp.demo.dataset import current_hour

    before = current_hour()
    call_command("demo_data", str(tmp_path), "--days", "1", stdout=io.StringIO())
    newest = sorted((tmp_path / "requests").iterdir())[-1]
    stamps = [row.ts for row in jsonl.parse(InputFile.from_path(newest))]
    assert before - timedelta(hours=1) <= max(stamps) < current_hour()


@pytest.mark.slow
@pytest.mark.django_db
def test_the_demo_places_the_savings_plan_fee_and_little_stays_unallocated(tmp_path):
    from django.db.models import Sum

    from costapp.attribution.models import Allocation
    from costapp.demo.load import load_demo
    from costapp.ingest.models import CostLine

    load_demo(tmp_path / "demo", seed=7, end=START + timedelta(days=2), days=2, fresh=False)

    fee = CostLine.objects.filter(charge_category="Purchase").aggregate(b=Sum("billed_cost"))["b"]
    billed = lambda **f: Allocation.objects.filter(**f).aggregate(b=Sum("billed_cost"))["b"]  # noqa: E731
    total = billed()
    self_hosted = total - billed(resource_id=HOSTED_RESOURCE)
    # The fee is a third of the self-hosted bill: it must not sit in "unallocated".
    assert fee > self_hosted / 3
    # The fee goes to the teams in proportion to their GPU cost, every hour, to the quantum.
    assert billed(kind="shared", rule="gpu_cost") == fee
    shared_teams = set(
        Allocation.objects.filter(kind="shared", rule="gpu_cost").values_list("team", flat=True)
    )
    assert shared_teams == {"search", "assistant", "ads", "fraud", "research"}
    assert billed(kind="shared", team="research", resource_id="arn:aws:s3:::il-demo-eval-sets")
    # What stays unallocated is small, and it is the shared lines no rule covers (NAT egress
    # and the untagged model-weights bucket) and the hosted model's unlogged batch.
    unallocated = billed(kind="unallocated")
    assert unallocated < total / 100
    assert set(
        Allocation.objects.filter(kind="unallocated").values_list("resource_id", flat=True)
    ) == {"nat-0d3f5e7a9b1c2d4e6", "arn:aws:s3:::il-demo-model-weights", HOSTED_RESOURCE}


@pytest.mark.slow
@pytest.mark.django_db
def test_the_demo_splits_the_hosted_model_by_logged_tokens_and_conserves_its_cost(tmp_path):
    from django.db.models import Sum

    from costapp.attribution.models import Allocation, GpuResource
    from costapp.demo.load import load_demo
    from costapp.ingest.models import CostLine

    load_demo(tmp_path / "demo", seed=7, end=START + timedelta(days=2), days=2, fresh=False)

    lines = CostLine.objects.exclude(hosted_model="")
    assert set(lines.values_list("hosted_provider", "hosted_model")) == {
        ("bedrock", hosted.BEDROCK_MODEL)
    }
    assert not GpuResource.objects.filter(resource_id=hosted.PROFILE_ARN).exists()
    rows = Allocation.objects.filter(resource_id=HOSTED_RESOURCE)
    both = dict(a=Sum("amortized_cost"), b=Sum("billed_cost"))
    # Every cent of the hosted lines is placed, to the quantum, on both bases.
    expected = lines.aggregate(a=Sum("effective_cost"), b=Sum("billed_cost"))
    assert rows.aggregate(**both) == expected and expected["b"] > 0
    assert not rows.exclude(kind__in=["usage", "unallocated"]).exists()
    assert not rows.exclude(pool="").exists()  # never in GPU pools, idle or fleet figures
    usage = rows.filter(kind="usage")
    assert set(usage.values_list("team", "model", "endpoint")) == {
        ("assistant", hosted.GATEWAY_MODEL, "/assistant/agent"),
        ("research", hosted.GATEWAY_MODEL, "/research/judge"),
    }
    assert set(usage.values_list("rule", flat=True)) == {"tokens"}
    # What no request explains is the batch's hours, whole, named by the billed model.
    unexplained = rows.filter(kind="unallocated")
    assert set(unexplained.values_list("hour", flat=True)) == BATCH_HOURS
    assert set(unexplained.values_list("model", flat=True)) == {hosted.BEDROCK_MODEL}
    batch = lines.filter(charge_period_start__in=BATCH_HOURS)
    assert unexplained.aggregate(**both) == batch.aggregate(
        a=Sum("effective_cost"), b=Sum("billed_cost")
    )


@pytest.mark.slow
@pytest.mark.django_db
def test_a_moved_window_replaces_the_demo_and_sources_report_the_age_of_its_data(tmp_path):
    from django.db.models import Min, Sum

    from costapp.demo.load import load_demo
    from costapp.ingest.models import CostLine, UsageRollup
    from costapp.sources.selectors import freshness

    first_end = START + timedelta(days=1)
    load_demo(tmp_path / "demo", seed=7, end=first_end, days=1, fresh=False)
    later = first_end + timedelta(hours=5)
    summary = load_demo(tmp_path / "demo", seed=7, end=later, days=1, fresh=False)

    assert any("window moved" in note for note in summary.notes)
    # Exactly the new window is stored: nothing of the old one lingers or counts twice.
    lines = CostLine.objects.aggregate(s=Sum("billed_cost"), first=Min("charge_period_start"))
    assert lines["first"] == later - timedelta(days=1)
    files = sorted((tmp_path / "demo" / "requests").iterdir())
    requests = sum(1 for path in files for _ in jsonl.parse(InputFile.from_path(path)))
    assert UsageRollup.objects.aggregate(n=Sum("requests"))["n"] == requests

    now = later + timedelta(minutes=30)
    by_source = {row.source.name: row for row in freshness(now)}
    assert by_source["demo-billing"].data_through == later
    assert by_source["demo-billing"].lag == timedelta(minutes=30)


def test_complete_months_are_the_calendar_months_wholly_inside_the_window():
    from costapp.demo.periods import complete_months

    assert complete_months(datetime(2026, 10, 31, 14, tzinfo=UTC), END + timedelta(days=26)) == []
    assert complete_months(
        datetime(2026, 1, 30, 5, tzinfo=UTC), datetime(2026, 3, 1, 5, tzinfo=UTC)
    ) == [date(2026, 2, 1)]
    # The window's edges may fall exactly on the month's.
    assert complete_months(datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)) == [
        date(2026, 9, 1),
        date(2026, 10, 1),
    ]


FINANCE_PAGES = (
    "/",
    "/units/",
    "/teams/",
    "/teams/search/",
    "/models/llama-3.1-70b-instruct/",
    "/endpoints/?name=/search/answer",
    "/explorer/?dims=team,model",
    "/explain/",
    "/explain/?team=search&hour=2026-10-02T14:00Z",
    "/whatif/",
    "/budgets/",
    "/budgets/channels/",
    "/fleet/",
    "/sources/",
    "/periods/",
    "/profile/",
)
LEAD_PAGES = (
    "/",
    "/units/",
    "/teams/",
    "/teams/search/",
    "/explorer/",
    "/explain/?team=search&hour=2026-10-02T14:00Z",
    "/whatif/",
    "/budgets/",
    "/profile/",
)


@pytest.mark.slow
@pytest.mark.django_db
def test_the_demo_sets_up_budgets_rules_and_a_local_channel_once_and_every_page_answers(
    tmp_path, client
):
    from django.contrib.auth import get_user_model

    from costapp.alerts.models import Alert, AlertRule, Budget, Channel, Delivery, ScopeKind
    from costapp.attribution.models import ClosedPeriod
    from costapp.demo.budgets import CHANNEL_TARGET, DEMO_ALERT_RULES, DEMO_BUDGETS
    from costapp.demo.load import load_demo
    from costapp.demo.periods import close_oldest_month

    end = START + timedelta(days=2)
    first = load_demo(tmp_path / "demo", seed=7, end=end, days=2, fresh=False)
    # Two days hold no whole month: nothing is closed, and the demo says so.
    assert first.closed_month is None and not ClosedPeriod.objects.exists()
    assert any("none was closed" in note for note in first.notes)

    def counts():
        return (
            Budget.objects.count(),
            Channel.objects.count(),
            AlertRule.objects.count(),
            Alert.objects.count(),
            Delivery.objects.count(),
        )

    once = counts()
    assert once[:3] == (len(DEMO_BUDGETS), 1, len(DEMO_ALERT_RULES))
    assert {rule.kind for rule in AlertRule.objects.all()} == {"unit_cost", "idle", "anomaly"}
    assert set(Budget.objects.values_list("scope_kind", flat=True)) == {
        ScopeKind.ORG,
        ScopeKind.TEAM,
        ScopeKind.MODEL,
    }
    channel = Channel.objects.get()
    assert channel.kind == "email" and channel.target == CHANNEL_TARGET
    assert channel.target.endswith("@localhost")  # nothing the demo fires leaves the machine

    # Edited in the meantime, the demo's configuration is put back, and nothing fires twice.
    Budget.objects.filter(scope_kind=ScopeKind.ORG).update(amount=1)
    again = load_demo(tmp_path / "demo", seed=7, end=end, days=2, fresh=False)
    assert again.alerts.fired == 0
    assert counts() == once
    assert Budget.objects.get(scope_kind=ScopeKind.ORG).amount == Decimal(DEMO_BUDGETS[0]["amount"])

    # A window holding a whole month closes it once; its chargeback then has a page.
    month, closed = close_oldest_month(START - timedelta(days=31), START)
    assert (month, closed) == (date(2026, 9, 1), True)
    assert close_oldest_month(START - timedelta(days=31), START) == (month, False)

    users = get_user_model()
    client.force_login(users.objects.get(username="finance"))
    assistant = Budget.objects.get(scope_value="assistant")
    for path in (*FINANCE_PAGES, f"/budgets/{assistant.pk}/", "/chargeback/2026-09/"):
        assert client.get(path).status_code == 200, path

    # The hosted model beside the self-hosted ones: marked in the unit-cost table, and its bill
    # reconciled with the logged tokens at list price (Thursday's batch is not in the logs,
    # Friday's bill has prompt-cache reads: costapp.demo.hosted).
    units = client.get("/units/?by=model").content.decode()
    assert hosted.GATEWAY_MODEL in units and "hosted · bedrock" in units
    assert "llama-3.1-70b-instruct" in units
    reconciliation = client.get("/hosted/")
    assert reconciliation.status_code == 200
    page = reconciliation.content.decode()
    assert hosted.BEDROCK_MODEL in page and "bedrock" in page
    causes = {day.day: day.cause for day in reconciliation.context["r"].days}
    assert causes == {
        date(2026, 10, 1): "tokens missing from request logs",
        date(2026, 10, 2): "cache tokens",
    }
    for day in reconciliation.context["r"].days:
        assert day.price is not None and day.price.model == "claude-sonnet-4"
        assert day.billed and day.list_spend and day.billed != day.list_spend

    client.force_login(users.objects.get(username="lead-search"))
    search = Budget.objects.get(scope_value="search")
    for path in (*LEAD_PAGES, f"/budgets/{search.pk}/"):
        assert client.get(path).status_code == 200, path
    assert client.get(f"/budgets/{assistant.pk}/").status_code == 404
    assert client.get("/fleet/").status_code == 403
    assert client.get("/hosted/").status_code == 404
    # Search never used the hosted model: its lead is not shown the model or its provider.
    units = client.get("/units/?by=model").content.decode()
    assert hosted.GATEWAY_MODEL not in units and "hosted ·" not in units
