"""Google Cloud billing export rows (standard and detailed/resource-level), mapped to
FOCUS-aligned cost lines, from CSV files or from BigQuery records.

CSV exports flatten the nested fields (`service.description`, `invoice.month`) and write the
repeated ones (`credits`, `labels`) as Python reprs, with single quotes, not JSON. BigQuery gives
the same fields as nested dicts: both paths go through one mapping, following the FinOps
Foundation's GCP -> FOCUS rules (focus_converters/conversion_rules_export/csv/gcp.csv), except
that EffectiveCost = cost + sum(credits) is not clamped at zero, so credits stay conserved.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from . import hosted
from .files import InputFile
from .focus import calendar_month
from .rows import CostLineRow
from .tabular import Header, Record, open_table, to_decimal

KIND = "billing"
PROVIDER = "Google Cloud"

# cost_type -> FOCUS ChargeCategory.
CHARGE_CATEGORY = {
    "regular": "Usage",
    "tax": "Tax",
    "adjustment": "Adjustment",
    "credit": "Credit",
    "rounding_error": "Adjustment",
}

REQUIRED = (("usage_start_time",), ("usage_end_time",), ("cost",), ("currency",))

# GCP names the machine behind a VM's charges in a system label; it is the GPU key
# (a2-highgpu-8g, a3-highgpu-8g, g2-standard-4...).
MACHINE_SPEC = "compute.googleapis.com/machine_spec"


def parse(file: InputFile) -> Iterator[CostLineRow]:
    expected = "a Google Cloud billing export header row, then rows"
    with open_table(file, expected=expected) as table:
        table.header.require(REQUIRED, "Google Cloud billing export columns such as cost")
        for record in table:
            yield to_row(record)


def rows_from_bigquery(records: Iterable[Mapping], source_name: str) -> Iterator[CostLineRow]:
    """Rows of a billing export table as google-cloud-bigquery returns them: dicts, or Row
    objects (not Mappings, but with .items()), with STRUCT fields as nested dicts. A fault names source_name, the 1-based record number
    and the dotted field, e.g. `service.description`."""
    for number, record in enumerate(records, start=1):
        flat: dict[str, Any] = {}
        _flatten(record, "", flat)
        names = list(flat)
        yield to_row(Record(Header(source_name, names), list(flat.values()), source_name, number))


def _flatten(value: Mapping, prefix: str, out: dict[str, Any]) -> None:
    # Records (service, sku, invoice, resource...) flatten to dotted names, as the CSV export
    # writes them; repeated fields (labels, credits) stay lists.
    for key, item in value.items():
        if isinstance(item, Mapping):
            _flatten(item, f"{prefix}{key}.", out)
        else:
            out[f"{prefix}{key}"] = item


def to_row(record: Record) -> CostLineRow:
    start = record.datetime("usage_start_time")
    period_start, period_end = _invoice_period(record, start)
    cost = record.decimal("cost", required=True)
    system_labels = record.mapping("system_labels")
    row = CostLineRow(
        provider=PROVIDER,
        billing_account_id=record.text("billing_account_id"),
        sub_account_id=record.text("project.id"),
        billing_period_start=period_start,
        billing_period_end=period_end,
        charge_period_start=start,
        charge_period_end=record.datetime("usage_end_time"),
        charge_category=_charge_category(record),
        charge_description=record.text("sku.description"),
        service_name=record.text("service.description"),
        service_category="",
        region=record.text("location.region") or record.text("location.location"),
        resource_id=record.text("resource.global_name") or record.text("resource.name"),
        resource_type=str(system_labels.get(MACHINE_SPEC) or ""),
        sku_id=record.text("sku.id"),
        pricing_unit=record.text("usage.pricing_unit"),
        consumed_quantity=record.decimal("usage.amount"),
        consumed_unit=record.text("usage.unit"),
        billed_cost=cost,
        effective_cost=cost + _credits(record),
        list_cost=record.decimal("cost_at_list"),
        billing_currency=record.currency("currency"),
        tags=_tags(record, system_labels),
        source_file=record.file,
        source_row=record.line,
    )
    found = hosted.vertex(
        service=row.service_name,
        sku=row.charge_description,
        quantity=row.consumed_quantity,
        unit=row.consumed_unit,
    )
    return hosted.mark(row, found)


def _charge_category(record: Record) -> str:
    cost_type = record.text("cost_type")
    if not cost_type:
        return "Usage"  # the standard export before cost_type existed: all usage
    category = CHARGE_CATEGORY.get(cost_type.casefold())
    if category is None:
        raise record.error(
            "cost_type",
            f"unknown cost_type {cost_type!r}",
            "regular, tax, adjustment, credit or rounding_error",
        )
    return category


def _credits(record: Record) -> Decimal:
    credits = record.structure("credits") or []
    if not isinstance(credits, list):
        raise record.error("credits", "credits is not a list", "a list of {name, amount}")
    total = Decimal(0)
    for credit in credits:
        if not isinstance(credit, Mapping) or "amount" not in credit:
            raise record.error("credits", f"{credit!r} has no amount", "{name, amount, ...}")
        total += to_decimal(credit["amount"], record.cell("credits"), required=True)
    return total


def _tags(record: Record, system_labels: dict) -> dict[str, Any]:
    """Resource labels as given; project labels as "project:<key>" (a project label must not
    pass for a resource's own); system labels keep Google's namespaced keys."""
    tags: dict[str, Any] = {}
    tags.update({k: str(v) for k, v in system_labels.items()})
    tags.update({f"project:{k}": str(v) for k, v in record.mapping("project.labels").items()})
    tags.update({k: str(v) for k, v in record.mapping("labels").items()})
    return tags


def _invoice_period(record: Record, start: datetime) -> tuple[datetime, datetime]:
    """invoice.month (YYYYMM) is a month in US Pacific time, Google's invoicing clock."""
    month = record.text("invoice.month")
    if not month:
        return calendar_month(start)
    if len(month) != 6 or not month.isdigit() or not 1 <= int(month[4:]) <= 12:
        raise record.error("invoice.month", f"{month!r} is not a month", "YYYYMM")
    year, number = int(month[:4]), int(month[4:])
    next_year, next_number = (year + 1, 1) if number == 12 else (year, number + 1)
    return _pacific_midnight(year, number), _pacific_midnight(next_year, next_number)


def _pacific_midnight(year: int, month: int) -> datetime:
    try:
        local = datetime(year, month, 1, tzinfo=ZoneInfo("America/Los_Angeles"))
        return local.astimezone(UTC)
    except KeyError:  # ZoneInfoNotFoundError: no tz database here; US rules since 2007.
        # The 1st of a month is in daylight time (UTC-7) from April to November.
        offset = 7 if 4 <= month <= 11 else 8
        return datetime(year, month, 1, tzinfo=UTC) + timedelta(hours=offset)
