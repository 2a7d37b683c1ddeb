"""Recommendations: each kind found on a constructed ledger with the saving its simulator link
answers, idempotent re-runs, dismissals that stick, and who sees which (pages and API)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from urllib.parse import parse_qsl

import pytest
from django.test import Client

from costapp.api import tokens
from costapp.attribution.models import Allocation, GpuPool, GpuResource, LineKind
from costapp.whatif import recommendations, service
from costapp.whatif.models import Recommendation
from costapp.whatif.tasks import refresh_recommendations
from tests.dashboard.builders import PASSWORD, finance_user, page, team_lead

from .builders import worked_example

pytestmark = pytest.mark.django_db
MONDAY = datetime(2026, 10, 5, tzinfo=UTC)


def _resource(pool: str, resource_id: str) -> None:
    pool_row, _ = GpuPool.objects.get_or_create(name=pool)
    GpuResource.objects.create(resource_id=resource_id, instance_type="p5.48xlarge",
                               gpu_type="H100", gpu_count=8, pool=pool_row)  # fmt: skip


def _hour(at: datetime, pool: str, busy: str, idle: str, busy_h: str, idle_h: str, *,
          team: str = "search", model: str = "llama-70b", tokens: int = 0,
          category: str = "Standard") -> list[Allocation]:  # fmt: skip
    resource = f"i-{pool}"
    util = D(busy_h) / (D(busy_h) + D(idle_h))
    common = dict(hour=at, pool=pool, resource_id=resource, currency="USD",
                  pricing_category=category, utilization=util)  # fmt: skip
    rows = []
    if D(busy):
        rows.append(Allocation(kind=LineKind.USAGE, team=team, model=model,
                               endpoint=f"/{team}/chat", amortized_cost=D(busy),
                               billed_cost=D(busy), gpu_hours=D(busy_h), input_tokens=tokens,
                               output_tokens=0, requests=1, **common))  # fmt: skip
    if D(idle):
        rows.append(Allocation(kind=LineKind.IDLE, amortized_cost=D(idle), billed_cost=D(idle),
                               gpu_hours=D(idle_h), **common))  # fmt: skip
    return rows


def _underused_pool() -> None:
    """Pool "quiet": Monday 10:00 at 25%, 11:00 at 40%, Sunday 03:00 all idle."""
    _resource("quiet", "i-quiet")
    rows = [
        *_hour(MONDAY + timedelta(hours=10), "quiet", "20", "60", "2", "6", tokens=10**6),
        *_hour(MONDAY + timedelta(hours=11), "quiet", "32", "48", "3.2", "4.8", tokens=10**6),
        *_hour(MONDAY - timedelta(hours=21), "quiet", "0", "80", "0", "8"),
    ]
    Allocation.objects.bulk_create(rows)


def _simulated(rec: Recommendation, user) -> D:
    """What the recommendation's link opens, as `user`."""
    return service.run(user, dict(parse_qsl(rec.query))).simulation.total_saving


def _open(kind: str | None = None):
    rows = Recommendation.objects.filter(status=Recommendation.OPEN)
    return list(rows.filter(kind=kind) if kind else rows)


def test_an_underused_pool_is_consolidated_or_right_sized_at_the_simulators_saving():
    _underused_pool()
    refresh_recommendations()
    (rec,) = [r for r in _open() if r.kind in ("consolidate", "right_size")]
    assert rec.subject == "pool=quiet" and rec.team == ""
    assert rec.evidence["mean_utilization"] == "0.2167"  # 5.2 busy of 24 measured GPU-hours
    assert rec.evidence["peak_hour_utilization"] == "0.4000"
    assert rec.monthly_saving == _simulated(rec, finance_user()) > 0
    # The better of the two: consolidation to 40% would save 240 x (1 - 0.2167 / 0.4).
    consolidated = recommendations.price(
        recommendations.Finding("consolidate", service.WhatIfScope(pool="quiet"), "",
                                {"utilization_target": "0.4000"}, {}),
        recommendations._period(),
    )  # fmt: skip
    assert rec.monthly_saving >= consolidated.saving


