"""The demo's hosted model: Claude Sonnet 4 on Amazon Bedrock, beside the self-hosted fleet.

Two teams call it through the gateway, which logs the model as LiteLLM names it
("bedrock/us.anthropic.claude-sonnet-4-...") with the inference profile's ARN as resource_id:
the Assistant team's tool-using agent and the Research team's eval judge. The bill
(costapp.demo.billing) carries one Bedrock line per token direction and hour, whose tokens are
exactly the hour's logged tokens, so the hosted split is clean; two things make it differ, as
they do in life:

- Prompt caching. From the window's last third on (`caching_from`) the agent's long system
  prompt and tool definitions are read from Bedrock's prompt cache: part of its input tokens is
  billed on a cache-read line at a tenth of the input price. The gateway's log still counts them
  as input tokens, so /hosted/ shows billed below list price, cause "cache tokens".
- A weekly batch that bypasses the gateway (`BATCH`): Thursday nights, when nobody uses the
  gateway routes, an offline job calls Bedrock directly. No request explains those hours: their
  cost stays unallocated, named by the model, and /hosted/ shows "tokens missing from request
  logs" on those days (before caching starts).

Everything is drawn from random streams seeded apart from the self-hosted traffic's, so adding
the hosted model moved none of the other demo values.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from .fleet import REGION, SUB_ACCOUNT, day_factor, diurnal, poisson, token_count

# The US cross-region (system) inference profile of Claude Sonnet 4: Bedrock serves Claude 4
# models through inference profiles only (docs.aws.amazon.com/bedrock/latest/userguide/
# inference-profiles-support.html). Its ARN is the bill's ResourceId; the id names the model.
BEDROCK_MODEL = "us.anthropic.claude-sonnet-4-20250514-v1:0"
PROFILE_ARN = f"arn:aws:bedrock:{REGION[0]}:{SUB_ACCOUNT[0]}:inference-profile/{BEDROCK_MODEL}"
GATEWAY_MODEL = f"bedrock/{BEDROCK_MODEL}"  # as LiteLLM logs a Bedrock model
MODEL_NAME = "Claude Sonnet 4"
# Bedrock usage types "<region>-<model>-<direction>" (docs.aws.amazon.com/bedrock/latest/
# userguide/cost-mgmt-understanding-cur-data.html), carried in AWS's FOCUS export as x_UsageType.
USAGE_TYPE = "USE1-Claude4Sonnet-{}"

# USD per 1M tokens, Bedrock on-demand (aws.amazon.com/bedrock/pricing): the same $3 / $15 as
# the list-price table's claude-sonnet-4 row (costapp/whatif migration 0002), so the days
# without caching or unlogged usage reconcile exactly. Cache reads cost a tenth of input.
PRICE_PER_1M = {"input": Decimal("3.00"), "output": Decimal("15.00"), "cache_read": Decimal("0.30")}

# The gateway routes are used in working hours only: none where the diurnal curve is below this
# (about 23:00 to 05:00 UTC on weekdays), so the night batch's hours have no logged request.
OFFICE_LEVEL = 0.05
# Thursdays (weekday 3), 02:00-04:59 UTC: the offline batch that calls Bedrock directly.
BATCH = (3, range(2, 5))


@dataclass(frozen=True)
class HostedRoute:
    team: str
    endpoint: str
    peak_per_hour: float
    input_tokens: int  # median
    output_tokens: int  # median
    cached_share: float  # of input tokens, read from the prompt cache once caching is on


HOSTED_ROUTES = (
    HostedRoute("assistant", "/assistant/agent", 60, 24000, 900, 0.6),
    HostedRoute("research", "/research/judge", 20, 8000, 300, 0.0),
)


@dataclass(frozen=True)
class HourUsage:
    """The tokens Bedrock bills for one hour, per direction."""

    input: int  # not read from the cache
    cache_read: int
    output: int

    def lines(self) -> list[tuple[str, str, int]]:
        """(direction, usage type suffix, tokens) of each bill line the hour has."""
        found = [
            ("input", "input-tokens", self.input),
            ("cache_read", "cache-read-input-token-count", self.cache_read),
            ("output", "output-tokens", self.output),
        ]
        return [line for line in found if line[2]]


def caching_from(start: datetime, end: datetime) -> datetime:
    """When the Assistant team turns prompt caching on: the midnight that starts the window's
    last third (its last day in a window of two days or fewer)."""
    days = max(1, (end - start) // timedelta(days=1))
    first = datetime(start.year, start.month, start.day, tzinfo=UTC)
    return first + timedelta(days=days - max(1, days // 3))


def _requests(seed: int, hour: datetime) -> list[tuple[datetime, HostedRoute, dict]]:
    level = diurnal(hour)
    if level < OFFICE_LEVEL:
        return []
    rng = random.Random(f"hosted:{seed}:{hour.isoformat()}")
    load = level * day_factor(seed, PROFILE_ARN, hour.date())
    found = []
    for route in HOSTED_ROUTES:
        for _ in range(poisson(rng, route.peak_per_hour * load)):
            moment = hour + timedelta(microseconds=rng.randrange(3_600_000) * 1000)
            input_tokens = token_count(rng, route.input_tokens)
            output_tokens = token_count(rng, route.output_tokens)
            record = {
                "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.")
                + f"{moment.microsecond // 1000:03d}Z",
                "request_id": f"req-{rng.getrandbits(64):016x}-b{len(found):x}",
                "team": route.team,
                "model": GATEWAY_MODEL,
                "endpoint": route.endpoint,
                "resource_id": PROFILE_ARN,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                # Time to first token, then Sonnet's decode rate.
                "latency_ms": round(450 + input_tokens * 0.02 + output_tokens * 14),
                "cache_hit": False,
            }
            found.append((moment, route, record))
    return found


def hour_records(seed: int, hour: datetime) -> list[tuple[datetime, dict]]:
    """The gateway's request records of the hosted model in one hour, with their moments."""
    return [(moment, record) for moment, _, record in _requests(seed, hour)]


def is_batch_hour(hour: datetime) -> bool:
    return hour.weekday() == BATCH[0] and hour.hour in BATCH[1]


def hour_usage(seed: int, hour: datetime, caching: datetime) -> HourUsage | None:
    """What Bedrock bills for the hour (None: nothing): the logged requests' tokens, part of
    the input read from the cache from `caching` on, and the unlogged batch's tokens."""
    fresh = cached = output = 0
    for _, route, record in _requests(seed, hour):
        share = route.cached_share if hour >= caching else 0.0
        from_cache = int(record["input_tokens"] * share)
        cached += from_cache
        fresh += record["input_tokens"] - from_cache
        output += record["output_tokens"]
    if is_batch_hour(hour):
        rng = random.Random(f"hosted-batch:{seed}:{hour.isoformat()}")
        fresh += rng.randint(1_600_000, 2_400_000)
        output += rng.randint(180_000, 260_000)
    if not (fresh or cached or output):
        return None
    return HourUsage(fresh, cached, output)
