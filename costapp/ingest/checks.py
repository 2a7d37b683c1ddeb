"""Every parsed row checked against costapp.core.limits before the writers store it.

The one place where a row's values meet the named limits: timestamps inside the plausible
window, charge and billing periods that end after they start (a charge period lasting at most
a billing period), money, quantities and counts that fit their columns, strings within their column's length and
without NUL. A violation is a ParseError at the row's file and line, in the column the format
calls it (the field name where a format has no single column for it), naming the value and the
expected form. The writers run inside the delivery's transaction, so a refused row stores
nothing of its delivery.

Cost: each row pays a handful of comparisons; the message is only built for a row that fails.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from operator import attrgetter, gt

from django.core.exceptions import FieldDoesNotExist
from django.db import models

from costapp.core import limits

from .cur import LEGACY, CurColumns
from .cur2 import CUR2
from .errors import ParseError
from .models import CostLine, GpuSample, SeenRequest, UsageRollup
from .rows import CostLineRow, GpuSampleRow, RequestRow

INT_MAX = 2**31  # IntegerField
# A hosted line's tokens (BigIntegerField): a quantity in millions of tokens may not fit.
TOKENS_MAX = 10**18


def _text_limits(model: type[models.Model], names: tuple[str, ...]) -> dict[str, int]:
    """Each text field's longest value: its column's max_length, TEXT_MAX for a TextField."""
    found = {}
    for name in names:
        field = model._meta.get_field(name)
        found[name] = field.max_length or limits.TEXT_MAX
    return found


def _decimal_limit(model: type[models.Model], name: str, cap: Decimal) -> Decimal:
    """The smaller of the named limit and what the NUMERIC column's integer digits hold."""
    field = model._meta.get_field(name)
    return min(cap, Decimal(10) ** (field.max_digits - field.decimal_places))


def _stored_texts(model: type[models.Model], row: type) -> tuple[str, ...]:
    """The row's fields stored in a NOT NULL text column of `model`, read off the dataclass so
    a new column is checked without being listed twice (the file name is ours, not input)."""
    names = []
    for item in dataclasses.fields(row):
        try:
            column = model._meta.get_field(item.name)
        except FieldDoesNotExist:
            continue
        text = isinstance(column, models.CharField | models.TextField)
        if text and not column.null and item.name != "source_file":
            names.append(item.name)
    return tuple(names)


COST_TEXTS = _text_limits(CostLine, _stored_texts(CostLine, CostLineRow))
# Nullable (NULL where a format has no invoice), so checked apart from the texts above.
INVOICE_MAX = _text_limits(CostLine, ("invoice_id",))["invoice_id"]
SAMPLE_TEXTS = _text_limits(GpuSample, _stored_texts(GpuSample, GpuSampleRow))
REQUEST_TEXTS = {
    "request_id": SeenRequest._meta.get_field("request_id").max_length,
    **_text_limits(UsageRollup, ("team", "model", "endpoint", "resource_id")),
}
MONEY = ("billed_cost", "effective_cost", "list_cost", "contracted_cost")
QUANTITY_MAX = _decimal_limit(CostLine, "consumed_quantity", limits.QUANTITY_MAX)
SAMPLE_NUMBERS = {
    name: _decimal_limit(GpuSample, name, limits.QUANTITY_MAX)
    for name in ("utilization", "memory_used_mib", "power_w")
}
COUNTS = ("input_tokens", "output_tokens", "latency_ms")

cost_texts = attrgetter(*COST_TEXTS)
cost_money = attrgetter(*MONEY)
sample_texts = attrgetter(*SAMPLE_TEXTS)
sample_numbers = attrgetter(*SAMPLE_NUMBERS)
request_texts = attrgetter(*REQUEST_TEXTS)
# The longest value of each text field, in attrgetter order, for one C-level comparison pass.
COST_LENGTHS = tuple(COST_TEXTS.values())
SAMPLE_LENGTHS = tuple(SAMPLE_TEXTS.values())
REQUEST_LENGTHS = tuple(REQUEST_TEXTS.values())
request_counts = attrgetter(*COUNTS)


def _focus_name(field: str) -> str:
    return "".join(part.capitalize() for part in field.split("_"))


def _cur_names(c: CurColumns) -> dict[str, str]:
    # Only fields read from one column: billed cost (net or plain unblended), list cost (the
    # public cost, or rate x amount) and the tuples of alternatives keep their field name.
    return {
        "billing_account_id": c.payer_account,
        "sub_account_id": c.usage_account,
        "billing_period_start": c.period_start,
        "billing_period_end": c.period_end,
        "charge_period_start": c.usage_start,
        "charge_period_end": c.usage_end,
        "charge_description": c.description,
        "resource_id": c.resource_id,
        "consumed_quantity": c.usage_amount,
        "pricing_unit": c.pricing_unit,
        "consumed_unit": c.pricing_unit,
        "billing_currency": c.currency,
    }


