"""Worker speed-up: the same N one-day attribution windows (2026-10-01 onwards) recomputed by
one Celery worker process, then by two, over a private Redis broker on loopback.

The work is what costapp.attribution.tasks.recompute_by_day enqueues for an N-day window: one
costapp.attribution.tasks.recompute_from per UTC day, the partition of attribution work. The
engine locks each day it rewrites and shares the whole-table lock (costapp.attribution.locking),
so windows of different days run side by side; what is left is the machine (both processes
and Postgres share its cores) and the day's work itself.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TASK = "costapp.attribution.tasks.recompute_from"
QUEUE = "bench_workers"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def _run(broker: str, processes: int, windows: list[tuple[str, str]]) -> float:
    from celery import Celery

    from bench.ingest import database_url

    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "costapp.settings",
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
    }
    command = [sys.executable, "-m", "celery", "-A", "costapp", "worker", "-Q", QUEUE,
               "-c", str(processes), "--pool", "prefork", "-l", "WARNING", "--without-heartbeat",
               "--without-gossip", "--without-mingle"]  # fmt: skip
    worker = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    app = Celery(broker=broker, backend=broker)
    try:
        app.send_task(TASK, args=[windows[0][0], windows[0][0]], queue=QUEUE).get(timeout=120)
        began = time.monotonic()
        results = [app.send_task(TASK, args=list(w), queue=QUEUE) for w in windows]
        for result in results:
            result.get(timeout=600)
        return time.monotonic() - began
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        app.close()


def main(size) -> dict:
    server = shutil.which("redis-server")
    if not server:
        raise RuntimeError("redis-server is needed for the worker benchmark")
    start = datetime(2026, 10, 1, tzinfo=UTC)
    windows = [
        ((start + timedelta(days=d)).isoformat(), (start + timedelta(days=d + 1)).isoformat())
        for d in range(size.windows)
    ]
    print(f"workers: {size.windows} one-day attribution windows, 1 vs 2 Celery worker processes")
    port = _port()
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as tmp:
        redis = subprocess.Popen(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", tmp],
            stdout=subprocess.DEVNULL,
        )
        try:
            _wait_port(port)
            broker = f"redis://127.0.0.1:{port}/0"
            one = _run(broker, 1, windows)
            two = _run(broker, 2, windows)
        finally:
            redis.terminate()
            redis.wait(timeout=30)
    speedup = one / two
    print(f"  1 worker {one:.2f}s; 2 workers {two:.2f}s; speed-up {speedup:.2f}x (target >= 1.5x)")
    return {
        "windows": size.windows,
        "what": "one-day recompute_from windows (per-day locks: different days run at once)",
        "one_worker_seconds": round(one, 4),
        "two_workers_seconds": round(two, 4),
        "speedup": round(speedup, 4),
    }
