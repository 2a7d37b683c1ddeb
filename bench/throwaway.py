"""A throwaway database for a benchmark: created beside the configured one, dropped after."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dj_database_url
import psycopg


def _admin_connection(url: dict) -> psycopg.Connection:
    return psycopg.connect(
        host=url["HOST"] or None,
        port=url["PORT"] or None,
        user=url["USER"] or None,
        password=url["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


@contextmanager
def throwaway_database(base: str, suffix: str) -> Iterator[None]:
    """Django set up on a fresh, migrated database named after the one `base` names plus
    "_<suffix>_<pid>". The database is dropped on the way out whatever happens, and
    DATABASE_URL is pointed back at `base`; the configured database is never touched."""
    url = dj_database_url.parse(base)
    name = f"{url['NAME']}_{suffix}_{os.getpid()}"
    with _admin_connection(url) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        os.environ["DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + name
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "costapp.settings")
        os.environ.setdefault("INFERENCE_LEDGER_DEV", "1")
        import django
        from django.core.management import call_command
        from django.db import connections

        django.setup()
        call_command("migrate", verbosity=0)
        try:
            yield
        finally:
            connections.close_all()
    finally:
        with _admin_connection(url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        os.environ["DATABASE_URL"] = base
