"""Web hardening: login throttling on the real login forms, password rules, the deploy checklist,
the Content-Security-Policy, names escaped in charts and pages, push tokens kept out of cookies.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import secrets
import string
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client

from costapp.attribution.units import UnitCosts
from costapp.dashboard import charts
from costapp.sources.models import Source
from tests.dashboard.builders import PASSWORD, allocation, finance_user, gpu_resource

ROOT = Path(__file__).resolve().parent.parent
EVIL = '<a href="https://example.com/x">evil</a><b>B</b>'


def _attempt(client: Client, username: str, password: str, path: str = "/login/", **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# -- login throttling -------------------------------------------------------------------------


@pytest.mark.django_db
def test_five_wrong_passwords_lock_out_that_user_from_that_address():
    finance_user("fin")
    client = Client()
    for _ in range(4):
        response = _attempt(client, "fin", "wrong")
        assert response.status_code == 200  # the form again, with its usual error
    response = _attempt(client, "fin", "wrong")
    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed logins" in text and "<strong>fin</strong>" in text
    assert "15 minutes" in text

    # The right password does not get in any more, from this address.
    response = _attempt(client, "fin", PASSWORD)
    assert response.status_code == 429 and not _logged_in(client)

    # Another user from the same address, and the same user from another address, are unaffected.
    finance_user("other")
    elsewhere = Client()
    assert _attempt(elsewhere, "other", PASSWORD).status_code == 302
    moved = Client(REMOTE_ADDR="10.9.8.7")
    assert _attempt(moved, "fin", PASSWORD).status_code == 302 and _logged_in(moved)


@pytest.mark.django_db
def test_a_successful_login_is_unaffected_and_clears_the_count():
    finance_user("fin")
    client = Client()
    for _ in range(4):
        _attempt(client, "fin", "wrong")
    response = _attempt(client, "fin", PASSWORD)
    assert response.status_code == 302 and _logged_in(client)
    # The count started again: four more mistakes still do not lock the account.
    client.logout()
    for _ in range(4):
        assert _attempt(client, "fin", "wrong").status_code == 200
    assert _attempt(client, "fin", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_the_admin_login_is_throttled_too():
    get_user_model().objects.create_superuser("root", password=PASSWORD)
    client = Client()
    for _ in range(5):
        response = _attempt(client, "root", "wrong", "/admin/login/")
    assert response.status_code == 429
    assert 'href="/admin/login/"' in response.content.decode()
    response = _attempt(client, "root", PASSWORD, "/admin/login/")
    assert response.status_code == 429 and not _logged_in(client)


@pytest.mark.django_db
def test_behind_the_proxy_the_address_is_the_one_the_proxy_saw(settings):
    settings.BEHIND_PROXY = True
    finance_user("fin")
    client = Client()
    for _ in range(5):
        # The client puts a new address on the left each time; the proxy appends the real one.
        spoof = f"10.0.0.{secrets.randbelow(250)}, 203.0.113.9"
        response = _attempt(client, "fin", "wrong", HTTP_X_FORWARDED_FOR=spoof)
    assert response.status_code == 429
    assert _attempt(client, "fin", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.10").status_code == 302


# -- passwords --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "complaint"),
    [
        ("short1!", "too short"),
        ("password123", "too common"),
        ("48151623429912", "entirely numeric"),
        ("finance-lead", "too similar"),
    ],
)
def test_the_four_standard_password_rules_apply(password, complaint):
    user = get_user_model()(username="finance-lead")
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user)
    assert complaint in " ".join(refused.value.messages)


def test_a_strong_password_passes():
    validate_password("ledger correct horse battery", get_user_model()(username="fin"))


# -- production settings ----------------------------------------------------------------------


def _production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_"))}
    env.update(
        SECRET_KEY="".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(50)),
        INFERENCE_LEDGER_DEV="0",
        DJANGO_DEBUG="0",
        ALLOWED_HOSTS="example.com",
        DJANGO_SETTINGS_MODULE="costapp.settings",
        **extra,
    )
    return env


def test_check_deploy_is_clean_with_a_real_key():
    code = (
        "import django; django.setup(); from django.core.management import call_command; "
        "call_command('check', deploy=True, fail_level='WARNING')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_check_deploy_would_warn_without_https():
    code = (
        "import django; django.setup(); from django.core.management import call_command; "
        "call_command('check', deploy=True, fail_level='WARNING')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_production_env(SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="0"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


# -- Content-Security-Policy ------------------------------------------------------------------

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/", "/admin/login/"])
def test_every_page_carries_the_strict_policy(client, path):
    finance_user("fin")
    client.force_login(get_user_model().objects.get(username="fin"))
    header = client.get(path)["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in header.split(";"))
    for name, value in POLICY.items():
        assert directives[name] == value, (name, header)
    assert "unsafe-inline" not in directives["script-src"]
    assert "unsafe-eval" not in header


def test_no_template_has_an_inline_script_or_event_handler():
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
    handler = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
    found = []
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        found += [f"{template}: {m.group(0)}" for m in inline.finditer(text)]
        found += [f"{template}: {m.group(0)}" for m in handler.finditer(text)]
        if "|safe" in text or "autoescape off" in text:
            found.append(f"{template}: unescaped output")
    assert found == []


# -- names from the data are text -------------------------------------------------------------


def test_chart_names_are_escaped_and_never_pasted_into_hover_templates():
    day = datetime(2026, 10, 1, tzinfo=UTC).date()
    figure = charts.daily_cost({EVIL: {day: Decimal(5)}, "%{y}": {day: Decimal(1)}}, "USD")
    names = [trace["name"] for trace in figure["data"]]
    assert '&lt;a href="https://example.com/x"&gt;evil&lt;/a&gt;&lt;b&gt;B&lt;/b&gt;' in names
    for trace in figure["data"]:
        assert "<a" not in trace["name"] and "<b>" not in trace["name"]
        assert "%{y}<" not in trace["hovertemplate"] and "evil" not in trace["hovertemplate"]

    over_time = charts.unit_cost_over_time(
        [UnitCosts(period=day, key=EVIL, busy=Decimal(2), input_tokens=1_000_000)], "day", "USD"
    )
    assert over_time["data"][0]["name"].startswith("&lt;a href")
    assert "evil" not in over_time["data"][0]["hovertemplate"]


@pytest.mark.django_db
def test_pages_escape_a_team_named_with_html(client):
    gpu_resource()
    allocation(
        "2026-10-01T10:00", team=EVIL, model=EVIL, endpoint=EVIL, amortized="10",
        input_tokens=1000, output_tokens=100, requests=1, gpu_hours="1",
    )  # fmt: skip
    client.force_login(finance_user("fin"))
    for path in ("/", "/units/?by=endpoint", "/explain/"):
        html = client.get(path).content.decode()
        assert EVIL not in html, path
        assert '<a href="https://example.com/x"' not in html, path
    assert (
        "&lt;a href=&quot;https://example.com/x&quot;&gt;evil" in client.get("/").content.decode()
    )


# -- push tokens ------------------------------------------------------------------------------


def _decoded_cookies(response) -> str:
    """Every Set-Cookie header, with each value also base64-decoded where it decodes."""
    seen = []
    for morsel in response.cookies.values():
        seen.append(morsel.OutputString())
        for part in re.split(r"[:.]", morsel.value):
            padded = part + "=" * (-len(part) % 4)
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                with contextlib.suppress(binascii.Error, ValueError):
                    seen.append(decode(padded).decode("utf-8", "replace"))
    return "\n".join(seen)


@pytest.mark.django_db
def test_a_new_push_token_is_shown_once_on_its_page_and_never_in_a_cookie():
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", password=PASSWORD))
    source = Source.objects.create(name="gateway", format="jsonl", location_kind="push")
    response = client.post(
        "/admin/sources/source/",
        {"action": "issue_push_token", "_selected_action": [source.pk]},
    )
    assert response.status_code == 200
    html = response.content.decode()
    token = re.search(r'value="(ilp_[A-Za-z0-9_-]+)"', html).group(1)
    assert "shown this once" in html and 'href="/admin/sources/source/"' in html
    assert "no-store" in response["Cache-Control"]

    assert token not in _decoded_cookies(response)
    assert token[4:20] not in _decoded_cookies(response)
    for session in Session.objects.all():
        assert token not in str(session.get_decoded())

    # Nothing carries it to the next page: the list and the source's page do not show it.
    for path in ("/admin/sources/source/", f"/admin/sources/source/{source.pk}/change/"):
        again = client.get(path)
        assert token not in again.content.decode()
        assert token not in _decoded_cookies(again)
