"""What a team lead's browser shows: their own team in the text and in the drawn charts, and no
way to the finance pages. The server-side rules are tested in tests/dashboard and tests/sources;
this adds what the page looks like once rendered."""

from __future__ import annotations

import pytest

from tests.dashboard.builders import team_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_team_lead_sees_only_their_team_and_no_sources_link(fortnight, logged_in, visit):
    team_lead("ads", username="lead")
    others = [
        name
        for team, model in fortnight.items()
        if team != "ads"
        for name in (team, model, f"/{team}/chat")
    ]
    page = logged_in("lead")
    # Where the lead's own model shows: on the overview, in a chart's labels, so the page text
    # read below includes what plotly drew; a single line on the unit chart gets no legend.
    for path, own in (("/", "#chart-unit"), ("/units/?by=model", "#units-summary")):
        visit(page, path)
        assert "mistral-7b-instruct" in page.text_content(own)
        text = page.text_content("body")
        assert [name for name in others if name in text] == [], path
        assert page.locator("nav a").all_inner_texts() == [
            "Overview",
            "Unit economics",
            "Teams",
            "Explorer",
            "Explain",
            "What-if",
            "Budgets",
        ]

    assert visit(page, "/sources/").status == 403
