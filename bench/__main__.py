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

from bench.throwaway import throwaway_database

SEPARATE = ["bench.ingest"]


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
    with throwaway_database(base, "bench"):
        from bench import attribution

        return attribution.main()


if __name__ == "__main__":
    sys.exit(main())