def test_gpus_idle_through_the_night_are_scaled_to_zero():
    _underused_pool()
    recommendations.refresh()
    (rec,) = _open("scale_to_zero")
    # Sunday 03:00 UTC (ISO weekday 7) held 8 of the 18.8 idle GPU-hours.
    assert rec.evidence["hours_of_week_utc"] == ["7:03"]
    assert rec.evidence["idle_gpu_hours_then"] == "8.00"
    assert "scale_to_zero_share=0.4255" in rec.query
    assert rec.monthly_saving == _simulated(rec, finance_user())
    # 240 of GPU cost, 78.33% idle by hours: 240 x 0.4255 x (1 - 0.21667) = 79.99...
    assert D("79") < rec.monthly_saving < D("81")


def test_a_steady_on_demand_pool_is_committed():
    _resource("steady", "i-steady")
    start = datetime(2026, 10, 1, tzinfo=UTC)
    rows = []
    for hour in range(30 * 24):
        rows += _hour(start + timedelta(hours=hour), "steady", "9", "1", "7.2", "0.8")
    Allocation.objects.bulk_create(rows)
    recommendations.refresh()
    assert [r.kind for r in _open()] == ["commit"]
    (rec,) = _open("commit")
    assert rec.evidence["steady_share"] == "1.0000"
    # 7200 a month, all on demand and all steady, at the published 35% off.
    assert rec.monthly_saving == D("2520") == _simulated(rec, finance_user())


def test_a_commitment_already_covering_the_baseline_is_not_recommended():
    _resource("covered", "i-covered")
    start = datetime(2026, 10, 1, tzinfo=UTC)
    rows = []
    for hour in range(30 * 24):
        rows += _hour(start + timedelta(hours=hour), "covered", "9", "1", "7.2", "0.8",
                      category="Committed")  # fmt: skip
    Allocation.objects.bulk_create(rows)
    recommendations.refresh()
    assert _open("commit") == []


def test_an_endpoint_with_repeated_prompts_is_cached_and_its_lead_sees_the_same_saving():
    worked_example()
    recommendations.refresh()
    (rec,) = _open("cache")
    assert (rec.team, rec.subject) == ("search", "team=search&endpoint=%2Fsearch%2Fchat")
    assert rec.evidence["cache_hits"] == 500 and rec.evidence["requests"] == 2500
    assert "caching_hit_rate=0.2000" in rec.query
    lead = team_lead("search")
    assert rec.monthly_saving == _simulated(rec, lead) == _simulated(rec, finance_user()) > 0


def test_a_model_far_above_its_peers_is_quantized_or_routed():
    _resource("mixed", "i-mixed")
    rows = []
    for hour in range(3):
        at = MONDAY + timedelta(hours=hour)
        rows += _hour(at, "mixed", "80", "0", "8", "0", model="llama-70b", tokens=10**6)
        rows += _hour(at, "mixed", "8", "0", "0.8", "0", model="llama-8b", tokens=10**6)
    Allocation.objects.bulk_create(rows)
    recommendations.refresh()
    (rec,) = [r for r in _open() if r.kind in ("quantize", "route")]
    assert rec.subject == "team=search&model=llama-70b"
    assert rec.evidence["cost_per_1m_tokens"] == "80.0000"
    assert rec.evidence["peers_median_cost_per_1m"] == "8.0000"
    assert rec.monthly_saving == _simulated(rec, finance_user())
    # FP8's published 2x halves 240 a month, more than routing 30% anywhere.
    assert (rec.kind, rec.monthly_saving) == ("quantize", D("120"))


