"""What the OpenAI and Anthropic usage and cost reports share: pages of time buckets, each
bucket a list of results; cost results carry money, usage results carry tokens.

A file is one page as the API returns it (`{"data": [...], "has_more": ..., "next_page": ...}`),
several pages one after another, or a JSON array of pages (what the pull source writes: the
cost pages and the usage pages of one billing month). Numbers are read exactly (Decimal).

Costs are authoritative: each cost result becomes one cost line with its money as billed, and
its tokens when a usage result of the same bucket, group (project or workspace), model and
token type says how many. A usage result no cost line of its bucket covers (a usage-only file,
or costs not grouped by line item) becomes a zero-cost line carrying its tokens, so token
counts are kept without adding money. The format modules (openai_usage, anthropic_usage) say
how their results read; this module pairs them and builds the rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from . import hosted
from .errors import Where
from .files import InputFile
from .focus import calendar_month
from .jsondocs import DECIMAL_DECODER, documents
from .rows import CostLineRow


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime
    end: datetime


@dataclass(slots=True)
class Cost:
    """One cost result: money, and what it bought when the report says."""

    bucket: Bucket
    amount: Decimal
    currency: str
    description: str
    group: str  # project_id / workspace_id, "" when not grouped
    model: str = ""
    token_type: str = ""  # the report's own name ("input", "cache_read_input_tokens", ...)
    account: str = ""
    line: int = 0
    tags: dict = field(default_factory=dict)


@dataclass(slots=True)
class Usage:
    """Tokens of one usage result, per token type."""

    bucket: Bucket
    group: str
    model: str
    tokens: dict[str, int]  # token type -> tokens
    account: str = ""
    line: int = 0


@dataclass(frozen=True)
class Provider:
    """How one provider's reports read into rows."""

    name: str  # FOCUS ProviderName: "OpenAI", "Anthropic"
    service: str  # ServiceName
    hosted: str  # hosted_provider: "openai", "anthropic"
    directions: dict[str, str]  # token type -> token direction
    group_tag: str  # the tag a line's group is kept under: "project_id", "workspace_id"


def results(file: InputFile, expected: str) -> Iterator[tuple[Where, str, dict, Bucket, dict]]:
    """(where, path, bucket document, bucket, result) for every result of every page."""
    for line, page in documents(file, expected=expected, decoder=DECIMAL_DECODER):
        where = Where(file.name, line, expected)
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            raise where.error("not a report page", "data", "an object with a list 'data'")
        for i, bucket in enumerate(page["data"]):
            path = f"data[{i}]"
            if not isinstance(bucket, dict) or not isinstance(bucket.get("results"), list):
                raise where.error("not a time bucket", path, "an object with a list 'results'")
            span = bucket_span(where, path, bucket)
            for j, result in enumerate(bucket["results"]):
                if not isinstance(result, dict):
                    raise where.error("not a result object", f"{path}.results[{j}]")
                yield where, f"{path}.results[{j}]", bucket, span, result


def bucket_span(where: Where, path: str, bucket: dict) -> Bucket:
    """The bucket's span: unix seconds (OpenAI start_time/end_time) or RFC 3339 (Anthropic
    starting_at/ending_at)."""
    if "start_time" in bucket or "end_time" in bucket:
        start = _unix(where, f"{path}.start_time", bucket.get("start_time"))
        end = _unix(where, f"{path}.end_time", bucket.get("end_time"))
    else:
        start = _rfc3339(where, f"{path}.starting_at", bucket.get("starting_at"))
        end = _rfc3339(where, f"{path}.ending_at", bucket.get("ending_at"))
    if end <= start:
        column = f"{path}.end_time" if "end_time" in bucket else f"{path}.ending_at"
        message = f"the bucket ends ({end.isoformat()}) before it starts ({start.isoformat()})"
        raise where.error(message, column, "an end after the start")
    return Bucket(start, end)


def _unix(where: Where, column: str, value: object) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise where.error(f"{value!r} is not a time", column, "unix seconds")
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (OverflowError, OSError, ValueError, ArithmeticError):
        raise where.error(f"{value!r} is not a time", column, "unix seconds") from None


def _rfc3339(where: Where, column: str, value: object) -> datetime:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            try:
                return moment.astimezone(UTC)
            except OverflowError:
                return moment
    raise where.error(f"{value!r} is not a time", column, "an RFC 3339 time with its offset")


