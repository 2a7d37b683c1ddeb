"""API tokens: only a hash is stored, the token is shown once, a revoked one is refused, its
use is recorded, and `manage.py api_token` prints one that works."""

from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from costapp.api import tokens
from costapp.api.models import ApiToken
from tests.dashboard.builders import PASSWORD, explained_hour, finance_user, team_lead

pytestmark = pytest.mark.django_db

EXPLAIN = "/api/v1/explain?team=search&hour=2026-10-01T10:00Z"
TOKEN_SHAPE = re.compile(r"ila_[A-Za-z0-9_-]{43}")


def _explain(secret: str | None, client: Client | None = None):
    headers = {"Authorization": f"Bearer {secret}"} if secret is not None else {}
    return (client or Client()).get(EXPLAIN, headers=headers)


def _created(client: Client, name: str = "laptop") -> str:
    response = client.post("/profile/tokens/", {"name": name})
    assert response.status_code == 200
    found = TOKEN_SHAPE.findall(response.content.decode())
    assert len(found) == 1, "the new token is on the page exactly once"
    return found[0]


@pytest.fixture
def fin_client():
    user = finance_user()
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return user, client


def test_only_the_sha256_and_a_short_prefix_are_stored(fin_client):
    user, client = fin_client
    secret = _created(client)
    stored = ApiToken.objects.get(user=user)
    assert stored.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(stored.prefix) and len(stored.prefix) == 12
    assert secret not in json.dumps(list(ApiToken.objects.values()), default=str)


def test_the_token_is_shown_once_in_the_body_and_never_in_a_cookie_or_the_session(fin_client):
    _, client = fin_client
    response = client.post("/profile/tokens/", {"name": "ci"})
    secret = TOKEN_SHAPE.findall(response.content.decode())[0]
    assert "no-store" in response["Cache-Control"]
    assert not any(secret in morsel.value for morsel in response.cookies.values())
    assert not any(secret in morsel.value for morsel in client.cookies.values())
    assert secret not in json.dumps(dict(client.session.items()), default=str)
    again = client.get("/profile/")
    body = again.content.decode()
    assert secret not in body and secret[:12] in body and "ci" in body


def test_a_token_authenticates_as_its_user_with_their_access(client):
    explained_hour()
    fin = finance_user()
    lead = team_lead("ads")
    fin_secret = tokens.issue(fin, "a").secret
    lead_secret = tokens.issue(lead, "b").secret
    assert _explain(fin_secret).status_code == 200
    assert _explain(fin_secret).json()["team"] == "search"
    # The lead of ads asking about search: the same 404 as for a team that does not exist.
    assert _explain(lead_secret).status_code == 404


def test_a_wrong_missing_or_revoked_token_is_401(fin_client):
    user, client = fin_client
    explained_hour()
    secret = _created(client)
    assert _explain(secret).status_code == 200
    for bad in (secret + "x", "ila_nope", ""):
        response = _explain(bad)
        assert response.status_code == 401, bad
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert set(response.json()) == {"error"}
    assert _explain(None).status_code == 401
    token = ApiToken.objects.get(user=user)
    assert client.post(f"/profile/tokens/{token.pk}/revoke").status_code == 302
    assert _explain(secret).status_code == 401
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_push_token_is_not_a_user_token_nor_the_reverse(fin_client):
    from costapp.sources import push
    from costapp.sources.models import Source

    _, client = fin_client
    source = Source.objects.create(name="gw", format="jsonl", location_kind=Source.Location.PUSH)
    push_secret = push.issue_token(source)
    user_secret = _created(client)
    assert _explain(push_secret).status_code == 401
    response = Client().post(
        "/api/v1/usage", "[]", content_type="application/json",
        headers={"Authorization": f"Bearer {user_secret}"},
    )  # fmt: skip
    assert response.status_code == 401


def test_an_inactive_users_token_is_refused(fin_client):
    user, client = fin_client
    secret = _created(client)
    user.is_active = False
    user.save()
    assert _explain(secret).status_code == 401


def test_another_users_token_cannot_be_revoked_and_answers_404(fin_client):
    _, client = fin_client
    other = tokens.issue(team_lead("ads"), "theirs")
    response = client.post(f"/profile/tokens/{other.token.pk}/revoke")
    assert response.status_code == 404
    other.token.refresh_from_db()
    assert other.token.revoked_at is None
    assert other.secret[:12] not in client.get("/profile/").content.decode()


def test_last_used_at_is_recorded_at_most_once_a_minute(fin_client):
    user, client = fin_client
    explained_hour()
    secret = _created(client)
    token = ApiToken.objects.get(user=user)
    assert token.last_used_at is None
    before = timezone.now()
    _explain(secret)
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None and first >= before
    _explain(secret)
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=5))
    _explain(secret)
    token.refresh_from_db()
    assert token.last_used_at >= before


def test_a_token_needs_a_name_and_a_bad_one_stores_nothing(fin_client):
    _, client = fin_client
    for name in ("", "   ", "x" * 101, "a\x00b"):
        response = client.post("/profile/tokens/", {"name": name})
        assert response.status_code == 400, name
        assert 'id="token-error"' in response.content.decode()
    assert not ApiToken.objects.exists()


def test_the_profile_page_needs_a_login_and_creating_needs_csrf():
    assert Client().get("/profile/").status_code == 302
    user = finance_user()
    client = Client(enforce_csrf_checks=True)
    assert client.login(username=user.username, password=PASSWORD)
    assert client.post("/profile/tokens/", {"name": "x"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_manage_py_api_token_prints_a_working_token_and_nothing_else():
    explained_hour()
    finance_user("ann")
    out, err = io.StringIO(), io.StringIO()
    call_command("api_token", "ann", "--name", "cron export", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    assert TOKEN_SHAPE.fullmatch(secret)
    assert secret not in err.getvalue() and secret[:12] in err.getvalue()
    assert ApiToken.objects.get().name == "cron export"
    assert _explain(secret).status_code == 200


def test_manage_py_api_token_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("api_token", "ghost", stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiToken.objects.exists()
