"""/healthz answers 200 {"status": "ok"} when the database is reachable, 503
{"status": "unavailable"} when it is not, and never tells an anonymous caller more."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_healthz_reports_ok_with_a_reachable_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_healthz_says_only_unavailable_when_the_database_is_down():
    # A real server process configuration pointed at a port nothing listens on: a real failed
    # connect (a test's own connection cannot be closed inside its transaction).
    port = _closed_port()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DATABASE_URL=f"postgres://ledger_role_x@127.0.0.1:{port}/ledger_db_x",
        DJANGO_SETTINGS_MODULE="costapp.settings_test",
        ALLOWED_HOSTS="testserver",
    )
    code = (
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client().get('/healthz'); print(r.status_code); print(r.content.decode())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    status, body = result.stdout.strip().splitlines()
    assert status == "503"
    assert json.loads(body) == {"status": "unavailable"}
    for secret in ("127.0.0.1", str(port), "ledger_role_x", "ledger_db_x", "connection"):
        assert secret not in body
    # The operator still learns why, in the server's log.
    assert "healthz: the database did not answer" in result.stderr
    assert str(port) in result.stderr


@pytest.mark.django_db
def test_healthz_is_served_over_plain_http_when_https_is_enforced(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/login/").status_code == 301
