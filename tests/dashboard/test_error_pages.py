"""403, 404 and 500 with DEBUG off: styled pages with the navigation and a way back."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.test import Client
from django.urls import include, path

from costapp.core.models import Membership, Role, Team


def _explode(request):
    raise RuntimeError("something broke")


# A URL map for the 500 test: the real one plus a view that fails.
urlpatterns = [path("boom/", _explode), path("", include("costapp.urls"))]


def _styled(page: str) -> None:
    assert "css/ledger.css" in page and 'class="topbar"' in page
    assert 'id="error-page"' in page and "Back to the overview" in page


@pytest.fixture
def lead_client(db) -> Client:
    user = get_user_model().objects.create_user("lead", password="x")
    Membership.objects.create(
        user=user, team=Team.objects.create(slug="search", name="Search"), role=Role.LEAD
    )
    client = Client()
    client.force_login(user)
    return client


def test_a_page_that_does_not_exist_is_a_styled_404_with_the_navigation(lead_client, settings):
    settings.DEBUG = False
    response = lead_client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    _styled(page)
    assert "<nav>" in page and "Unit economics" in page and "/no-such-page/" in page


def test_a_page_the_user_may_not_open_is_a_styled_403_with_the_navigation(lead_client, settings):
    settings.DEBUG = False
    response = lead_client.get("/sources/")  # finance only
    assert response.status_code == 403
    page = response.content.decode()
    _styled(page)
    assert "<nav>" in page and "You may not open this page" in page


def test_a_server_error_is_a_styled_500(lead_client, settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__
    lead_client.raise_request_exception = False
    response = lead_client.get("/boom/")
    assert response.status_code == 500
    _styled(response.content.decode())
    assert "something broke" not in response.content.decode()


def test_the_500_page_renders_without_context_or_database():
    # No django_db mark: any query here would fail the test.
    page = render_to_string("500.html")
    _styled(page)
    assert 'href="/"' in page
