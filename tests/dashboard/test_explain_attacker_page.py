"""The /explain/ page as an attacker: a team lead subtracts and divides every number on it and
never reaches another team's figure; no server path is on it. Finance sees the breakdown."""

from __future__ import annotations

from html import unescape

import pytest

from . import shared_hours as s
from .builders import finance_user, page, team_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared():
    s.build()


def _explain(client, user, hour, basis: str) -> str:
    """The page's <main>: its figures. The chrome around it holds random digits (CSRF token,
    CSP nonce) that would make chance "derivations"."""
    query = f"?team=alpha&hour={hour:%Y-%m-%dT%H:%MZ}&basis={basis}"
    html = unescape(page(client, user, "/explain/" + query))
    return html.split("<main>", 1)[1].split("</main>", 1)[0]


@pytest.mark.parametrize("basis", ["amortized", "billed"])
@pytest.mark.parametrize("hour", [s.H0, s.H1], ids=["H0", "H1"])
def test_a_lead_derives_no_figure_of_another_team_from_the_page(client, shared, hour, basis):
    secret = {**s.secrets("bravo", hour)}
    if hour == s.H0:
        secret.update(s.secrets("charlie", hour))
    html = _explain(client, team_lead("alpha"), hour, basis)
    assert s.leaks(html, secret) == []
    assert "Withheld: one other team used this resource" in html


def test_a_lead_never_sees_a_server_path(client, shared):
    html = _explain(client, team_lead("alpha"), s.H0, "amortized")
    assert "/srv/" not in html and "secret-bill" not in html


def test_finance_sees_the_breakdown_and_only_the_file_name(client, shared):
    html = _explain(client, finance_user(), s.H0, "amortized")
    assert "Withheld" not in html
    assert "by tokens: 1390 / 4552" in html
    assert "86.6459000000" in html  # i-pair's hour cost
    assert "(secret-bill-2026-11.csv, row" in html and "/srv/" not in html
