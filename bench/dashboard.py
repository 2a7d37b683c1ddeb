"""Dashboard benchmark (issue 16): server-side p50/p95 of the overview, a team page, the explorer
and the cost API under concurrent load on loopback, and the queries each page runs.

The history is generated as attribution input (bench.attribution.generate) and attributed by the
real engine, so whatever the engine keeps up to date for the pages is there. gunicorn (2 workers)
serves the throwaway database on 127.0.0.1; its access log records each request's own duration
(%(D)s, microseconds), which is the server-side time reported. The load is a thread pool of
`requests` sessions, bounded in count and time: locust is not a dependency and a fixed number of
GETs from N threads is all this needs. Queries per page come from the Django test client under
CaptureQueriesContext, as the finance user.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import attribution

ROOT = Path(__file__).resolve().parent.parent
DEADLINE_SECONDS = 120  # per page: the load stops there whatever is left


# The generated history's first day (bench.attribution.generate starts there).
FIRST_DAY = "2026-10-01"


def _pages(team_slug: str) -> dict[str, str]:
    """The pages as a user opens them (no dates: the data's last 30 days), and the overview over
    the whole history (`overview_all`: every day since the first, a year at size L)."""
    return {
        "overview": "/",
        "overview_all": f"/?start={FIRST_DAY}",
        "team": f"/teams/{team_slug}/",
        "explorer": "/explorer/",
        "fleet": "/fleet/",
        "cost_api": "/api/v1/costs",
    }


def _setup_users(teams: int) -> tuple[str, str, str]:
    """Teams named as the generated usage, a finance user; (session cookie, API token, slug)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from costapp.api.tokens import issue
    from costapp.core.models import OrgRole, Role, Team

    Team.objects.bulk_create(
        [Team(slug=f"team-{i}", name=f"team-{i}") for i in range(teams)], ignore_conflicts=True
    )
    user, _ = get_user_model().objects.get_or_create(username="bench-finance")
    OrgRole.objects.update_or_create(user=user, defaults={"role": Role.FINANCE})
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client.cookies["sessionid"].value, issue(user, "bench").secret, "team-0"


def query_counts(pages: dict[str, str], token: str) -> dict[str, int]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username="bench-finance"))
    counts = {}
    for name, path in pages.items():
        headers = {"authorization": f"Bearer {token}"} if path.startswith("/api/") else {}
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        counts[name] = len(captured)
    return counts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(port: int, log: Path) -> subprocess.Popen:
    from bench.ingest import database_url

    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "costapp.settings",
    }
    command = [
        sys.executable, "-m", "gunicorn", "costapp.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2",
        "--access-logfile", str(log), "--access-logformat", "%(U)s %(q)s %(s)s %(D)s",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("gunicorn did not start listening within 30 s")


def _load(port: int, path: str, headers: dict, cookies: dict, count: int, threads: int) -> int:
    import requests

    deadline = time.monotonic() + DEADLINE_SECONDS

    def worker(n: int) -> int:
        done = 0
        with requests.Session() as session:
            session.cookies.update(cookies)
            for _ in range(n):
                if time.monotonic() > deadline:
                    break
                response = session.get(f"http://127.0.0.1:{port}{path}", headers=headers)
                response.raise_for_status()
                done += 1
        return done

    shares = [count // threads + (i < count % threads) for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(worker, shares))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latencies(log: Path, path: str) -> list[float]:
    """Server-side milliseconds of each 200 answer to `path` (with its query string) in the
    access log."""
    out = []
    for line in log.read_text().splitlines():
        url, query, status, micros = line.rsplit(" ", 3)
        if url + (f"?{query}" if query else "") == path and status == "200":
            out.append(int(micros) / 1000)
    return out


def main(size) -> dict:
    from costapp.attribution.engine import run_attribution

    print(
        f"dashboard: {size.dashboard_days} days, {size.teams} teams, {size.models} models, "
        f"{size.keys} endpoints, {size.resources * 8} GPUs; {size.page_requests} requests per "
        f"page from {size.concurrency} threads"
    )
    attribution.clear()
    attribution.generate(size.dashboard_days, size.resources, size.keys, size.teams, size.models)
    result = run_attribution()
    print(f"  attributed {result.allocations:,} allocation rows in {result.seconds:.1f}s")
    analyse()
    return measure_pages(size, {"allocations": result.allocations, "pages": {}})


def analyse() -> None:
    """Planner statistics for what was just written, as autovacuum's analyse would gather them
    within a minute on an installation (the shared cluster these benchmarks run on has
    autovacuum off: without this, a year of rollups reads as empty tables and the planner nests
    loops over them; measured at L: overview p50 2.3 s without, see README)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measure_pages(size, figures: dict) -> dict:
    """The page phase alone, on the database as it stands (bench.dashboard.main has filled and
    attributed it): query counts, then the load on each page from gunicorn's access log."""
    cookie, token, slug = _setup_users(size.teams)
    pages = _pages(slug)
    counts = query_counts(pages, token)
    with tempfile.TemporaryDirectory(prefix="bench-dash-") as tmp:
        log, port = Path(tmp) / "access.log", _free_port()
        server = _serve(port, log)
        try:
            for name, path in pages.items():
                api = path.startswith("/api/")
                headers = {"Authorization": f"Bearer {token}"} if api else {}
                cookies = {} if api else {"sessionid": cookie}
                sent = _load(port, path, headers, cookies, size.page_requests, size.concurrency)
                time.sleep(0.2)  # gunicorn writes the access line after the answer
                ms = latencies(log, path)
                figures["pages"][name] = {
                    "path": path,
                    "requests": sent,
                    "p50_ms": round(statistics.median(ms), 1),
                    "p95_ms": round(_percentile(ms, 0.95), 1),
                    "queries": counts[name],
                }
                page = figures["pages"][name]
                print(
                    f"  {name:9} {path:18} p50 {page['p50_ms']:8.1f} ms  p95 "
                    f"{page['p95_ms']:8.1f} ms  {page['queries']} queries  ({sent} requests)"
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    return figures