def money(where: Where, column: str, value: object) -> Decimal:
    """An amount as a JSON number or a decimal string, exactly."""
    if isinstance(value, str):
        with suppress(ArithmeticError):
            value = Decimal(value.strip())
    if isinstance(value, bool) or not isinstance(value, Decimal) or not value.is_finite():
        raise where.error(f"{value!r} is not an amount", column, "a number")
    return value


def count(where: Where, column: str, value: object) -> int:
    """A token count: a whole, non-negative number; absent or null is 0."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise where.error(f"{value!r} is not a count", column, "a whole number of tokens")
    if value < 0 or value != int(value):
        raise where.error(f"{value!r} is not a count", column, "a whole number of tokens")
    return int(value)


def text(where: Where, column: str, value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise where.error(f"{value!r} is not text", column, "a string or null")
    return value.strip()


def currency(where: Where, column: str, value: object) -> str:
    code = text(where, column, value).upper()
    if len(code) != 3 or not code.isalpha():
        raise where.error(f"{value!r} is not a currency", column, "an ISO 4217 code such as usd")
    return code


def rows(
    provider: Provider, costs: Iterable[Cost], usage: Iterable[Usage], file: str
) -> Iterator[CostLineRow]:
    """Cost lines with the tokens usage gives them, then zero-cost lines for usage no cost
    line covers."""
    costs = list(costs)
    tokens: dict[tuple, int] = {}
    origin: dict[tuple, Usage] = {}
    for use in usage:
        for token_type, amount in use.tokens.items():
            key = (use.bucket, use.group, hosted.model_key(use.model), token_type)
            tokens[key] = tokens.get(key, 0) + amount
            origin.setdefault(key, use)
    # Tokens summed over groups, for a cost report not grouped the way usage is.
    ungrouped: dict[tuple, int] = {}
    for (bucket, _, key, token_type), amount in tokens.items():
        ungrouped[(bucket, key, token_type)] = ungrouped.get((bucket, key, token_type), 0) + amount
    covered: set[tuple] = set()
    currencies = set()
    for cost in costs:
        currencies.add(cost.currency)
        key = hosted.model_key(cost.model) if cost.model else ""
        count_: int | None = None
        if key and cost.token_type:
            covered.add((cost.bucket, key, cost.token_type))
            exact = (cost.bucket, cost.group, key, cost.token_type)
            count_ = tokens.get(exact) if cost.group else ungrouped.get(exact[:1] + exact[2:])
        yield _row(provider, cost, count_, file)
    fill = next(iter(currencies)) if len(currencies) == 1 else "USD"
    for (bucket, group, key, token_type), amount in tokens.items():
        if (bucket, key, token_type) in covered or not amount:
            continue
        use = origin[(bucket, group, key, token_type)]
        cost = Cost(
            bucket=bucket,
            amount=Decimal(0),
            currency=fill,
            description=f"{use.model} {token_type} (usage, no cost line)",
            group=group,
            model=use.model,
            token_type=token_type,
            account=use.account,
            line=use.line,
        )
        yield _row(provider, cost, amount, file)


def _row(provider: Provider, cost: Cost, tokens: int | None, file: str) -> CostLineRow:
    try:
        period_start, period_end = calendar_month(cost.bucket.start)
    except (ValueError, OverflowError):
        # December 9999 has no next month: the row checks refuse the bucket, located.
        period_start, period_end = cost.bucket.start, cost.bucket.end
    direction = provider.directions.get(cost.token_type, "")
    row = CostLineRow(
        provider=provider.name,
        billing_account_id=cost.account,
        sub_account_id=cost.group,
        billing_period_start=period_start,
        billing_period_end=period_end,
        charge_period_start=cost.bucket.start,
        charge_period_end=cost.bucket.end,
        charge_category="Usage",
        charge_description=cost.description,
        service_name=provider.service,
        service_category="AI and Machine Learning",
        pricing_category="Standard",
        consumed_quantity=None if tokens is None else Decimal(tokens),
        consumed_unit="Tokens" if tokens is not None else "",
        billed_cost=cost.amount,
        effective_cost=cost.amount,
        billing_currency=cost.currency,
        tags={**({provider.group_tag: cost.group} if cost.group else {}), **cost.tags},
        source_file=file,
        source_row=cost.line,
    )
    if cost.model:
        hosted.mark(row, hosted.HostedLine(provider.hosted, cost.model, direction, tokens))
    return row
