"""/whatif/: the worked example on the page, a bad parameter named with a 400, another team's
scope a 404, and a saved scenario reopening its URL."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import Client

from costapp.whatif.models import Scenario
from tests.dashboard.builders import figure, finance_user, page, team_lead

from .builders import PARAMS, worked_example

pytestmark = pytest.mark.django_db
LEVERS = {"caching_hit_rate": "0.2", "utilization_target": "0.8", "commitment_share": "0.5",
          "commitment_discount": "0.4"}  # fmt: skip


def test_the_page_shows_current_projected_and_the_waterfall_data(client: Client):
    worked_example()
    html = page(client, finance_user(), f"/whatif/?{urlencode({**PARAMS, **LEVERS})}")
    assert figure(html, "current-cost") == "$196.64"
    assert figure(html, "projected-cost") == "$98.32"
    assert figure(html, "total-saving") == "$98.32"
    assert figure(html, "current-per-million") == "$19.66"
    assert figure(html, "projected-per-million") == "$9.83"
    assert 'id="waterfall-figure"' in html and 'data-figure="waterfall-figure"' in html
    # The suggestion beside the target is the pool's own peak hour, labelled measured.
    assert "0.7500 — measured" in html
    assert "<script>" not in html.replace('<script id="waterfall-figure"', "")  # no inline code


def test_a_bad_lever_parameter_is_named_with_a_400(client: Client):
    worked_example()
    assert client.login(username=finance_user().username, password="test-password")
    response = client.get("/whatif/", {"utilization_target": "2"})
    assert response.status_code == 400
    assert "<code>utilization_target</code>" in response.content.decode()


def test_a_lead_gets_404_for_another_teams_scope(client: Client):
    worked_example()
    page(client, team_lead("ads"), "/whatif/?team=search", status=404)


def test_a_saved_scenario_is_listed_with_its_url(client: Client):
    worked_example()
    user = finance_user()
    assert client.login(username=user.username, password="test-password")
    response = client.post("/whatif/scenarios/", {**PARAMS, **LEVERS, "name": "cache + commit"})
    assert response.status_code == 302
    saved = Scenario.objects.get(owner=user)
    assert "caching_hit_rate=0.2" in saved.query and "start=2026-10-01" in saved.query
    html = client.get(response["Location"]).content.decode()
    assert "cache + commit" in html and figure(html, "projected-cost") == "$98.32"
