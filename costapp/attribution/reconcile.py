"""Hosted-model reconciliation (finance): per hosted model and day, what the request logs' tokens
cost at list price against what the bill charged, the gap and its likely cause.

- Model: a billed model id (CostLine.hosted_model) and the model names the request logs carry
  are brought to one key by costapp.ingest.hosted.model_key; so are the price table's names
  (costapp.whatif.models.HostedModelPrice). A key billed by two providers is one row (the logs
  rarely say which provider served a request), its providers listed.
- Logged tokens: the request rollups of the day whose model has that key, off the GPU
  inventory (requests our own GPUs served are not the provider's).
- List-price spend: input tokens x input_per_1m / 1M + output tokens x output_per_1m / 1M, the
  price row of the same currency (preferring the row of the billed provider). LiteLLM's own
  `spend` is not stored (costapp.ingest.litellm reads tokens only), so the list price is always
  our price table's, the same for every gateway.
- Billed: the BilledCost of the model's hosted lines (what the invoice adds up), each line on
  the UTC day its charge period starts; with the tokens the lines bill (token_count).
- Gap = billed - list; gap % = gap / list.

Likely cause, the first that applies (heuristics, not proof; each names what it saw):
1. "usage not in request logs": billed, but no logged tokens that day;
2. "not billed": logged tokens, no bill line (yet: bills arrive a day or more late);
3. "no list price": the price table has no row for the model in the bill's currency;
4. "" (matches): |gap| within MATCH_TOLERANCE of the list spend;
5. "price change": the billed price per token of one direction moved by more than
   PRICE_STEP since the previous billed day (a provider's price change, or a new list price);
6. "cache tokens": the day's bill has cache-read or cache-write lines; list prices charge every
   input token at the input rate, while cache reads are billed at a fraction and writes at a
   premium, so the gap is theirs (LiteLLM users report about +8.5 % from this alone);
7. "tokens missing from request logs": the bill counts more tokens than the logs by more than
   MATCH_TOLERANCE (a gateway that skipped some requests, or calls that bypass it);
8. "batch or negotiated discount": billed below list on this day by the model's steady ratio:
   at least two days of the period whose billed / list ratios all lie within STEADY_SPREAD of
   their median, that median under 1 - MATCH_TOLERANCE (batch APIs bill at half price, a
   private offer at its own rate);
9. "unexplained".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from statistics import median

from django.db import connection

from costapp.ingest.hosted import model_key
from costapp.money import ZERO
from costapp.whatif.models import HostedModelPrice

MILLION = Decimal(1_000_000)
MATCH_TOLERANCE = Decimal("0.01")  # a gap within 1 % of the list spend matches
PRICE_STEP = Decimal("0.02")  # a billed price per token moving more than 2 % day to day
STEADY_SPREAD = Decimal("0.02")  # days' billed / list ratios within 2 % of their median

CAUSES = (
    "usage not in request logs",
    "not billed",
    "no list price",
    "price change",
    "cache tokens",
    "tokens missing from request logs",
    "batch or negotiated discount",
    "unexplained",
)

_BILLED = """
SELECT (date_trunc('day', c.charge_period_start AT TIME ZONE 'UTC'))::date AS day,
       c.hosted_provider, c.hosted_model, c.token_direction, c.billing_currency,
       sum(c.billed_cost), sum(c.token_count), count(c.token_count)
FROM ingest_costline c
WHERE c.hosted_model <> '' AND c.charge_period_start >= %(start)s
  AND c.charge_period_start < %(end)s
GROUP BY 1, 2, 3, 4, 5
"""

_LOGGED = """
SELECT (date_trunc('day', u.hour AT TIME ZONE 'UTC'))::date AS day, u.model,
       sum(u.requests), sum(u.input_tokens), sum(u.output_tokens)
FROM ingest_usagerollup u
WHERE u.hour >= %(start)s AND u.hour < %(end)s
  AND NOT EXISTS (SELECT 1 FROM ingest_gpuresource g
                  WHERE u.resource_id <> '' AND g.resource_id = u.resource_id)
