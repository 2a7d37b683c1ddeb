"""Settings come from the environment, with safe production defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _settings(env: dict[str, str], expr: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_DEBUG", "SECRET_KEY", "INFERENCE_LEDGER_DEV", "BEHIND_PROXY"}
        and not k.startswith("SECURE_")
    }
    clean.update(env)
    clean.setdefault("DATABASE_URL", "postgres://u@127.0.0.1:5432/x")
    code = f"import costapp.settings as s; print({expr})"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _settings({}, "s.DEBUG")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_debug_is_off_unless_asked_for():
    result = _settings({"SECRET_KEY": "k" * 50}, "s.DEBUG, s.SESSION_COOKIE_SECURE")
    assert result.stdout.strip() == "False True"


def test_database_url_must_be_postgres():
    result = _settings({"SECRET_KEY": "k", "DATABASE_URL": "sqlite:///x.db"}, "1")
    assert result.returncode != 0
    assert "PostgreSQL only" in result.stderr


def test_without_a_broker_tasks_run_in_process_and_with_one_they_go_to_redis():
    eager = _settings({"SECRET_KEY": "k", "CELERY_BROKER_URL": ""}, "s.CELERY_TASK_ALWAYS_EAGER")
    queued = _settings(
        {"SECRET_KEY": "k", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"},
        "s.CELERY_TASK_ALWAYS_EAGER",
    )
    assert (eager.stdout.strip(), queued.stdout.strip()) == ("True", "False")


def test_email_url_configures_smtp():
    result = _settings(
        {"SECRET_KEY": "k", "EMAIL_URL": "smtp://bob:p%40ss@mail.example:2525?tls=1"},
        "s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_HOST_USER, s.EMAIL_HOST_PASSWORD, s.EMAIL_USE_TLS",
    )
    assert result.stdout.strip() == "mail.example 2525 bob p@ss True"


TRANSPORT = (
    "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
    "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_PROXY_SSL_HEADER"
)


def test_production_enforces_https_hsts_and_secure_cookies():
    result = _settings({"SECRET_KEY": "k" * 50}, TRANSPORT + ", s.SECURE_REDIRECT_EXEMPT")
    assert result.stdout.strip() == "True 31536000 True True True None ['^healthz$']"


def test_development_leaves_plain_http_alone():
    for env in ({"INFERENCE_LEDGER_DEV": "1"}, {"DJANGO_DEBUG": "1"}):
        result = _settings(env, TRANSPORT)
        assert result.stdout.strip() == "False 0 False False False None", env


def test_behind_a_proxy_its_forwarded_proto_says_https():
    result = _settings({"SECRET_KEY": "k" * 50, "BEHIND_PROXY": "1"}, "s.SECURE_PROXY_SSL_HEADER")
    assert result.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_a_stack_served_over_plain_http_can_turn_the_redirect_off():
    result = _settings({"SECRET_KEY": "k" * 50, "SECURE_SSL_REDIRECT": "0"}, TRANSPORT)
    assert result.stdout.strip() == "False 31536000 True True True None"


def test_connections_run_without_jit_and_keep_the_urls_own_options():
    result = _settings(
        {
            "SECRET_KEY": "k" * 50,
            "DATABASE_URL": "postgres://u@127.0.0.1:5432/x?options=-c%20statement_timeout%3D5000",
        },
        "s.DATABASES['default']['OPTIONS']['options']",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "-c statement_timeout=5000 -c jit=off"


def test_the_database_connection_has_jit_off(db):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
