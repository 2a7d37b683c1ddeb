"""The README's hand commands work in a plain shell in a checkout that `make` set up.

`make` writes var/dev-mode (and `make db` / `make demo` var/database_url): manage.py then finds
the development key and the project-local cluster by itself. A deployment has neither file and
sets SECRET_KEY and DATABASE_URL. Each test runs manage.py in a copy of the checkout with a
clean environment: no SECRET_KEY, no INFERENCE_LEDGER_DEV, no DATABASE_URL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from costapp.dburl import url_from_settings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_ENV = {
    "DJANGO_SETTINGS_MODULE",
    "SECRET_KEY",
    "INFERENCE_LEDGER_DEV",
    "DJANGO_DEBUG",
    "DATABASE_URL",
}


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A copy of the code as `make` leaves a checkout, with no var/ yet."""
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    shutil.copytree(
        ROOT / "costapp", tmp_path / "costapp", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path


def _manage(checkout: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=checkout,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _as_make_leaves_it(checkout: Path) -> None:
    (checkout / "var").mkdir(exist_ok=True)
    (checkout / "var" / "dev-mode").touch()
    (checkout / "var" / "database_url").write_text(url_from_settings(connection.settings_dict))


@pytest.mark.django_db(transaction=True)
def test_createsuperuser_works_as_written_after_make(checkout):
    _as_make_leaves_it(checkout)
    result = _manage(
        checkout,
        "createsuperuser",
        "--noinput",
        "--username",
        "admin",
        "--email",
        "admin@example.com",
        DJANGO_SUPERUSER_PASSWORD="a long enough pass phrase",
    )
    assert result.returncode == 0, result.stderr
    assert get_user_model().objects.get(username="admin").is_superuser


def test_without_the_marker_manage_py_still_demands_a_secret_key(checkout):
    (checkout / "var").mkdir()
    (checkout / "var" / "database_url").write_text("postgres://u@127.0.0.1:5432/x")
    result = _manage(checkout, "check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_secret_key_in_the_environment_wins_over_the_marker(checkout):
    _as_make_leaves_it(checkout)
    code = "from django.conf import settings; print(settings.SESSION_COOKIE_SECURE)"
    result = _manage(checkout, "shell", "-c", code, SECRET_KEY="k" * 50)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "True"  # production settings, not development mode