GROUP BY 1, 2
"""


class _Gap:
    """Billed against list price: the gap in money and in percent of the list-price spend
    (None where either side is unknown)."""

    list_spend: Decimal | None
    billed: Decimal | None

    @property
    def gap(self) -> Decimal | None:
        if self.list_spend is None or self.billed is None:
            return None
        return self.billed - self.list_spend

    @property
    def gap_pct(self) -> Decimal | None:
        if self.gap is None or not self.list_spend:
            return None
        return self.gap / self.list_spend * 100


@dataclass
class Day(_Gap):
    """One hosted model on one day: logged tokens at list price against the bill."""

    day: date
    key: str
    currency: str
    billed_models: set[str] = field(default_factory=set)
    providers: set[str] = field(default_factory=set)
    logged_models: set[str] = field(default_factory=set)
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    billed: Decimal | None = None  # None: no bill line that day
    billed_tokens: int | None = None
    cache_billed: Decimal = ZERO  # of `billed`, what cache-read / cache-write lines charge
    # per direction: (billed, tokens) of the lines that say their tokens
    unit: dict[str, tuple[Decimal, int]] = field(default_factory=dict)
    price: HostedModelPrice | None = None
    cause: str = ""

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def list_spend(self) -> Decimal | None:
        if self.price is None:
            return None
        return (
            self.input_tokens * self.price.input_per_1m
            + self.output_tokens * self.price.output_per_1m
        ) / MILLION

    @property
    def ratio(self) -> Decimal | None:
        if self.billed is None or not self.list_spend:
            return None
        return self.billed / self.list_spend

    @property
    def model(self) -> str:
        """A readable name: the billed model id, else the logged one."""
        return min(self.billed_models or self.logged_models or {self.key})

    def price_per_token(self, direction: str) -> Decimal | None:
        billed, tokens = self.unit.get(direction, (ZERO, 0))
        return billed / tokens if tokens else None


@dataclass
class ModelTotal(_Gap):
    """One hosted model over the period."""

    key: str
    model: str
    currency: str
    providers: list[str]
    days: int
    tokens: int
    list_spend: Decimal | None
    billed: Decimal | None
    cause: str


@dataclass
class Reconciliation:
    start: datetime
    end: datetime
    days: list[Day]  # newest first, then by model
    models: list[ModelTotal]

    @property
    def daily(self) -> dict[str, dict[str, dict[date, Decimal]]]:
        """Per currency: billed and list-price spend per day, every model together."""
        found: dict[str, dict[str, dict[date, Decimal]]] = {}
        for row in self.days:
            series = found.setdefault(row.currency, {"billed": {}, "list price": {}})
            for name, amount in (("billed", row.billed), ("list price", row.list_spend)):
                if amount is not None:
                    series[name][row.day] = series[name].get(row.day, ZERO) + amount
        return found


def _fetch(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _prices() -> dict[tuple[str, str], list[HostedModelPrice]]:
    found: dict[tuple[str, str], list[HostedModelPrice]] = defaultdict(list)
    for price in HostedModelPrice.objects.all():
        found[(model_key(price.model), price.currency)].append(price)
    return found


def _pick(prices: list[HostedModelPrice], providers: Iterable[str]) -> HostedModelPrice | None:
    wanted = {p.lower() for p in providers}
    ranked = sorted(prices, key=lambda p: (p.provider.lower() not in wanted, p.provider, p.model))
    return ranked[0] if ranked else None


def reconcile(start: datetime, end: datetime) -> Reconciliation:
    """Every hosted model's days in [start, end): billed, logged at list price, gap, cause."""
    params = {"start": start, "end": end}
    days: dict[tuple[date, str, str], Day] = {}
    keys: dict[str, str] = {}

    def key_of(name: str) -> str:
        if name not in keys:
            keys[name] = model_key(name)
        return keys[name]

    for day, provider, model, direction, currency, billed, tokens, counted in _fetch(
        _BILLED, params
    ):
        row = days.setdefault((day, key_of(model), currency), Day(day, key_of(model), currency))
        row.billed_models.add(model)
        if provider:
            row.providers.add(provider)
        row.billed = (row.billed or ZERO) + billed
        if counted:
            row.billed_tokens = (row.billed_tokens or 0) + int(tokens)
            old_billed, old_tokens = row.unit.get(direction, (ZERO, 0))
            row.unit[direction] = (old_billed + billed, old_tokens + int(tokens))
        if direction in ("cache_read", "cache_write"):
            row.cache_billed += billed
    billed_currencies: dict[str, set[str]] = defaultdict(set)
    for row in days.values():
        billed_currencies[row.key].add(row.currency)
    prices = _prices()
    priced_keys = {key for key, _ in prices}
    for day, model, requests, tokens_in, tokens_out in _fetch(_LOGGED, params):
        key = key_of(model)
        if key not in billed_currencies and key not in priced_keys:
            continue  # a model that is neither billed as hosted nor priced: not this page's
        currencies = billed_currencies.get(key) or {currency for k, currency in prices if k == key}
        for currency in sorted(currencies):
            row = days.setdefault((day, key, currency), Day(day, key, currency))
            row.logged_models.add(model)
            row.requests += int(requests)
            row.input_tokens += int(tokens_in)
            row.output_tokens += int(tokens_out)
    for row in days.values():
        row.price = _pick(prices.get((row.key, row.currency), []), row.providers)
    by_model: dict[tuple[str, str], list[Day]] = defaultdict(list)
    for row in days.values():
        by_model[(row.key, row.currency)].append(row)
    totals = []
    for (key, currency), rows in sorted(by_model.items()):
        rows.sort(key=lambda r: r.day)
        steady = _steady_ratio(rows)
        previous: Day | None = None
        for row in rows:
            row.cause = _cause(row, previous, steady)
            if row.billed is not None:
                previous = row
        totals.append(_total(key, currency, rows))
    ordered = sorted(days.values(), key=lambda r: (r.key, r.currency))
    ordered.sort(key=lambda r: r.day, reverse=True)
    return Reconciliation(start, end, ordered, totals)