def test_a_rerun_replaces_the_open_recommendations_in_place():
    _underused_pool()
    worked_example()
    recommendations.refresh()
    before = {(r.pk, r.kind, r.subject, r.monthly_saving) for r in _open()}
    assert recommendations.refresh() == len(before) >= 3
    assert {(r.pk, r.kind, r.subject, r.monthly_saving) for r in _open()} == before


def test_a_finding_the_data_no_longer_shows_is_dropped():
    _underused_pool()
    recommendations.refresh()
    assert _open()
    Allocation.objects.all().delete()
    recommendations.refresh()
    assert _open() == []


def test_a_dismissed_recommendation_is_not_made_again_for_the_same_evidence():
    worked_example()
    recommendations.refresh()
    (rec,) = _open("cache")
    fin = finance_user()
    recommendations.dismiss(recommendations.FINANCE, rec.pk, "cache already planned", fin)
    recommendations.refresh()
    assert _open("cache") == []
    row = Recommendation.objects.get(pk=rec.pk)
    assert (row.status, row.dismissed_reason, row.dismissed_by) == ("dismissed",
                                                                   "cache already planned", fin)  # fmt: skip


def test_dismissing_needs_a_reason_and_a_recommendation_you_may_see(client: Client):
    worked_example()
    _underused_pool()
    recommendations.refresh()
    pool_rec = _open("consolidate")[0] if _open("consolidate") else _open("right_size")[0]
    (cache,) = _open("cache")
    lead = team_lead("search")
    assert client.login(username=lead.username, password=PASSWORD)
    assert (
        client.post(f"/whatif/recommendations/{cache.pk}/dismiss", {"reason": " "}).status_code
        == 400
    )
    assert client.post(f"/whatif/recommendations/{pool_rec.pk}/dismiss",
                       {"reason": "not mine"}).status_code == 404  # fmt: skip
    response = client.post(f"/whatif/recommendations/{cache.pk}/dismiss", {"reason": "done"})
    assert response.status_code == 302
    assert Recommendation.objects.get(pk=cache.pk).status == "dismissed"


def test_finance_sees_every_recommendation_a_lead_only_their_teams(client: Client):
    worked_example()
    _underused_pool()
    recommendations.refresh()
    fin_html = page(client, finance_user(), "/")
    assert 'id="recommendations"' in fin_html and "Pool quiet" in fin_html
    client.logout()
    lead = team_lead("search")
    team_html = page(client, lead, "/teams/search/")
    assert "/search/chat (search)" in team_html and "Pool quiet" not in team_html
    listing = page(client, lead, "/whatif/recommendations/")
    assert "/search/chat (search)" in listing and "Pool quiet" not in listing
    team_lead("ads")
    page(client, lead, "/whatif/recommendations/?team=ads", status=404)


def _api(user) -> Client:
    return Client(headers={"Authorization": f"Bearer {tokens.issue(user, 'test').secret}"})


def test_the_api_lists_recommendations_with_the_same_access_rules():
    worked_example()
    _underused_pool()
    recommendations.refresh()
    body = _api(finance_user()).get("/api/v1/recommendations").json()
    assert body["count"] == len(_open()) and {"next", "previous", "results"} <= set(body)
    first = body["results"][0]
    assert first["url"].startswith("/whatif/?") and "evidence" in first
    savings = [D(r["monthly_saving"]) for r in body["results"]]
    assert savings == sorted(savings, reverse=True)
    lead_body = _api(team_lead("search")).get("/api/v1/recommendations").json()
    assert {r["team"] for r in lead_body["results"]} == {"search"}


@pytest.mark.parametrize(("query", "status", "field"), [
    ({"kind": "magic"}, 400, "kind"),
    ({"limit": "0"}, 400, "limit"),
    ({"team": "ads"}, 404, None),
])  # fmt: skip
def test_the_api_answers_400_naming_the_field_and_404_for_another_team(query, status, field):
    team_lead("ads", "ads-lead")
    response = _api(team_lead("search")).get("/api/v1/recommendations", query)
    assert response.status_code == status
    if field:
        assert response.json()["field"] == field
