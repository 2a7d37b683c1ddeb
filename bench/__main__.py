"""Run every benchmark against the server DATABASE_URL points at, in throwaway databases.

The attribution benchmark runs here in a fresh database (named after the configured one plus
"_bench_<pid>"), created, migrated, filled and dropped at the end whatever happens; the other
benchmark modules (SEPARATE) manage their own throwaway database and run as subprocesses.
The configured database is never touched.
"""

from __future__ import annotations

import os
import subprocess
import sys

import dj_database_url
import psycopg

SEPARATE = ["bench.ingest"]


def _admin_connection(url: dict) -> psycopg.Connection:
    return psycopg.connect(
        host=url["HOST"] or None,
        port=url["PORT"] or None,
        user=url["USER"] or None,
        password=url["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def main() -> int:
    base = os.environ.get("DATABASE_URL")
    if not base:
        print("set DATABASE_URL (the benchmarks create and drop their own database there)")
        return 2
    ok = _attribution(base)
    for module in SEPARATE:
        ok = subprocess.run([sys.executable, "-m", module], check=False).returncode == 0 and ok
    return 0 if ok else 1


def _attribution(base: str) -> bool:
    url = dj_database_url.parse(base)
    name = f"{url['NAME']}_bench_{os.getpid()}"
    with _admin_connection(url) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        os.environ["DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + name
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "costapp.settings")
        os.environ.setdefault("INFERENCE_LEDGER_DEV", "1")
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)

        from bench import attribution

        ok = attribution.main()
        from django.db import connections

        connections.close_all()
    finally:
        with _admin_connection(url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        os.environ["DATABASE_URL"] = base
    return ok


if __name__ == "__main__":
    sys.exit(main())