def _steady_ratio(rows: list[Day]) -> Decimal | None:
    """The model's billed / list ratio when it is steady over the period and below 1."""
    ratios = [r.ratio for r in rows if r.ratio is not None and r.ratio > 0]
    if len(ratios) < 2:
        return None
    middle = median(ratios)
    if middle >= 1 - MATCH_TOLERANCE:
        return None
    if all(abs(r - middle) <= STEADY_SPREAD * middle for r in ratios):
        return middle
    return None


def _price_moved(row: Day, previous: Day | None) -> bool:
    if previous is None:
        return False
    for direction in row.unit:
        now, before = row.price_per_token(direction), previous.price_per_token(direction)
        if now is not None and before and abs(now - before) > PRICE_STEP * before:
            return True
    return False


def _cause(row: Day, previous: Day | None, steady: Decimal | None) -> str:
    if row.billed is not None and row.tokens == 0:
        return "usage not in request logs"
    if row.billed is None:
        return "not billed"
    if row.price is None:
        return "no list price"
    list_spend = row.list_spend or ZERO
    if abs(row.billed - list_spend) <= MATCH_TOLERANCE * abs(list_spend):
        return ""
    if _price_moved(row, previous):
        return "price change"
    if row.cache_billed:
        return "cache tokens"
    if row.billed_tokens is not None and row.billed_tokens > row.tokens * (1 + MATCH_TOLERANCE):
        return "tokens missing from request logs"
    ratio = row.ratio
    if steady is not None and ratio is not None and abs(ratio - steady) <= STEADY_SPREAD * steady:
        return f"batch or negotiated discount (billed ~{steady:.0%} of list)"
    return "unexplained"


def _total(key: str, currency: str, rows: list[Day]) -> ModelTotal:
    priced = [r.list_spend for r in rows if r.list_spend is not None]
    billed = [r.billed for r in rows if r.billed is not None]
    causes = [r.cause for r in rows if r.cause]
    # The period's cause: the one most days have (ties: the one listed first in CAUSES).
    counts: dict[str, int] = defaultdict(int)
    for cause in causes:
        counts[cause] += 1
    cause = max(counts, key=lambda c: (counts[c], -_rank(c)), default="")
    providers = sorted({p for r in rows for p in r.providers})
    models = {m for r in rows for m in r.billed_models} or {
        m for r in rows for m in r.logged_models
    }
    return ModelTotal(
        key=key,
        model=min(models or {key}),
        currency=currency,
        providers=providers,
        days=len(rows),
        tokens=sum(r.tokens for r in rows),
        list_spend=sum(priced, ZERO) if priced else None,
        billed=sum(billed, ZERO) if billed else None,
        cause=cause,
    )


def _rank(cause: str) -> int:
    for index, known in enumerate(CAUSES):
        if cause.startswith(known):
            return index
    return len(CAUSES)