# dcgm-exporter's labels, in its text and through the Prometheus API.
DCGM_LABELS = {
    "gpu_uuid": "UUID",
    "gpu_model": "modelName",
    "hostname": "Hostname",
    "gpu_index": "gpu",
}

# The column each format reads a row field from, for messages; absent: the field's own name.
COLUMN_NAMES: dict[str, dict[str, str]] = {
    "focus": {
        **{f: _focus_name(f) for f in (*COST_TEXTS, *MONEY, "consumed_quantity", "tags")},
        **{f: _focus_name(f) for f in ("billing_period_start", "billing_period_end")},
        **{f: _focus_name(f) for f in ("charge_period_start", "charge_period_end")},
        "provider": "ProviderName",
        "region": "RegionId",
        "invoice_id": "InvoiceId",
    },
    "cur": _cur_names(LEGACY),
    "cur2": _cur_names(CUR2),
    "gcp": {
        "sub_account_id": "project.id",
        "billing_period_start": "invoice.month",
        "billing_period_end": "invoice.month",
        "charge_period_start": "usage_start_time",
        "charge_period_end": "usage_end_time",
        "charge_description": "sku.description",
        "service_name": "service.description",
        "sku_id": "sku.id",
        "pricing_unit": "usage.pricing_unit",
        "consumed_quantity": "usage.amount",
        "consumed_unit": "usage.unit",
        "billed_cost": "cost",
        "list_cost": "cost_at_list",
        "billing_currency": "currency",
        "tags": "labels",
    },
    "jsonl": {"ts": "timestamp"},
    "litellm": {
        "ts": "startTime",
        "input_tokens": "prompt_tokens",
        "output_tokens": "completion_tokens",
    },
    "nvidia-smi": {
        "ts": "timestamp",
        "gpu_uuid": "uuid",
        "gpu_model": "name",
        "gpu_index": "index",
    },
    "otel": {"ts": "startTimeUnixNano"},
    # The report's JSON fields (costapp.ingest.openai_usage / anthropic_usage).
    "openai": {
        "charge_period_start": "start_time",
        "charge_period_end": "end_time",
        "billed_cost": "amount.value",
        "effective_cost": "amount.value",
        "billing_currency": "amount.currency",
        "sub_account_id": "project_id",
        "charge_description": "line_item",
        "hosted_model": "line_item",
        "billing_account_id": "organization_id",
    },
    "anthropic": {
        "charge_period_start": "starting_at",
        "charge_period_end": "ending_at",
        "billed_cost": "amount",
        "effective_cost": "amount",
        "billing_currency": "currency",
        "sub_account_id": "workspace_id",
        "charge_description": "description",
        "hosted_model": "model",
    },
    "dcgm": DCGM_LABELS,
    "prometheus": DCGM_LABELS,
}


