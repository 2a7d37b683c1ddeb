"""Small builders for dashboard tests: allocations, teams and users made directly in the ORM."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.contrib.auth import get_user_model

from costapp.attribution.models import Allocation, LineKind
from costapp.core.models import Membership, OrgRole, Role, Team
from costapp.ingest.models import GpuResource

PASSWORD = "test-password"


def allocation(hour: str, kind: str = LineKind.USAGE, amortized="0", billed=None, **fields):
    fields.setdefault("resource_id", "i-0aaaaaaaaaaaaaaa1")
    return Allocation.objects.create(
        hour=datetime.fromisoformat(hour).replace(tzinfo=UTC),
        kind=kind,
        amortized_cost=Decimal(amortized),
        billed_cost=Decimal(amortized if billed is None else billed),
        currency="USD",
        **fields,
    )


def gpu_resource(resource_id: str = "i-0aaaaaaaaaaaaaaa1", gpu_count: int = 8) -> GpuResource:
    return GpuResource.objects.create(
        resource_id=resource_id, instance_type="p5.48xlarge", gpu_type="H100", gpu_count=gpu_count
    )


def finance_user(username: str = "fin"):
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    OrgRole.objects.create(user=user, role=Role.FINANCE)
    return user


def team_lead(slug: str, username: str | None = None):
    team, _ = Team.objects.get_or_create(slug=slug, defaults={"name": slug.title()})
    user = get_user_model().objects.create_user(username or f"lead-{slug}", password=PASSWORD)
    Membership.objects.create(user=user, team=team, role=Role.LEAD)
    return user
