"""The normalised rows every format parser yields, one dataclass per target table."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

Kind = Literal["billing", "telemetry", "requests"]

# Set while a writer that can take rows before a file ends consumes them (store.py's fast
# path): a parser may then yield rows early, and raise ReadAgain should a later line revise
# one it has yielded. Off by default, so any other reader gets every row in its final form.
STREAMING: ContextVar[bool] = ContextVar("ingest_streaming", default=False)


class ReadAgain(Exception):
    """A parser streamed rows (STREAMING) and a later line would change one of them: the writer
    undoes what it wrote and reads the delivery again with STREAMING off."""


@dataclass(slots=True)
class CostLineRow:
    provider: str
    billing_period_start: datetime
    billing_period_end: datetime
    charge_period_start: datetime
    charge_period_end: datetime
    charge_category: str
    billed_cost: Decimal
    effective_cost: Decimal
    billing_currency: str
    source_file: str
    source_row: int
    billing_account_id: str = ""
    sub_account_id: str = ""
    charge_description: str = ""
    service_name: str = ""
    service_category: str = ""
    region: str = ""
    resource_id: str = ""
    resource_type: str = ""
    sku_id: str = ""
    pricing_category: str = ""
    pricing_unit: str = ""
    consumed_quantity: Decimal | None = None
    consumed_unit: str = ""
    list_cost: Decimal | None = None
    contracted_cost: Decimal | None = None
    commitment_discount_id: str = ""
    invoice_id: str | None = None
    allocated_method_id: str = ""
    allocated_resource_id: str = ""
    # A hosted model's tokens (costapp.ingest.hosted); "" / None on every other line.
    hosted_provider: str = ""
    hosted_model: str = ""
    token_direction: str = ""
    token_count: int | None = None
    tags: dict = field(default_factory=dict)


@dataclass(slots=True)
class GpuSampleRow:
    ts: datetime
    gpu_uuid: str
    source_file: str
    source_row: int
    mig_instance: str = ""
    gpu_index: int | None = None
    gpu_model: str = ""
    hostname: str = ""
    resource_id: str = ""
    utilization: Decimal | None = None  # busy fraction, 0..1
    memory_used_mib: Decimal | None = None
    power_w: Decimal | None = None
    labels: dict = field(default_factory=dict)


@dataclass(slots=True)
class RequestRow:
    ts: datetime
    request_id: str
    team: str
    model: str
    endpoint: str
    source_file: str
    source_row: int
    resource_id: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: int = 0
    cache_hit: bool = False
    gpu_seconds: Decimal | None = None
