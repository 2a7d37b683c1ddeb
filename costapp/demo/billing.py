"""Demo billing: one FOCUS 1.0 CSV with hourly GPU instance lines, a few shared lines and the
hosted model's hourly Bedrock token lines.

Column names and order follow the official FOCUS 1.0 sample, then two of the provider columns
AWS's FOCUS export adds (`x_ServiceCode`, `x_UsageType`; FOCUS names a provider's own columns
`x_...`): the Bedrock lines of the hosted model (costapp.demo.hosted) are told by their usage
type, as costapp.ingest.hosted reads it. The instance type is carried in ResourceType (FOCUS
leaves it free text; AWS puts it in the ChargeDescription too), and the pool in Tags. Amounts
keep up to 10 decimals, as real exports do.

The Savings Plan's recurring fee belongs to no resource, so no resource tag reaches it. Finance
teams label such charges with an AWS Cost Category, which AWS exports beside the resource tags
(`costCategory/<name>`, as CUR names the column); the demo's rule for the fee
(costapp.demo.load.DEMO_RULES) matches that label.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from costapp.money import QUANTUM

from . import hosted
from .fleet import (
    ACCOUNT,
    P5,
    REGION,
    SAVINGS_PLAN_DISCOUNT,
    SUB_ACCOUNT,
    Instance,
    build_fleet,
    days_of,
    hours,
    is_running,
)

COLUMNS = (
    "AvailabilityZone BilledCost BillingAccountId BillingAccountName BillingCurrency "
    "BillingPeriodEnd BillingPeriodStart ChargeCategory ChargeClass ChargeDescription "
    "ChargeFrequency ChargePeriodEnd ChargePeriodStart CommitmentDiscountCategory "
    "CommitmentDiscountId CommitmentDiscountName CommitmentDiscountStatus "
    "CommitmentDiscountType ConsumedQuantity ConsumedUnit ContractedCost ContractedUnitPrice "
    "EffectiveCost InvoiceIssuerName ListCost ListUnitPrice PricingCategory PricingQuantity "
    "PricingUnit ProviderName PublisherName RegionId RegionName ResourceId ResourceName "
    "ResourceType ServiceCategory Id ServiceName SkuId SkuPriceId SubAccountId SubAccountName Tags"
).split()
# AWS's own columns in its FOCUS export, after the FOCUS ones.
AWS_COLUMNS = ("x_ServiceCode", "x_UsageType")

AWS = "Amazon Web Services, Inc."
EC2 = "Amazon Elastic Compute Cloud"


def _money(amount: Decimal) -> str:
    return str(amount.quantize(QUANTUM))


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _period(moment: datetime) -> tuple[str, str]:
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return _ts(start), _ts(end)


def _line(start: datetime, end: datetime, **values) -> dict[str, str]:
    period_start, period_end = _period(start)
    line = dict.fromkeys((*COLUMNS, *AWS_COLUMNS), "")
    line.update(
        BillingAccountId=ACCOUNT[0],
        BillingAccountName=ACCOUNT[1],
        BillingCurrency="USD",
        BillingPeriodStart=period_start,
        BillingPeriodEnd=period_end,
        ChargeCategory="Usage",
        ChargeFrequency="Usage-Based",
        ChargePeriodStart=_ts(start),
        ChargePeriodEnd=_ts(end),
        InvoiceIssuerName=AWS,
        ProviderName="AWS",
        PublisherName=AWS,
        RegionId=REGION[0],
        RegionName=REGION[1],
        SubAccountId=SUB_ACCOUNT[0],
        SubAccountName=SUB_ACCOUNT[1],
    )
    line.update({k: str(v) for k, v in values.items()})
    return line


def savings_plan_arn(seed: int) -> str:
    rng = random.Random(f"sp:{seed}")
    return f"arn:aws:savingsplans::{ACCOUNT[0]}:savingsplan/{rng.getrandbits(128):032x}"


def _instance_line(inst: Instance, hour: datetime, seed: int, spot: Decimal) -> dict[str, str]:
    start = max(hour, inst.launched) if inst.launched else hour
    end = hour + timedelta(hours=1)
    # A partial first hour (launched mid-hour) is billed per second, as EC2 does.
    quantity = Decimal((end - start).total_seconds()) / Decimal(3600)
    list_rate = inst.type.on_demand
    values: dict = dict(
        AvailabilityZone=inst.zone,
        ChargeDescription=f"${list_rate} per On Demand Linux {inst.type.name} Instance Hour",
        ConsumedQuantity=quantity.quantize(QUANTUM),
        ConsumedUnit="Hours",
        PricingQuantity=quantity.quantize(QUANTUM),
        PricingUnit="Hours",
        ListUnitPrice=list_rate,
        ListCost=_money(list_rate * quantity),
        PricingCategory=inst.pricing,
        ResourceId=inst.resource_id,
        ResourceName=inst.name,
        ResourceType=inst.type.name,
        ServiceCategory="Compute",
        ServiceName=EC2,
        SkuId=f"{inst.type.name}-{inst.pricing.lower()}",
        Tags=json.dumps({"pool": inst.pool, "env": "prod", "cost-center": "ml-platform"}),
        x_ServiceCode="AmazonEC2",
        # us-east-1 usage types carry no region prefix (CUR: "BoxUsage:p5.48xlarge").
        x_UsageType=f"{'SpotUsage' if inst.pricing == 'Dynamic' else 'BoxUsage'}:{inst.type.name}",
    )
    if inst.pricing == "Committed":
        rate = inst.type.on_demand * (1 - SAVINGS_PLAN_DISCOUNT)
        arn = savings_plan_arn(seed)
        # Covered usage: billed through the plan's recurring fee, so BilledCost is zero here.
        values.update(
            BilledCost=_money(Decimal(0)),
            EffectiveCost=_money(rate * quantity),
            ContractedUnitPrice=rate,
            ContractedCost=_money(rate * quantity),
            CommitmentDiscountCategory="Spend",
            CommitmentDiscountId=arn,
            CommitmentDiscountName="compute-sp-3yr",
            CommitmentDiscountStatus="Used",
            CommitmentDiscountType="Savings Plan",
        )
    else:
        rate = spot if inst.pricing == "Dynamic" else list_rate
        if inst.pricing == "Dynamic":
            values["ChargeDescription"] = f"${rate} per Spot Linux {inst.type.name} Instance Hour"
        cost = _money(rate * quantity)
        values.update(BilledCost=cost, EffectiveCost=cost, ContractedCost=cost)
        values["ContractedUnitPrice"] = rate
    return _line(start, end, **values)


# The Cost Category finance set up for charges no team's resource carries.
SHARED_COST_CATEGORY = ("costCategory/shared-cost", "gpu-commitment")


def _shared_lines(hour: datetime, seed: int, rng: random.Random) -> Iterator[dict[str, str]]:
    end = hour + timedelta(hours=1)
    arn = savings_plan_arn(seed)
    fee = _money(P5.on_demand * (1 - SAVINGS_PLAN_DISCOUNT))
    yield _line(
        hour,
        end,
        ChargeCategory="Purchase",
        ChargeFrequency="Recurring",
        ChargeDescription="3 year No Upfront Compute Savings Plan recurring fee",
        BilledCost=fee,
        EffectiveCost=_money(Decimal(0)),
        ListCost=fee,
        ContractedCost=fee,
        CommitmentDiscountCategory="Spend",
        CommitmentDiscountId=arn,
        CommitmentDiscountName="compute-sp-3yr",
        CommitmentDiscountType="Savings Plan",
        ResourceId=arn,
        ServiceCategory="Compute",
        ServiceName="Savings Plans for AWS Compute usage",
        SkuId="ComputeSP:3yrNoUpfront",
        Tags=json.dumps(dict([SHARED_COST_CATEGORY])),
        x_ServiceCode="ComputeSavingsPlans",
        x_UsageType="ComputeSP:3yrNoUpfront",
    )
    # NAT gateway egress: tiny hourly amounts, the classic sub-cent line.
    gigabytes = Decimal(str(round(rng.uniform(0.02, 0.9), 6)))
    cost = gigabytes * Decimal("0.045")
    yield _line(
        hour,
        end,
        AvailabilityZone="us-east-1b",
        ChargeDescription="$0.045 per GB Data Processed by NAT Gateways",
        BilledCost=_money(cost),
        EffectiveCost=_money(cost),
        ListCost=_money(cost),
        ConsumedQuantity=gigabytes,
        ConsumedUnit="GB",
        PricingQuantity=gigabytes,
        PricingUnit="GB",
        ListUnitPrice="0.045",
        PricingCategory="Standard",
        ResourceId="nat-0d3f5e7a9b1c2d4e6",
        ResourceName="inference-egress",
        ResourceType="NAT Gateway",
        ServiceCategory="Networking",
        ServiceName=EC2,
        SkuId="NatGateway-Bytes",
        Tags=json.dumps({"env": "prod"}),
        x_ServiceCode="AmazonEC2",
        x_UsageType="NatGateway-Bytes",
    )


def _storage_lines(day: date) -> Iterator[dict[str, str]]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    # Model weights and evaluation sets: S3 Standard at $0.023 per GB-month, pro-rated daily.
    for bucket, gb, team in (
        ("il-demo-model-weights", Decimal("4180.5"), ""),
        ("il-demo-eval-sets", Decimal("612.25"), "research"),
    ):
        gb_month = gb / Decimal(30)
        cost = gb_month * Decimal("0.023")
        tags = {"env": "prod"} | ({"team": team} if team else {})
        yield _line(
            start,
            end,
            ChargeDescription="$0.023 per GB - first 50 TB / month of storage used",
            BilledCost=_money(cost),
            EffectiveCost=_money(cost),
            ListCost=_money(cost),
            ConsumedQuantity=gb_month.quantize(QUANTUM),
            ConsumedUnit="GB-Mo",
            PricingQuantity=gb_month.quantize(QUANTUM),
            PricingUnit="GB-Mo",
            ListUnitPrice="0.023",
            PricingCategory="Standard",
            ResourceId=f"arn:aws:s3:::{bucket}",
            ResourceName=bucket,
            ResourceType="Bucket",
            ServiceCategory="Storage",
            ServiceName="Amazon Simple Storage Service",
            SkuId="TimedStorage-ByteHrs",
            Tags=json.dumps(tags),
            x_ServiceCode="AmazonS3",
            x_UsageType="TimedStorage-ByteHrs",
        )


MILLION = Decimal(1_000_000)
_DIRECTION_WORDS = {"input": "input", "output": "output", "cache_read": "cache read input"}


def _bedrock_lines(hour: datetime, usage: hosted.HourUsage) -> Iterator[dict[str, str]]:
    """The hosted model's hour: one line per token direction, counted in tokens, at the
    on-demand price of that direction (cache reads have their own, lower one)."""
    end = hour + timedelta(hours=1)
    for direction, suffix, tokens in usage.lines():
        per_million = hosted.PRICE_PER_1M[direction]
        cost = _money(tokens * per_million / MILLION)
        per_thousand = per_million / 1000  # Bedrock's price list prices per 1K tokens
        usage_type = hosted.USAGE_TYPE.format(suffix)
        yield _line(
            hour,
            end,
            ChargeDescription=f"${per_thousand} per 1K {_DIRECTION_WORDS[direction]} tokens"
            f" for {hosted.MODEL_NAME} in {REGION[1]}",
            BilledCost=cost,
            EffectiveCost=cost,
            ListCost=cost,
            ContractedCost=cost,
            ConsumedQuantity=tokens,
            ConsumedUnit="Tokens",
            PricingQuantity=Decimal(tokens) / 1000,
            PricingUnit="1K Tokens",
            ListUnitPrice=per_thousand,
            ContractedUnitPrice=per_thousand,
            PricingCategory="Standard",
            ResourceId=hosted.PROFILE_ARN,
            ResourceName=hosted.BEDROCK_MODEL,
            ResourceType="Inference Profile",
            ServiceCategory="AI and Machine Learning",
            ServiceName="Amazon Bedrock",
            SkuId=usage_type,
            x_ServiceCode="AmazonBedrock",
            x_UsageType=usage_type,
        )


def billing_lines(seed: int, start: datetime, end: datetime) -> Iterator[dict[str, str]]:
    """Every line of the demo bill for [start, end), in charge-period order. Daily storage
    lines are posted for whole days only: the current day's appears once it has ended."""
    fleet = build_fleet(seed, start)
    caching = hosted.caching_from(start, end)
    rng = random.Random(f"billing:{seed}")
    spot = Decimal("2.1406")
    whole_days = {
        day
        for day in days_of(start, end)
        if start <= datetime(day.year, day.month, day.day, tzinfo=UTC)
        and datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1) <= end
    }
    for hour in hours(start, end):
        if hour.hour == 0 and hour.date() in whole_days:
            yield from _storage_lines(hour.date())
        # Spot moves a little each hour, in tenths of a cent.
        spot = min(
            Decimal("3.1"), max(Decimal("1.7"), spot + Decimal(rng.randint(-30, 30)) / 10000)
        )
        for inst in fleet:
            if is_running(inst, hour + timedelta(hours=1) - timedelta(microseconds=1)):
                yield _instance_line(inst, hour, seed, spot)
        yield from _shared_lines(hour, seed, rng)
        usage = hosted.hour_usage(seed, hour, caching)
        if usage is not None:
            yield from _bedrock_lines(hour, usage)


def write_billing_csv(path: Path, lines) -> int:
    count = 0
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=(*COLUMNS, *AWS_COLUMNS), quoting=csv.QUOTE_MINIMAL
        )
        writer.writeheader()
        for line in lines:
            writer.writerow(line)
            count += 1
    return count


def generate_billing(outdir: Path, *, seed: int, start: datetime, end: datetime) -> list[Path]:
    """Write the demo bill as one FOCUS CSV per billing period (month), as AWS exports it; the
    demo's billing source reads the folder as one delivery, so each period is restated whole."""
    outdir.mkdir(parents=True, exist_ok=True)
    periods: dict[str, list[dict[str, str]]] = {}
    for line in billing_lines(seed, start, end):
        periods.setdefault(line["BillingPeriodStart"][:7], []).append(line)
    paths = []
    for month, lines in periods.items():
        path = outdir / f"focus-{month}.csv"
        write_billing_csv(path, lines)
        paths.append(path)
    return paths