def _shown(value: object) -> str:
    """A value as a message shows it: a long text cut to its start."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:50]}... ({len(str(value))} characters)"


class RowChecks:
    """The limits of one run: the time window is computed once, when the run starts."""

    def __init__(self, fmt: str = "", now: datetime | None = None) -> None:
        self.window = limits.time_window(now)
        self.columns = COLUMN_NAMES.get(fmt, {})

    def _error(self, row, field: str, message: str) -> ParseError:
        return ParseError(
            message,
            file=row.source_file,
            line=row.source_row,
            column=self.columns.get(field, field),
        )

    # --- one check per row kind; the fast path is a few comparisons ---

    def cost_line(self, row: CostLineRow) -> None:
        earliest, latest = self.window
        start, end = row.charge_period_start, row.charge_period_end
        first, last = row.billing_period_start, row.billing_period_end
        longest = limits.CHARGE_PERIOD_MAX
        if not (
            earliest <= start < end <= latest
            and earliest <= first < last <= latest
            and end - start <= longest
        ):
            self._periods(row)
        texts = cost_texts(row)
        if "\x00" in "".join(texts) or any(map(gt, map(len, texts), COST_LENGTHS)):
            self._texts(row, texts, COST_TEXTS)
        most = limits.MONEY_MAX
        for field, value in zip(MONEY, cost_money(row), strict=True):
            if value is not None and not _below(value, most):
                raise self._error(row, field, limits.check_money(value))
        invoice = row.invoice_id
        if invoice is not None and ("\x00" in invoice or len(invoice) > INVOICE_MAX):
            self._texts(row, (invoice,), {"invoice_id": INVOICE_MAX})
        quantity = row.consumed_quantity
        if quantity is not None and not _below(quantity, QUANTITY_MAX):
            message = limits.check_money(quantity, QUANTITY_MAX)
            raise self._error(row, "consumed_quantity", message.replace("an amount", "a quantity"))
        tokens = row.token_count
        if tokens is not None and not -TOKENS_MAX < tokens < TOKENS_MAX:
            raise self._error(row, "token_count", limits.check_count(abs(tokens), TOKENS_MAX))

    def gpu_sample(self, row: GpuSampleRow, *, device_checked: bool = False) -> None:
        """`device_checked`: an earlier row with these texts and GPU index passed (a writer
        that knows so spares the text scans; readings repeat one device's every scrape)."""
        earliest, latest = self.window
        if not earliest <= row.ts <= latest:
            raise self._error(row, "ts", limits.check_time(row.ts, self.window))
        for (field, limit), value in zip(SAMPLE_NUMBERS.items(), sample_numbers(row), strict=True):
            if value is not None and not _below(value, limit):
                message = limits.check_money(value, limit).replace("an amount", "a reading")
                raise self._error(row, field, message)
        if device_checked:
            return
        texts = sample_texts(row)
        if "\x00" in "".join(texts) or any(map(gt, map(len, texts), SAMPLE_LENGTHS)):
            self._texts(row, texts, SAMPLE_TEXTS)
        index = row.gpu_index
        if index is not None and not -INT_MAX < index < INT_MAX:
            raise self._error(row, "gpu_index", limits.check_count(abs(index), INT_MAX))

    def request(self, row: RequestRow) -> None:
        earliest, latest = self.window
        if not earliest <= row.ts <= latest:
            raise self._error(row, "ts", limits.check_time(row.ts, self.window))
        texts = request_texts(row)
        if "\x00" in "".join(texts) or any(map(gt, map(len, texts), REQUEST_LENGTHS)):
            self._texts(row, texts, REQUEST_TEXTS)
        most = limits.COUNT_MAX
        if not (
            0 <= row.input_tokens < most
            and 0 <= row.output_tokens < most
            and 0 <= row.latency_ms < most
        ):
            for field, value in zip(COUNTS, request_counts(row), strict=True):
                if not 0 <= value < most:
                    raise self._error(row, field, limits.check_count(value))
        seconds = row.gpu_seconds
        if seconds is not None and not _below(seconds, limits.GPU_SECONDS_MAX):
            message = limits.check_money(seconds, limits.GPU_SECONDS_MAX)
            raise self._error(row, "gpu_seconds", message.replace("an amount", "GPU-seconds"))

    def json(self, row, field: str, value: dict) -> str:
        """`value` as the JSON text stored, refused when it holds a NUL character anywhere
        (PostgreSQL's jsonb cannot hold \\u0000)."""
        text = json.dumps(value)
        if "\\u0000" in text and _has_nul(value):
            raise self._error(row, field, f"{_shown(value)} {limits.check_text(chr(0))}")
        return text

    # --- the slow paths: only a row that fails pays for finding out why ---

    def _periods(self, row: CostLineRow) -> None:
        # A purchase's charge period may be a commitment's term, ending years after the window;
        # its start inside the window and the term's bound keep its end plausible.
        purchase = row.charge_category == "Purchase"
        for start_field, end_field in (
            ("charge_period_start", "charge_period_end"),
            ("billing_period_start", "billing_period_end"),
        ):
            start, end = getattr(row, start_field), getattr(row, end_field)
            charge = start_field == "charge_period_start"
            for field, value in ((start_field, start), (end_field, end)):
                if purchase and field == "charge_period_end":
                    continue
                message = limits.check_time(value, self.window)
                if message:
                    raise self._error(row, field, message)
            # A billing period is only a key (the month a restatement replaces), never spread
            # over hours: within the window and in order is enough.
            message = limits.check_period(
                start, end, longest=limits.CHARGE_PERIOD_MAX if charge and not purchase else None
            )
            if not message and charge and purchase and end - start > limits.COMMITMENT_TERM_MAX:
                message = (
                    f"the period from {start.isoformat()} to {end.isoformat()} is longer than "
                    f"{limits.COMMITMENT_TERM_MAX.days} days (expected at most a commitment's"
                    " term for a purchase)"
                )
            if message:
                raise self._error(row, end_field, message)

    def _texts(self, row, values: tuple, lengths: dict[str, int]) -> None:
        for (field, longest), value in zip(lengths.items(), values, strict=True):
            message = limits.check_text(value, longest)
            if message:
                raise self._error(row, field, f"{_shown(value)} {message}")


def _below(value: Decimal, limit: Decimal) -> bool:
    """|value| < limit; False for NaN (whose comparison would raise) and infinities."""
    try:
        return -limit < value < limit
    except InvalidOperation:
        return False


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False
