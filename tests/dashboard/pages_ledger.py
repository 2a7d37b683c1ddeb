"""A small ledger for the team, model, endpoint, fleet and explorer page tests: two days on one
H100 node of pool "h100" (search and ads, idle, an unmeasured hour, unallocated) and a shared
storage line for search."""

from __future__ import annotations

import re
from decimal import Decimal

from costapp.attribution.models import LineKind

from .builders import allocation, gpu_resource

GPU = dict(resource_id="i-a", pool="h100", utilization_source="telemetry")
SEARCH = dict(team="search", model="llama-70b", endpoint="/search/answer", **GPU)
ADS = dict(team="ads", model="llama-70b", endpoint="/ads/rank", **GPU)
ADS_MIXTRAL = dict(team="ads", model="mixtral", endpoint="/ads/rank", **GPU)


def build() -> None:
    gpu_resource("i-a", gpu_count=8)
    for hour, who, cost, inp, out, req, gh in [
        ("2026-10-01T10:00", SEARCH, "60", 600_000, 100_000, 1000, "4"),
        ("2026-10-01T10:00", ADS, "40.0000000003", 300_000, 50_000, 500, "2"),
        ("2026-10-01T11:00", SEARCH, "30", 200_000, 50_000, 300, "3"),
        ("2026-10-02T10:00", SEARCH, "50", 500_000, 100_000, 800, "4"),
        ("2026-10-02T10:00", ADS_MIXTRAL, "20", 100_000, 20_000, 200, "2"),
    ]:
        allocation(
            hour, amortized=cost, input_tokens=inp, output_tokens=out, requests=req,
            gpu_hours=gh, pricing_category="Standard", **who,
        )  # fmt: skip
    for hour, cost, gh in [("2026-10-01T10:00", "20", "2"), ("2026-10-01T11:00", "10", "5"),
                           ("2026-10-02T10:00", "12", "2")]:  # fmt: skip
        allocation(hour, LineKind.IDLE, amortized=cost, gpu_hours=gh, pricing_category="Standard",
                   **GPU)  # fmt: skip
    allocation(
        "2026-10-02T11:00", LineKind.UNMEASURED, amortized="8", gpu_hours="8", resource_id="i-a",
        pool="h100", pricing_category="Standard",
    )  # fmt: skip
    allocation("2026-10-01T10:00", LineKind.UNALLOCATED, amortized="1.5", resource_id="nat-1")
    allocation("2026-10-01T00:00", LineKind.SHARED, team="search", amortized="3", resource_id="s3")


def rows(html: str, table_id: str, part: str = "tbody") -> list[list[str]]:
    """The cells of a table's body (or foot) as text, links removed."""
    table = html.split(f'id="{table_id}"')[1].split("</table>")[0]
    body = re.sub(
        r"</?(a|span|strong)\b[^>]*>", "", table.split(f"<{part}>")[1].split(f"</{part}>")[0]
    )
    return [
        [cell.strip() for cell in re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row)]
        for row in body.split("</tr>")[:-1]
    ]


def amount(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", "").replace("+", ""))
