"""Small builders for dashboard tests: allocations, teams and users made directly in the ORM, and
the pages those users get."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from django.contrib.auth import get_user_model

from costapp.attribution.models import Allocation, GpuResource, LineKind, in_force_at
from costapp.core.models import Membership, OrgRole, Role, Team

PASSWORD = "test-password"


def page(client, user, path: str, status: int = 200) -> str:
    """The HTML `user` gets at `path`, logged in, after checking the response status."""
    assert client.login(username=user.username, password=PASSWORD)
    response = client.get(path)
    assert response.status_code == status
    return response.content.decode()


def figure(html: str, element_id: str) -> str:
    """The text of the element with `element_id`: a headline figure as the page shows it."""
    match = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert match, f"#{element_id} not on the page"
    return match.group(1)


def allocation(hour: str, kind: str = LineKind.USAGE, amortized="0", billed=None, **fields):
    """An Allocation row; on a resource of the inventory it carries that resource's GPU type
    and count, as the engine stores them."""
    fields.setdefault("resource_id", "i-0aaaaaaaaaaaaaaa1")
    fields.setdefault("currency", "USD")
    at = datetime.fromisoformat(hour).replace(tzinfo=UTC)
    resource = GpuResource.objects.filter(in_force_at(at), resource_id=fields["resource_id"])
    if "gpu_count" not in fields and (found := resource.first()) is not None:
        fields.update(gpu_type=found.gpu_type, gpu_count=found.gpu_count)
    return Allocation.objects.create(
        hour=at,
        kind=kind,
        amortized_cost=Decimal(amortized),
        billed_cost=Decimal(amortized if billed is None else billed),
        **fields,
    )


def gpu_resource(resource_id: str = "i-0aaaaaaaaaaaaaaa1", gpu_count: int = 8) -> GpuResource:
    """A GPU resource since always; allocations already made on it take its type and count."""
    resource = GpuResource.objects.create(
        resource_id=resource_id, instance_type="p5.48xlarge", gpu_type="H100", gpu_count=gpu_count
    )
    Allocation.objects.filter(resource_id=resource_id, gpu_count__isnull=True).update(
        gpu_type=resource.gpu_type, gpu_count=resource.gpu_count
    )
    return resource


def finance_user(username: str = "fin"):
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    OrgRole.objects.create(user=user, role=Role.FINANCE)
    return user


def team_lead(slug: str, username: str | None = None):
    team, _ = Team.objects.get_or_create(slug=slug, defaults={"name": slug.title()})
    user = get_user_model().objects.create_user(username or f"lead-{slug}", password=PASSWORD)
    Membership.objects.create(user=user, team=team, role=Role.LEAD)
    return user


HOUR = "2026-10-01T10:00"


def cost_line(resource_id: str, start: str, end: str, effective: str, billed: str, **fields):
    """One FOCUS cost line, as ingestion would store it (the run is only its lineage)."""
    from costapp.ingest.models import CostLine, IngestionRun

    run = IngestionRun.objects.create(format="focus", location="test.csv")
    begin = datetime.fromisoformat(start).replace(tzinfo=UTC)
    return CostLine.objects.create(
        run=run,
        stream="test",
        provider="AWS",
        billing_period_start=begin.replace(day=1, hour=0),
        billing_period_end=begin.replace(month=begin.month + 1, day=1, hour=0),
        charge_period_start=begin,
        charge_period_end=datetime.fromisoformat(end).replace(tzinfo=UTC),
        charge_category=fields.pop("charge_category", "Usage"),
        resource_id=resource_id,
        billed_cost=Decimal(billed),
        effective_cost=Decimal(effective),
        billing_currency="USD",
        source_file="test.csv",
        source_row=fields.pop("source_row", 2),
        **fields,
    )


def explained_hour() -> None:
    """One p5 node-hour worked by hand, as the engine would have stored it.

    A two-hour line of 200.0000000001 (billed 240) puts 100.0000000001 (120) in 10:00. With
    u = 0.75: idle 25.0000000000 (30), busy 75.0000000001 (90), split by tokens 600 : 400 with
    the spare quantum to the larger remainder: search 45.0000000001 (54), ads 30 (36). Search
    also gets a 3.5 shared storage line by tag rule.
    """
    gpu_resource()
    cost_line("i-0aaaaaaaaaaaaaaa1", HOUR, "2026-10-01T12:00", "200.0000000001", "240")
    common = dict(pool="h100-east", utilization=Decimal("0.75"), utilization_source="telemetry")
    allocation(
        HOUR, team="search", model="llama-70b", endpoint="/search/answer", rule="tokens",
        amortized="45.0000000001", billed="54", weight=Decimal(600), weight_total=Decimal(1000),
        input_tokens=500, output_tokens=100, requests=7, gpu_hours="3.6", **common,
    )  # fmt: skip
    allocation(
        HOUR, team="ads", model="mixtral", endpoint="/ads/rank", rule="tokens",
        amortized="30.0000000000", billed="36", weight=Decimal(400), weight_total=Decimal(1000),
        input_tokens=300, output_tokens=100, requests=3, gpu_hours="2.4", **common,
    )  # fmt: skip
    allocation(HOUR, LineKind.IDLE, amortized="25.0000000000", billed="30", gpu_hours="2", **common)
    allocation(
        HOUR, LineKind.SHARED, team="search", amortized="3.5", rule="tag:1",
        resource_id="arn:aws:s3:::weights",
    )  # fmt: skip
